package imapclient

import (
	"strings"
	"testing"
	"time"

	"posthorn/internal/message"
)

func fetch1(t *testing.T, wire string) *Message {
	t.Helper()
	m, err := ParseFetch(read1(t, wire))
	if err != nil {
		t.Fatalf("ParseFetch(%q): %v", wire, err)
	}
	return m
}

func TestParseFetchEnvelope(t *testing.T) {
	// RFC 3501 §8 example, plus group syntax and an encoded subject.
	wire := `* 12 FETCH (FLAGS (\Seen $Forwarded) INTERNALDATE " 7-Feb-1994 21:52:25 -0800" RFC822.SIZE 4286 UID 101 ` +
		`ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "=?utf-8?q?Gr=C3=BC=C3=9Fe?=" ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ` +
		`((NIL NIL "team" NIL)(NIL NIL "a" "b.example")(NIL NIL NIL NIL)) NIL NIL ` +
		`"<B27397-0100000@cac.washington.edu>"))` + "\r\n"
	m := fetch1(t, wire)
	if m.Seq != 12 || m.UID != 101 || m.Size != 4286 {
		t.Errorf("seq/uid/size: %d %d %d", m.Seq, m.UID, m.Size)
	}
	if !m.HasFlags || !m.HasFlag(`\Seen`) || !m.HasFlag("$forwarded") || m.HasFlag(`\Flagged`) {
		t.Errorf("flags %v", m.Flags)
	}
	want := time.Date(1994, 2, 7, 21, 52, 25, 0, time.FixedZone("", -8*3600))
	if !m.InternalDate.Equal(want) {
		t.Errorf("internal date %v, want %v", m.InternalDate, want)
	}
	e := m.Envelope
	if e == nil {
		t.Fatal("no envelope")
	}
	if e.DecodedSubject() != "Grüße" || e.Date != "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" || e.MessageID != "<B27397-0100000@cac.washington.edu>" {
		t.Errorf("envelope %+v", e)
	}
	if len(e.From) != 1 || e.From[0].String() != "Terry Gray <gray@cac.washington.edu>" {
		t.Errorf("from %+v", e.From)
	}
	if len(e.Cc) != 3 || !e.Cc[0].GroupStart || e.Cc[0].Mailbox != "team" || e.Cc[1].Addr() != "a@b.example" || !e.Cc[2].GroupEnd {
		t.Errorf("group %+v", e.Cc)
	}
	if e.Bcc != nil || e.InReplyTo != "" {
		t.Errorf("NIL fields: %+v %q", e.Bcc, e.InReplyTo)
	}
}

// nestedStructure is what Dovecot sends for a multipart/mixed with a
// multipart/alternative, an RFC 2231 encoded attachment name and a
// forwarded message that is itself multipart.
const nestedStructure = `* 1 FETCH (UID 3 BODYSTRUCTURE (` +
	`(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 12 1 NIL NIL NIL NIL)` +
	`("text" "html" ("charset" "utf-8") NIL NIL "7bit" 30 2 NIL NIL NIL NIL) "alternative" ("boundary" "alt") NIL NIL NIL)` +
	`("application" "pdf" ("name*0*" "utf-8''r%C3%A9sum" "name*1" "e.pdf") "<id1@x>" "CV" "base64" 4096 "md5sum" ` +
	`("attachment" ("filename*" "utf-8''r%C3%A9sum%C3%A9.pdf" "size" "3000")) "fr" "http://x/y")` +
	`("message" "rfc822" NIL NIL NIL "7bit" 500 ` +
	`("Mon, 1 Jan 2024 00:00:00 +0000" "inner" ((NIL NIL "c" "d.example")) NIL NIL NIL NIL NIL NIL NIL) ` +
	`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)("image" "png" NIL NIL NIL "base64" 100 NIL ("inline" NIL) NIL NIL) "mixed" ("boundary" "in") NIL NIL NIL) ` +
	`20 NIL NIL ("en" "de") NIL)` +
	` "mixed" ("boundary" "outer") ("inline" NIL) "en" NIL))` + "\r\n"

func TestParseNestedBodyStructure(t *testing.T) {
	m := fetch1(t, nestedStructure)
	root := m.Structure
	if root == nil || root.MediaType() != "multipart/mixed" || len(root.Parts) != 3 || root.Param("boundary") != "outer" || root.Disposition != "inline" {
		t.Fatalf("root %+v", root)
	}
	alt := root.Section(1)
	if alt.MediaType() != "multipart/alternative" || len(alt.Parts) != 2 {
		t.Fatalf("alternative %+v", alt)
	}
	if p := root.Section(1, 1); p.MediaType() != "text/plain" || p.Charset() != "utf-8" || p.Encoding != "quoted-printable" || p.Size != 12 || p.Lines != 1 {
		t.Errorf("1.1 %+v", p)
	}
	if p := root.Section(1, 2); p.MediaType() != "text/html" || p.Lines != 2 {
		t.Errorf("1.2 %+v", p)
	}
	pdf := root.Section(2)
	if pdf.MediaType() != "application/pdf" || pdf.ID != "<id1@x>" || pdf.Description != "CV" || pdf.Size != 4096 || pdf.MD5 != "md5sum" {
		t.Errorf("2 %+v", pdf)
	}
	if pdf.Param("name") != "résume.pdf" || pdf.Filename() != "résumé.pdf" || pdf.Disposition != "attachment" {
		t.Errorf("RFC 2231: name %q filename %q", pdf.Param("name"), pdf.Filename())
	}
	if len(pdf.Language) != 1 || pdf.Language[0] != "fr" || pdf.Location != "http://x/y" {
		t.Errorf("lang/loc %v %q", pdf.Language, pdf.Location)
	}
	fwd := root.Section(3)
	if !fwd.IsMessage() || fwd.Envelope == nil || fwd.Envelope.Subject != "inner" || fwd.Lines != 20 || len(fwd.Parts) != 1 {
		t.Fatalf("3 %+v", fwd)
	}
	if strings.Join(fwd.Language, ",") != "en,de" {
		t.Errorf("language list %v", fwd.Language)
	}
	if p := root.Section(3, 2); p == nil || p.MediaType() != "image/png" || p.Disposition != "inline" {
		t.Errorf("3.2 %+v", p)
	}
}

