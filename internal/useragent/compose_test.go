package useragent

import (
	"bytes"
	"flag"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"posthorn/internal/message"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var testDate = time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("", 3600))

// normalize replaces the random Message-ID and boundary with fixed text.
func normalize(msg []byte) []byte {
	msg = regexp.MustCompile(`<[0-9a-f]{32}@`).ReplaceAll(msg, []byte("<MESSAGE-ID@"))
	return regexp.MustCompile(`=_[0-9a-f]{36}`).ReplaceAll(msg, []byte("=_BOUNDARY"))
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update, then review the diff):\n%s", name, got)
	}
}

// checkWellFormed holds every composed message to RFC 5322 §2.1.1 and
// the 7-bit promise: CRLF only, lines of at most 998 octets (78 in the
// header), no 8-bit octet.
func checkWellFormed(t *testing.T, msg []byte) {
	t.Helper()
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		t.Error("message does not end with CRLF")
	}
	inHeader := true
	for i, line := range strings.Split(strings.TrimSuffix(string(msg), "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, line)
		}
		if line == "" {
			inHeader = false
		}
		if len(line) > 998 || (inHeader && len(line) > 78) {
			t.Errorf("line %d is %d octets: %q", i, len(line), line)
		}
		for j := 0; j < len(line); j++ {
			if line[j] >= 0x80 {
				t.Fatalf("line %d has an 8-bit octet: %q", i, line)
			}
		}
	}
}

func TestComposeGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		draft Draft
	}{
		{"plain.eml", Draft{From: "alice@example.test", To: []string{"bob@example.test"}, Subject: "Hello", Body: "Hi Bob,\nsee you.\n"}},
		{"qp.eml", Draft{
			From: "Jürgen Müller <juergen@example.test>", To: []string{"Bob <bob@example.test>, carol@example.test"},
			Cc: []string{"\"Team, Inc.\" <team@example.test>"}, Bcc: []string{"secret@example.test"},
			Subject: "Grüße aus München — a rather long subject that has to be folded somewhere",
			Body:    "Grüße,\r\nder Käse ist da. = Gleichheitszeichen\rEnde",
		}},
		{"base64.eml", Draft{From: "ivan@example.test", To: []string{"Иван <ivan@example.test>"}, Subject: "Привет", Body: "Привет, мир! Как дела?\n"}},
		{"attachments.eml", Draft{
			From: "alice@example.test", To: []string{"bob@example.test"}, Subject: "Files", Body: "Two files.",
			Attachments: []Attachment{
				{Name: "notes.txt", Data: []byte("plain notes\n")},
				{Name: "Überweisung März 2026 – sehr langer Dateiname für die Buchhaltung.pdf", Data: []byte("%PDF-1.4\n")},
				{Name: "data", Data: []byte{0, 1, 2, 3}},
				{Name: "x.bin", Data: []byte("given"), ContentType: "application/x-custom; foo=bar"},
			},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compose(tc.draft, testDate)
			if err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, c.Message)
			checkGolden(t, tc.name, normalize(c.Message))
		})
	}
}

func TestComposeContent(t *testing.T) {
	d := Draft{
		From: "Jürgen <juergen@example.test>", To: []string{"Bob <BOB@Example.Test>", "bob@example.test"},
		Cc: []string{"carol@bücher.example"}, Bcc: []string{"dave@example.test"},
		Subject: "Grüße", Body: "Käse\n",
		Attachments: []Attachment{{Name: "résumé.pdf", Data: []byte("%PDF-1.4")}, {Name: "img", Data: pngData}},
	}
	c, err := Compose(d, testDate)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"BOB@example.test", "bob@example.test", "carol@xn--bcher-kva.example", "dave@example.test"}
	if strings.Join(c.Recipients, " ") != strings.Join(want, " ") || c.From != "juergen@example.test" {
		t.Errorf("envelope %q %q", c.From, c.Recipients)
	}
	m, err := message.Analyze(bytes.NewReader(c.Message))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Grüße" || !strings.Contains(m.From, "Jürgen <juergen@example.test>") || m.Bcc != "" || m.MessageID != c.MessageID {
		t.Errorf("meta %+v", m)
	}
	if !m.Date.Equal(testDate) {
		t.Errorf("date %v", m.Date)
	}
	parts := m.Structure.Parts
	if len(parts) != 3 || parts[1].Filename() != "résumé.pdf" || parts[1].MediaType() != "application/pdf" || parts[2].MediaType() != "image/png" {
		t.Fatalf("parts %+v", parts)
	}
	if got := message.PartText(parts[0], c.Message[parts[0].BodyStart:parts[0].BodyEnd]); got != "Käse" {
		t.Errorf("text %q", got)
	}
	if h, _ := message.ParseHeader(c.Message); h.Has("Bcc") {
		t.Error("Bcc in the header")
	}
}

