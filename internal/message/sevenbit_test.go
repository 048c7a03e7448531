package message

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// check7Bit verifies the RFC 6152 / RFC 5322 shape of downgraded output.
func check7Bit(t *testing.T, name string, out []byte) {
	t.Helper()
	if Is8Bit(out) || bytes.IndexByte(out, 0) >= 0 {
		t.Errorf("%s: output has 8-bit octets or NUL", name)
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Errorf("%s: output does not end in CRLF", name)
	}
	for i, ln := range bytes.Split(out, []byte("\r\n")) {
		if len(ln) > maxSMTPLine {
			t.Errorf("%s: line %d has %d octets", name, i+1, len(ln))
		}
		if bytes.IndexAny(ln, "\r\n") >= 0 {
			t.Errorf("%s: line %d has a bare CR or LF: %.60q", name, i+1, ln)
		}
	}
}

// leafBodies returns the decoded body of every leaf part, in order, with
// line ends normalised to LF (the downgrade may only change line ends).
func leafBodies(raw []byte, p *Part) []string {
	var out []string
	p.Walk(func(q *Part) bool {
		if q.IsMultipart() && len(q.Parts) > 0 || q.IsMessage() {
			return true
		}
		body := decodeTransfer(q.Encoding, raw[q.BodyStart:q.BodyEnd])
		s := strings.ReplaceAll(string(body), "\r\n", "\n")
		out = append(out, strings.ReplaceAll(s, "\r", "\n"))
		return false
	})
	return out
}

