package useragent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posthorn/internal/message"
	"posthorn/internal/useragent/imapclient"
)

// structureOf parses a BODYSTRUCTURE the way the IMAP client gets it.
func structureOf(t *testing.T, bs string) *message.Part {
	t.Helper()
	r := imapclient.NewReader(strings.NewReader("* 1 FETCH (UID 1 BODYSTRUCTURE "+bs+")\r\n"), imapclient.Limits{})
	resp, err := r.ReadResponse()
	if err != nil {
		t.Fatal(err)
	}
	m, err := imapclient.ParseFetch(resp)
	if err != nil || m.Structure == nil {
		t.Fatalf("%v %+v", err, m)
	}
	return m.Structure
}

func sections(refs []partRef) string {
	var s []string
	for _, r := range refs {
		s = append(s, r.section+"="+r.part.MediaType())
	}
	return strings.Join(s, " ")
}

func TestSplitParts(t *testing.T) {
	const (
		plain  = `("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)`
		html   = `("text" "html" ("charset" "utf-8") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)`
		pdf    = `("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 4 NIL ("attachment" ("filename" "a.pdf")) NIL NIL)`
		txtAtt = `("text" "plain" NIL NIL NIL "7bit" 5 1 NIL ("attachment" ("filename" "notes.txt")) NIL NIL)`
		png    = `("image" "png" NIL "<cid>" NIL "base64" 4 NIL ("inline" NIL) NIL NIL)`
		fwd    = `("message" "rfc822" NIL NIL NIL "7bit" 50 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ` + plain + ` 3 NIL NIL NIL NIL)`
	)
	for _, tc := range []struct{ name, bs, texts, atts string }{
		{"single plain", plain, "1=text/plain", ""},
		{"single html", html, "1=text/html", ""},
		{"single pdf", pdf, "", "1=application/pdf"},
		{"alternative", "(" + plain + html + ` "alternative")`, "1=text/plain", ""},
		{"html first", "(" + html + plain + ` "alternative")`, "2=text/plain", ""},
		{"mixed", "((" + plain + html + ` "alternative")` + pdf + txtAtt + ` "mixed")`, "1.1=text/plain", "2=application/pdf 3=text/plain"},
		{"related html", "(((" + html + png + ` "related")` + ` "alternative")` + pdf + ` "mixed")`, "1.1.1=text/html", "1.1.2=image/png 2=application/pdf"},
		{"forwarded", "(" + plain + fwd + ` "mixed")`, "1=text/plain", "2=message/rfc822"},
		{"plain and html inline", "(" + plain + html + plain + ` "mixed")`, "1=text/plain 3=text/plain", "2=text/html"},
	} {
		texts, atts := splitParts(structureOf(t, tc.bs))
		if got := sections(texts); got != tc.texts {
			t.Errorf("%s: texts %q, want %q", tc.name, got, tc.texts)
		}
		if got := sections(atts); got != tc.atts {
			t.Errorf("%s: attachments %q, want %q", tc.name, got, tc.atts)
		}
	}
}

func TestAttachmentName(t *testing.T) {
	for _, tc := range []struct {
		part *message.Part
		want string
	}{
		{&message.Part{Type: "application", Subtype: "pdf", Params: []message.Param{{Name: "name", Value: "x.pdf"}}}, "x.pdf"},
		{&message.Part{Type: "message", Subtype: "rfc822"}, "part-2.eml"},
		{&message.Part{Type: "text", Subtype: "plain"}, "part-2.txt"},
		{&message.Part{Type: "application", Subtype: "x-unknown-thing"}, "part-2.bin"},
	} {
		if got := attachmentName(partRef{tc.part, "2"}); got != tc.want {
			t.Errorf("attachmentName(%s) = %q, want %q", tc.part.MediaType(), got, tc.want)
		}
	}
}

func TestDecodeTransfer(t *testing.T) {
	for _, tc := range []struct{ enc, in, want string }{
		{"base64", "aGVs\r\nbG8=\r\n", "hello"},
		{"BASE64", "aGVsbG8", "hello"},
		{"base64", "aGVs bG8=\r\n", "hello"},
		{"quoted-printable", "K=C3=A4se=\r\n und=3D\r\n", "Käse und=\r\n"},
		{"7bit", "as is", "as is"},
		{"binary", "\x00\x01", "\x00\x01"},
	} {
		if got := string(decodeTransfer(tc.enc, []byte(tc.in))); got != tc.want {
			t.Errorf("decodeTransfer(%s, %q) = %q, want %q", tc.enc, tc.in, got, tc.want)
		}
	}
}

func TestSaveFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	for _, tc := range []struct{ name, want string }{
		{"a.pdf", "a.pdf"},
		{"a.pdf", "a-1.pdf"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{"..", "attachment"},
		{".bashrc", "bashrc"},
		{"/abs/path.txt", "_abs_path.txt"},
		{"evil\x1b[31m.txt", "evil_[31m.txt"},
		{`back\slash`, "back_slash"},
		{"", "attachment-1"},
	} {
		path, err := saveFile(dir, tc.name, []byte(tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if path != filepath.Join(dir, tc.want) {
			t.Errorf("saveFile(%q) wrote %q, want %q", tc.name, path, filepath.Join(dir, tc.want))
		}
		if got, _ := os.ReadFile(path); string(got) != tc.name {
			t.Errorf("%s holds %q", path, got)
		}
	}
	if got := safeFilename(strings.Repeat("ä", 300) + ".pdf"); len(got) > 200 || !strings.HasSuffix(got, ".pdf") {
		t.Errorf("long name cut to %q (%d)", got, len(got))
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("files outside the directory: %v", entries)
	}
}
