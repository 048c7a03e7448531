package imapd

import (
	"testing"

	"posthorn/internal/message"
)

func TestWriteBody(t *testing.T) {
	p := &message.Part{Type: "multipart", Subtype: "mixed", Params: []message.Param{{Name: "boundary", Value: "x"}},
		Language: []string{"en"}, Parts: []*message.Part{
			{Type: "text", Subtype: "html", Encoding: "7bit", Size: 10, Lines: 1},
			{Type: "application", Subtype: "pdf", Encoding: "base64", Size: 20, Disposition: "attachment",
				DispositionParams: []message.Param{{Name: "filename", Value: "Größe.pdf"}}},
			{Type: "message", Subtype: "rfc822", Encoding: "7bit", Size: 30, Lines: 3},
		}}
	r := &resp{}
	writeBody(r, p, true)
	want := `(("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)` +
		`("APPLICATION" "PDF" NIL NIL NIL "BASE64" 20 NIL ("ATTACHMENT" ("FILENAME*" "utf-8''Gr%C3%B6%C3%9Fe.pdf")) NIL NIL)` +
		`("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 30 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)` +
		` "MIXED" ("BOUNDARY" "x") NIL ("en") NIL)`
	if got := string(r.b); got != want {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", got, want)
	}
	r = &resp{utf8: true}
	writeBody(r, p.Parts[1], false)
	if got := string(r.b); got != `("APPLICATION" "PDF" NIL NIL NIL "BASE64" 20)` {
		t.Errorf("BODY %s", got)
	}
	r = &resp{}
	writeBody(r, &message.Part{Type: "multipart", Subtype: "alternative"}, false)
	if got := string(r.b); got != `(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0) "ALTERNATIVE")` {
		t.Errorf("empty multipart %s", got)
	}
}

func TestWriteEnvelopeGroups(t *testing.T) {
	e := &message.Envelope{Subject: "hi", To: []message.Address{{GroupStart: true, Mailbox: "team"},
		{Name: "Ann", Mailbox: "ann", Host: "x.test"}, {GroupEnd: true}, {Mailbox: "local"}}}
	r := &resp{}
	writeEnvelope(r, e)
	want := `(NIL "hi" NIL NIL NIL ((NIL NIL "team" NIL)("Ann" NIL "ann" "x.test")(NIL NIL NIL NIL)(NIL NIL "local" "")) NIL NIL NIL NIL)`
	if got := string(r.b); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}