// TestToSevenBitCorpus downgrades every corpus message that needs it and
// checks that the result is 7-bit, parses to the same structure, and that
// every part decodes to the same content as before.
func TestToSevenBitCorpus(t *testing.T) {
	n := 0
	for _, f := range loadCorpus(t) {
		need, err := NeedsDowngrade(bytes.NewReader(f.data))
		if err != nil {
			t.Fatal(err)
		}
		if !need {
			continue
		}
		var out bytes.Buffer
		err = ToSevenBit(&out, bytes.NewReader(f.data))
		h, _ := ParseHeader(f.data)
		if NeedsSMTPUTF8(h) {
			if !errors.Is(err, ErrNeedsSMTPUTF8) {
				t.Errorf("%s: err = %v, want ErrNeedsSMTPUTF8", f.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		n++
		check7Bit(t, f.name, out.Bytes())
		if again, _ := NeedsDowngrade(bytes.NewReader(out.Bytes())); again {
			t.Errorf("%s: output still needs a downgrade", f.name)
		}
		orig, _ := Analyze(bytes.NewReader(f.data))
		down, err := Analyze(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("%s: re-parse: %v", f.name, err)
		}
		a, b := leafBodies(f.data, orig.Structure), leafBodies(out.Bytes(), down.Structure)
		if len(a) != len(b) {
			t.Errorf("%s: %d leaf parts before, %d after", f.name, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s: part %d differs\nbefore %.200q\n after %.200q", f.name, i+1, a[i], b[i])
			}
		}
		if orig.Subject != down.Subject && !strings.ContainsRune(orig.Subject, '\uFFFD') {
			t.Errorf("%s: subject %q became %q", f.name, orig.Subject, down.Subject)
		}
	}
	if n < 15 {
		t.Errorf("only %d corpus messages were downgraded", n)
	}
	t.Logf("downgraded %d corpus messages", n)
}

func downgrade(t *testing.T, in string) (string, *Meta) {
	t.Helper()
	var out bytes.Buffer
	if err := ToSevenBit(&out, strings.NewReader(in)); err != nil {
		t.Fatalf("ToSevenBit: %v", err)
	}
	check7Bit(t, "output", out.Bytes())
	m, err := Analyze(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), m
}

func TestToSevenBitHeaders(t *testing.T) {
	in := "From: Jörg Müller <joerg@x.example>\r\n" +
		"To: Grüppe: a@x.example;\r\n" +
		"Subject: Grüße aus Köln\r\n" +
		"X-Note: caf\xe9\r\n" +
		"Received: from h\xffost by x; Mon, 1 Jan 2001 00:00:00 +0000\r\n" +
		"Content-Type: text/plain; charset=utf-8; name=\"r\xc3\xa9sum\xc3\xa9-" + strings.Repeat("ü", 40) + ".txt\"\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Grüße aus Köln, sagt der Text.\r\n"
	out, m := downgrade(t, in)
	if m.Subject != "Grüße aus Köln" || m.From != "Jörg Müller <joerg@x.example>" || m.To != "Grüppe: a@x.example;" {
		t.Errorf("decoded header: %q %q %q", m.Subject, m.From, m.To)
	}
	h, _ := ParseHeader([]byte(out))
	if got := DecodeHeader(h.Get("X-Note")); got != "café" {
		t.Errorf("X-Note = %q", got)
	}
	if got := h.Get("Received"); got != "from h?ost by x; Mon, 1 Jan 2001 00:00:00 +0000" {
		t.Errorf("Received = %q", got)
	}
	if got := m.Structure.Param("name"); got != "résumé-"+strings.Repeat("ü", 40)+".txt" {
		t.Errorf("name parameter = %q", got)
	}
	if !strings.Contains(out, "name*0*=utf-8''") {
		t.Errorf("no RFC 2231 continuation:\n%s", out)
	}
	if m.Structure.Encoding != "quoted-printable" || PartText(m.Structure, []byte(out[m.Structure.BodyStart:m.Structure.BodyEnd])) != "Grüße aus Köln, sagt der Text." {
		t.Errorf("body: %q %q", m.Structure.Encoding, out[m.Structure.BodyStart:])
	}
}

func TestToSevenBitNeedsSMTPUTF8(t *testing.T) {
	var out bytes.Buffer
	err := ToSevenBit(&out, strings.NewReader("From: jöhn@example.com\r\n\r\nhi\r\n"))
	if !errors.Is(err, ErrNeedsSMTPUTF8) || out.Len() != 0 {
		t.Errorf("err = %v, %d octets written", err, out.Len())
	}
	for in, want := range map[string]bool{
		"From: Jöhn <john@example.com>\r\n":   false,
		"To: a@exämple.com\r\n":               true,
		"Message-ID: <ü@x>\r\n":               true,
		"Subject: ü\r\n":                      false,
		"Return-Path: <ü@x>\r\n":              true,
		"Cc: \"Jöhn\" <john@example.com>\r\n": false,
	} {
		h, _ := ParseHeader([]byte(in))
		if got := NeedsSMTPUTF8(h); got != want {
			t.Errorf("NeedsSMTPUTF8(%q) = %v", in, got)
		}
	}
}

func TestToSevenBitNestedGlobal(t *testing.T) {
	in := "From: a@x.example\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n" +
		"\r\n" +
		"--b\r\n" +
		"Content-Type: message/rfc822\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"From: jöhn@exämple.com\r\n" +
		"Subject: hi\r\n" +
		"\r\n" +
		"body ü\r\n" +
		"--b\r\n" +
		"Content-Type: message/rfc822\r\n" +
		"\r\n" +
		"From: ok@x.example\r\n" +
		"Subject: =?utf-8?q?fine?= ü\r\n" +
		"\r\n" +
		"body ü\r\n" +
		"--b--\r\n"
	out, m := downgrade(t, in)
	p1, p2 := m.Structure.Section(1), m.Structure.Section(2)
	if p1.MediaType() != "message/global" || p1.Encoding != "quoted-printable" {
		t.Errorf("part 1: %s %s", p1.MediaType(), p1.Encoding)
	}
	inner := decodeTransfer(p1.Encoding, []byte(out[p1.BodyStart:p1.BodyEnd]))
	if string(inner) != "From: jöhn@exämple.com\r\nSubject: hi\r\n\r\nbody ü" {
		t.Errorf("message/global content %q", inner)
	}
	if !p2.IsMessage() || p2.Encoding != "7bit" || DecodeHeader(p2.Envelope.Subject) != "fine ü" {
		t.Errorf("part 2: %+v", p2)
	}
}

func TestToSevenBitBodies(t *testing.T) {
	tests := []struct {
		name, ctype, cte, body string
		wantCTE                string
	}{
		{"clean 8bit label", "text/plain", "8bit", "plain ascii", "7bit"},
		{"latin text", "text/plain; charset=iso-8859-1", "8bit", "caf\xe9 cr\xe8me", "quoted-printable"},
		{"cjk text", "text/plain; charset=utf-8", "8bit", strings.Repeat("日本語", 30), "base64"},
		{"binary", "application/octet-stream", "binary", "\x00\x01\xff\n\r\x80", "base64"},
		{"long line", "text/plain", "7bit", strings.Repeat("a", 2000), "quoted-printable"},
		{"bare CR", "text/plain", "7bit", "a\rb", "quoted-printable"},
		{"broken qp", "text/plain", "quoted-printable", "caf\xe9=20", "quoted-printable"},
		{"long base64", "image/png", "base64", strings.Repeat("QUJD", 400), "base64"},
		{"clean qp", "text/plain", "quoted-printable", "caf=E9", "quoted-printable"},
		{"utf-16", "text/plain; charset=utf-16le", "binary", "h\x00\n\x00i\x00", "base64"},
	}
	for _, tt := range tests {
		in := "Content-Type: " + tt.ctype + "\r\nContent-Transfer-Encoding: " + tt.cte + "\r\n\r\n" + tt.body
		out, m := downgrade(t, in)
		if m.Structure.Encoding != tt.wantCTE {
			t.Errorf("%s: CTE %q, want %q\n%s", tt.name, m.Structure.Encoding, tt.wantCTE, out)
		}
		orig := mustAnalyze(t, in)
		a := leafBodies([]byte(in), orig.Structure)
		b := leafBodies([]byte(out), m.Structure)
		if tt.name == "utf-16" || tt.name == "binary" {
			// Exact octets, no line-end normalisation.
			a = []string{string(decodeTransfer(orig.Structure.Encoding, []byte(in[orig.Structure.BodyStart:])))}
			b = []string{string(decodeTransfer(m.Structure.Encoding, []byte(out[m.Structure.BodyStart:m.Structure.BodyEnd])))}
		}
		if len(a) == 1 && len(b) == 1 && !strings.HasSuffix(a[0], "\n") {
			// SMTP needs a final line break; copied text gets one.
			b[0] = strings.TrimSuffix(b[0], "\n")
		}
		if len(a) != 1 || len(b) != 1 || a[0] != b[0] {
			t.Errorf("%s: content %q became %q", tt.name, a, b)
		}
	}
}

func TestToSevenBitLongBoundary(t *testing.T) {
	bnd := strings.Repeat("b", 2000)
	in := "Content-Type: multipart/mixed; boundary=\"" + bnd + "\"\r\n\r\n--" + bnd + "\r\n\r\none\r\n--" + bnd + "\r\n\r\ntwo\r\n--" + bnd + "--\r\n"
	_, m := downgrade(t, in)
	if len(m.Structure.Parts) != 2 || len(m.Structure.Param("boundary")) > maxBoundary {
		t.Errorf("structure after new boundary: %d parts, boundary %q", len(m.Structure.Parts), m.Structure.Param("boundary"))
	}
}

func TestNeedsDowngrade(t *testing.T) {
	for in, want := range map[string]bool{
		"Subject: x\r\n\r\nascii\r\n":              false,
		"Subject: x\n\nascii bare LF is fine\n":    false,
		"Subject: \xc3\xa9\r\n\r\n":                true,
		"\r\n" + strings.Repeat("x", 999) + "\r\n": true,
		"\r\nnul\x00\r\n":                          true,
		"\r\nbare\rcr\r\n":                         true,
	} {
		got, err := NeedsDowngrade(strings.NewReader(in))
		if err != nil || got != want {
			t.Errorf("NeedsDowngrade(%.40q) = %v, %v", in, got, err)
		}
	}
	if !Is8Bit([]byte("\x80")) || Is8Bit([]byte("abc")) {
		t.Error("Is8Bit")
	}
}