func TestComposeRefuses(t *testing.T) {
	for name, d := range map[string]Draft{
		"no recipient":          {From: "a@example.test", Body: "x"},
		"no from":               {To: []string{"b@example.test"}},
		"two froms":             {From: "a@example.test, c@example.test", To: []string{"b@example.test"}},
		"no domain":             {From: "a@example.test", To: []string{"bob"}},
		"bad list":              {From: "a@example.test", To: []string{"bob@example.test,,<"}},
		"utf-8 local part":      {From: "a@example.test", To: []string{"jürgen@example.test"}},
		"header injection":      {From: "a@example.test", To: []string{"b@example.test\r\nBcc: x@example.test"}},
		"invalid UTF-8 body":    {From: "a@example.test", To: []string{"b@example.test"}, Body: "\xff"},
		"invalid UTF-8 subject": {From: "a@example.test", To: []string{"b@example.test"}, Subject: "\xc3"},
	} {
		if c, err := Compose(d, testDate); err == nil {
			t.Errorf("%s: composed\n%s", name, c.Message)
		}
	}
	// A subject with line breaks cannot add fields.
	c, err := Compose(Draft{From: "a@example.test", To: []string{"b@example.test"}, Subject: "x\r\nBcc: evil@example.test"}, testDate)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := message.ParseHeader(c.Message); h.Has("Bcc") || h.Get("Subject") != "x Bcc: evil@example.test" {
		t.Errorf("subject injection:\n%s", c.Message)
	}
}

func TestTextEncodingChoice(t *testing.T) {
	for body, want := range map[string]string{
		"plain ascii\n":          "7bit",
		strings.Repeat("x", 999): "quoted-printable",
		"tab\tand ascii":         "7bit",
		"bell \a":                "quoted-printable",
		"Grüße, Käse und Brot":   "quoted-printable",
		"日本語のテキストです。日本語のテキストです。": "base64",
	} {
		var b bytes.Buffer
		writeTextPart(&b, canonicalText(body))
		if !strings.Contains(b.String(), "Content-Transfer-Encoding: "+want+"\r\n") {
			t.Errorf("%q: got\n%s", body, b.String())
		}
		checkWellFormed(t, b.Bytes())
	}
}

func TestMIMEParams(t *testing.T) {
	for _, value := range []string{
		"report.pdf",
		"with space.txt",
		`quote " and \ backslash.txt`,
		"Grüße.txt",
		strings.Repeat("ä", 100) + ".txt",
		strings.Repeat("a", 150) + ".txt",
		"%41 not an escape; semicolon=yes",
	} {
		field := mimeField("Content-Disposition", "attachment", []param{{"filename", value}, {"size", "10"}})
		checkWellFormed(t, []byte(field))
		unfolded := strings.ReplaceAll(strings.TrimSuffix(field, "\r\n"), "\r\n", "")
		_, v, _ := strings.Cut(unfolded, ": ")
		disp, params, err := mime.ParseMediaType(v)
		if err != nil || disp != "attachment" || params["filename"] != value || params["size"] != "10" {
			t.Errorf("%q: %s -> %q %v %v", value, field, disp, params, err)
		}
	}
}

func TestDetectType(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"a.pdf", []byte("x"), "application/pdf"},
		{"photo.PNG", []byte("x"), "image/png"},
		{"noext", pngData, "image/png"},
		{"noext", []byte("just some text\n"), "text/plain; charset=utf-8"},
		{"noext", []byte{0, 1, 2, 0xff}, "application/octet-stream"},
		{"file.unknownext", []byte("%PDF-1.4 ..."), "application/pdf"},
	} {
		if got := DetectType(tc.name, tc.data); got != tc.want {
			t.Errorf("DetectType(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
