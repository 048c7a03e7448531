package message

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func mustAnalyze(t testing.TB, msg string) *Meta {
	t.Helper()
	m, err := Analyze(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const nestedMsg = "From: a@b.example\r\n" +
	"Subject: outer\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--outer\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"first part\r\n" +
	"--outer\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"Content-Description: forwarded\r\n" +
	"\r\n" +
	"From: c@d.example\r\n" +
	"Subject: inner\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"\r\n" +
	"inner plain\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html\r\n" +
	"\r\n" +
	"<p>inner html</p>\r\n" +
	"--inner--\r\n" +
	"--outer--\r\n" +
	"epilogue\r\n"

func TestStructureSections(t *testing.T) {
	m := mustAnalyze(t, nestedMsg)
	raw := nestedMsg
	root := m.Structure
	slice := func(a, b int64) string { return raw[a:b] }
	tests := []struct {
		sec       []int
		mime      string // HeaderStart..BodyStart
		body      string // BodyStart..BodyEnd
		mediaType string
	}{
		{[]int{1}, "Content-Type: text/plain; charset=utf-8\r\n\r\n", "first part", "text/plain"},
		{[]int{2}, "Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n", "", "message/rfc822"},
		{[]int{2, 1}, "\r\n", "inner plain", "text/plain"},
		{[]int{2, 2}, "Content-Type: text/html\r\n\r\n", "<p>inner html</p>", "text/html"},
	}
	for _, tt := range tests {
		p := root.Section(tt.sec...)
		if p == nil {
			t.Fatalf("Section(%v) = nil", tt.sec)
		}
		if p.MediaType() != tt.mediaType {
			t.Errorf("Section(%v) is %s, want %s", tt.sec, p.MediaType(), tt.mediaType)
		}
		if got := slice(p.HeaderStart, p.BodyStart); got != tt.mime {
			t.Errorf("Section(%v).MIME = %q, want %q", tt.sec, got, tt.mime)
		}
		if tt.body != "" {
			if got := slice(p.BodyStart, p.BodyEnd); got != tt.body {
				t.Errorf("Section(%v) body = %q, want %q", tt.sec, got, tt.body)
			}
		}
	}
	fwd := root.Section(2)
	if !fwd.IsMessage() || fwd.Envelope.Subject != "inner" || fwd.Description != "forwarded" {
		t.Fatalf("forwarded part: %+v", fwd)
	}
	inner := fwd.Parts[0]
	if got := slice(inner.HeaderStart, inner.BodyStart); !strings.HasPrefix(got, "From: c@d.example") || !strings.HasSuffix(got, "boundary=inner\r\n\r\n") {
		t.Errorf("BODY[2.HEADER] = %q", got)
	}
	if got := slice(root.BodyStart, root.PreambleEnd); got != "preamble" {
		t.Errorf("preamble = %q", got)
	}
	if got := slice(root.EpilogueStart, root.BodyEnd); got != "epilogue\r\n" {
		t.Errorf("epilogue = %q", got)
	}
	if fwd.Lines != int64(strings.Count(slice(fwd.BodyStart, fwd.BodyEnd), "\n")) || fwd.Lines == 0 {
		t.Errorf("message/rfc822 Lines = %d", fwd.Lines)
	}
	// The header-less first inner part defaults to text/plain us-ascii.
	if p := root.Section(2, 1); p.Charset() != "us-ascii" || p.Encoding != "7bit" {
		t.Errorf("default part: %+v", p)
	}
	for _, bad := range [][]int{{0}, {3}, {1, 2}, {2, 3}, {2, 1, 2}} {
		if root.Section(bad...) != nil {
			t.Errorf("Section(%v) should be nil", bad)
		}
	}
	if root.Section() != root || root.Section(1, 1) != root.Section(1) {
		t.Error("Section of self / leaf part 1")
	}
}

func TestStructureSinglePart(t *testing.T) {
	m := mustAnalyze(t, "Subject: x\r\n\r\nline 1\r\nline 2\r\n")
	p := m.Structure
	if p.MediaType() != "text/plain" || p.Charset() != "us-ascii" || p.Size != 16 || p.Lines != 2 {
		t.Errorf("part = %+v", p)
	}
	if m.Structure.Section(1) != p {
		t.Error("a single-part message has part 1 = itself")
	}
	if m.Size != int64(len("Subject: x\r\n\r\nline 1\r\nline 2\r\n")) {
		t.Errorf("Size = %d", m.Size)
	}
}

func TestStructureBareLF(t *testing.T) {
	lf := strings.ReplaceAll(nestedMsg, "\r\n", "\n")
	mc := mustAnalyze(t, nestedMsg)
	ml := mustAnalyze(t, lf)
	if mc.Size != ml.Size {
		t.Errorf("Size CRLF %d, LF %d", mc.Size, ml.Size)
	}
	var a, b []*Part
	mc.Structure.Walk(func(p *Part) bool { a = append(a, p); return true })
	ml.Structure.Walk(func(p *Part) bool { b = append(b, p); return true })
	if len(a) != len(b) {
		t.Fatalf("%d parts vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Size != b[i].Size || a[i].Lines != b[i].Lines {
			t.Errorf("part %d: CRLF size/lines %d/%d, LF %d/%d", i, a[i].Size, a[i].Lines, b[i].Size, b[i].Lines)
		}
		want := strings.ReplaceAll(nestedMsg[a[i].BodyStart:a[i].BodyEnd], "\r\n", "\n")
		if got := lf[b[i].BodyStart:b[i].BodyEnd]; got != want {
			t.Errorf("part %d: LF body %q, want %q", i, got, want)
		}
	}
}

func TestStructureDepthLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("\r\ndeep\r\n")
	m := mustAnalyze(t, b.String())
	depth := 0
	for p := m.Structure; len(p.Parts) > 0; p = p.Parts[0] {
		depth++
	}
	if depth != MaxDepth {
		t.Errorf("depth %d, want %d", depth, MaxDepth)
	}
	// Encapsulated messages count too.
	msg := strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 100) + "\r\nbody\r\n"
	m = mustAnalyze(t, msg)
	depth = 0
	for p := m.Structure; len(p.Parts) > 0; p = p.Parts[0] {
		depth++
	}
	if depth != MaxDepth {
		t.Errorf("message depth %d, want %d", depth, MaxDepth)
	}
}

func TestStructurePartLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := 0; i < MaxParts+500; i++ {
		b.WriteString("--x\r\n\r\np\r\n")
	}
	b.WriteString("--x--\r\n")
	m, err := Analyze(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Structure.Parts); n != MaxParts-1 {
		t.Errorf("%d parts kept, want %d", n, MaxParts-1)
	}
}

func TestStructureOddInput(t *testing.T) {
	for _, in := range []string{
		"",
		"\r\n",
		"\n\n\n",
		"no header at all",
		"Subject: x",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x--",
		"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
		"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
		"Content-Type: message/rfc822\r\n\r\n",
		"Content-Type: message/rfc822; x\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp5\r\n",
		"\r\r\r\rSubject: cr only\r\rbody\r",
		strings.Repeat("X-Long: "+strings.Repeat("a", 100000)+"\r\n", 3) + "\r\nbody",
		"Content-Type: text/plain\r\n\r\n" + strings.Repeat("z", 200000),
	} {
		m := mustAnalyze(t, in)
		checkOffsets(t, fmt.Sprintf("%.30q", in), []byte(in), m.Structure, 0, int64(len(in)))
	}
}

func TestStructureMultipartNoParts(t *testing.T) {
	m := mustAnalyze(t, "Content-Type: multipart/mixed\r\n\r\njust text\r\n")
	p := m.Structure
	if !p.IsMultipart() || len(p.Parts) != 0 || p.PreambleEnd != p.BodyEnd {
		t.Errorf("multipart without boundary: %+v", p)
	}
}

func TestStructureDigest(t *testing.T) {
	msg := "Content-Type: multipart/digest; boundary=d\r\n\r\n" +
		"--d\r\n\r\nSubject: one\r\n\r\nbody one\r\n" +
		"--d\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n" +
		"--d--\r\n"
	m := mustAnalyze(t, msg)
	p1, p2 := m.Structure.Section(1), m.Structure.Section(2)
	if p1.MediaType() != "message/rfc822" || p1.Envelope == nil || p1.Envelope.Subject != "one" {
		t.Errorf("digest part 1: %+v", p1)
	}
	if p2.MediaType() != "text/plain" {
		t.Errorf("digest part 2: %s", p2.MediaType())
	}
}

func TestStructureContentFields(t *testing.T) {
	msg := "Content-Type: Application/PDF; name=\"=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf\"\r\n" +
		"Content-Transfer-Encoding: BASE64 (comment)\r\n" +
		"Content-ID: <part1@x>\r\n" +
		"Content-Description: =?utf-8?q?caf=C3=A9?=\r\n" +
		"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n" +
		"Content-Disposition: ATTACHMENT; filename*=utf-8''r%C3%A9sum%C3%A9.pdf; size=3\r\n" +
		"Content-Language: en, de (German)\r\n" +
		"Content-Location: http://example.com/\r\n a/b.pdf\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"QUJD\r\n"
	p := mustAnalyze(t, msg).Structure
	want := Part{
		Type: "application", Subtype: "pdf",
		Params:            []Param{{"name", "=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf"}},
		ID:                "<part1@x>",
		Description:       "=?utf-8?q?caf=C3=A9?=",
		MD5:               "Q2hlY2sgSW50ZWdyaXR5IQ==",
		Encoding:          "base64",
		Disposition:       "attachment",
		DispositionParams: []Param{{"filename", "résumé.pdf"}, {"size", "3"}},
		Language:          []string{"en", "de"},
		Location:          "http://example.com/a/b.pdf",
	}
	got := fmt.Sprintf("%q %q %q %q %q %q %q %q %q %q %q", p.Type, p.Subtype, p.Params, p.ID, p.Description, p.MD5, p.Encoding, p.Disposition, p.DispositionParams, p.Language, p.Location)
	exp := fmt.Sprintf("%q %q %q %q %q %q %q %q %q %q %q", want.Type, want.Subtype, want.Params, want.ID, want.Description, want.MD5, want.Encoding, want.Disposition, want.DispositionParams, want.Language, want.Location)
	if got != exp {
		t.Errorf("content fields\n got %s\nwant %s", got, exp)
	}
	if p.Filename() != "résumé.pdf" || p.Lines != 0 {
		t.Errorf("Filename %q Lines %d", p.Filename(), p.Lines)
	}
}