func TestParseBodyWithoutExtensions(t *testing.T) {
	m := fetch1(t, `* 2 FETCH (BODY ("TEXT" "PLAIN" ("CHARSET" "ISO-8859-1") NIL NIL "8BIT" 10 1))`+"\r\n")
	p := m.Structure
	if p.MediaType() != "text/plain" || p.Charset() != "iso-8859-1" || p.Encoding != "8bit" || p.Lines != 1 || p.Disposition != "" {
		t.Errorf("%+v", p)
	}
	m = fetch1(t, `* 2 FETCH (BODY (("text" "plain" NIL NIL NIL "7bit" 1 1)("text" "plain" NIL NIL NIL "7bit" 1 1) "MIXED"))`+"\r\n")
	if m.Structure.MediaType() != "multipart/mixed" || len(m.Structure.Parts) != 2 {
		t.Errorf("%+v", m.Structure)
	}
}

func TestParseFetchMalformed(t *testing.T) {
	for _, wire := range []string{
		"* 1 FETCH (UID x)\r\n",
		"* 1 FETCH (UID)\r\n",
		"* 1 FETCH (ENVELOPE (NIL NIL))\r\n",
		"* 1 FETCH (BODYSTRUCTURE (\"text\"))\r\n",
		"* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)))\r\n",
		"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"odd\") NIL NIL \"7bit\" 1 1))\r\n",
		"* 1 FETCH (INTERNALDATE \"yesterday\")\r\n",
		"* 1 FETCH (BODY[1] (x))\r\n",
		"* 1 FETCH UID 1\r\n",
		"* FETCH (UID 1)\r\n",
	} {
		r := NewReader(strings.NewReader(wire), Limits{})
		resp, err := r.ReadResponse()
		if err != nil {
			continue
		}
		if m, err := ParseFetch(resp); err == nil {
			t.Errorf("%q: accepted as %+v", wire, m)
		}
	}
}

func TestDecodeParams(t *testing.T) {
	for _, tc := range []struct {
		in   []message.Param
		want string
	}{
		{[]message.Param{{Name: "charset", Value: "utf-8"}}, "charset=utf-8"},
		{[]message.Param{{Name: "title*", Value: "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"}}, "title=This is ***fun***"},
		{[]message.Param{{Name: "url*1", Value: "/b"}, {Name: "url*0", Value: "ftp://a"}}, "url=ftp://a/b"},
		{[]message.Param{{Name: "name*0*", Value: "iso-8859-1''caf%E9"}, {Name: "name*1", Value: ".txt"}}, "name=café.txt"},
		{[]message.Param{{Name: "name", Value: "plain"}, {Name: "name*", Value: "utf-8''%E2%82%AC"}}, "name=€"},
		{[]message.Param{{Name: "x", Value: "\xe9t\xe9"}}, "x=été"},
		{[]message.Param{{Name: "x*abc", Value: "skipped"}, {Name: "y", Value: "1"}}, "y=1"},
	} {
		var got []string
		for _, p := range DecodeParams(tc.in) {
			got = append(got, p.Name+"="+p.Value)
		}
		if g := strings.Join(got, ", "); g != tc.want {
			t.Errorf("%v: got %q, want %q", tc.in, g, tc.want)
		}
	}
}

func TestMailboxUTF7(t *testing.T) {
	for utf, enc := range map[string]string{
		"INBOX":              "INBOX",
		"Entwürfe":           "Entw&APw-rfe",
		"&":                  "&-",
		"Tom & Jerry":        "Tom &- Jerry",
		"~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		"😀":                  "&2D3eAA-",
	} {
		if got := EncodeMailbox(utf); got != enc {
			t.Errorf("EncodeMailbox(%q) = %q, want %q", utf, got, enc)
		}
		if got, err := DecodeMailbox(enc); err != nil || got != utf {
			t.Errorf("DecodeMailbox(%q) = %q, %v", enc, got, err)
		}
	}
	for _, bad := range []string{"&", "&AGE", "&AGE-&AGE-", "&AGEAYQ-", "\xc3\xa4", "&,,,-"} {
		if got, err := DecodeMailbox(bad); err == nil {
			t.Errorf("DecodeMailbox(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSets(t *testing.T) {
	if got := FormatSet([]uint32{5, 1, 2, 3, 3, 9, 10}); got != "1:3,5,9:10" {
		t.Errorf("FormatSet = %q", got)
	}
	if got := FormatSet(nil); got != "" {
		t.Errorf("FormatSet(nil) = %q", got)
	}
	got, ok := ParseSet("7,1:3,5:4", 100)
	if !ok || FormatSet(got) != "1:5,7" || len(got) != 6 {
		t.Errorf("ParseSet = %v %v", got, ok)
	}
	for _, bad := range []string{"", "0", "1:*", "a", "1,,2", "1:4294967295"} {
		if got, ok := ParseSet(bad, 1000); ok {
			t.Errorf("ParseSet(%q) = %v", bad, got)
		}
	}
}
