package jmap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"posthorn/internal/mailbox"
	"posthorn/internal/message"
)

// Unit tests and fuzz targets of the parsers: state tokens, ids, JSON
// pointers and result references, filters, header properties, transfer
// decoding, requests.

func TestStateRoundTrip(t *testing.T) {
	for _, st := range []state{
		{modseq: 0},
		{modseq: 812, mailboxes: []mailbox.MailboxID{1, 2, 3, 4, 5, 8}},
		{modseq: 1 << 40, mailboxes: []mailbox.MailboxID{7, 1 << 33}},
	} {
		tok := st.String()
		back, ok := parseState(tok)
		if !ok || back.String() != tok || back.modseq != st.modseq || fmt.Sprint(back.mailboxes) != fmt.Sprint(st.mailboxes) {
			t.Errorf("%q: parsed %+v %v", tok, back, ok)
		}
	}
	if tok := (state{modseq: 812, mailboxes: []mailbox.MailboxID{1, 2, 3, 4, 5, 8}}).String(); tok != "812-1.1.1.1.1.3" {
		t.Errorf("token = %q", tok)
	}
	for _, bad := range []string{"", "-1", "01", "1-", "1-0", "1-1.0", "1-a.-1", "1-01", "x", "1-1..2", "9223372036854775808"} {
		if _, ok := parseState(bad); ok {
			t.Errorf("parseState(%q) accepted", bad)
		}
	}
}

func TestBlobIDs(t *testing.T) {
	for in, want := range map[string]blobRef{
		"R12":       {msg: 12},
		"R12_1":     {msg: 12, part: "1"},
		"R12_2_10":  {msg: 12, part: "2.10"},
		"Uabcdef01": {upload: "abcdef01"},
	} {
		got, ok := parseBlobID(in)
		if !ok || got != want {
			t.Errorf("parseBlobID(%q) = %+v %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "R", "R0", "R012", "R1_", "R1_0", "R1_01", "R1_x", "Uxyz", "U", "E1", "R1__2"} {
		if _, ok := parseBlobID(bad); ok {
			t.Errorf("parseBlobID(%q) accepted", bad)
		}
	}
	if partBlobID(12, "2.10") != "R12_2_10" {
		t.Error("partBlobID")
	}
}

func TestPointer(t *testing.T) {
	var doc any
	json.Unmarshal([]byte(`{"list":[{"id":"a","ids":["x","y"]},{"id":"b","ids":["z"]}],"a/b":{"m~n":1}}`), &doc)
	for path, want := range map[string]string{
		"":              `{"a/b":{"m~n":1},"list":[{"id":"a","ids":["x","y"]},{"id":"b","ids":["z"]}]}`,
		"/list/*/id":    `["a","b"]`,
		"/list/*/ids":   `["x","y","z"]`,
		"/list/1/ids/0": `"z"`,
		"/a~1b/m~0n":    `1`,
	} {
		v, err := evalPointer(doc, path)
		b, _ := json.Marshal(v)
		if err != nil || string(b) != want {
			t.Errorf("%q = %s, %v; want %s", path, b, err, want)
		}
	}
	for _, bad := range []string{"list", "/nope", "/list/2", "/list/-1", "/list/01", "/list/*/nope", "/a~1b/m~0n/x"} {
		if _, err := evalPointer(doc, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDecodeTransfer(t *testing.T) {
	for _, c := range []struct{ cte, in, want string }{
		{"base64", "SGVs\r\nbG8=\r\n", "Hello"},
		{"BASE64", "SGVsbG8", "Hello"},
		{"base64", "SGV*sbG8=!", "Hello"},
		{"base64", "SGVsbG8=A", "Hello"},
		{"quoted-printable", "Caf=E9 =\r\nau=3Dlait=", "Caf\xe9 au=lait"},
		{"quoted-printable", "a=zz b=4", "a=zz b=4"},
		{"quoted-printable", "soft =  \nbreak", "soft break"},
		{"7bit", "as is=E9", "as is=E9"},
	} {
		if got := string(decodeTransfer(c.cte, []byte(c.in))); got != c.want {
			t.Errorf("%s %q = %q, want %q", c.cte, c.in, got, c.want)
		}
	}
}

func TestHeaderProps(t *testing.T) {
	for in, want := range map[string]headerProp{
		"header:Subject":                 {name: "Subject"},
		"header:From:asAddresses":        {name: "From", form: formAddresses},
		"header:X-Foo:asText:all":        {name: "X-Foo", form: formText, all: true},
		"header:Received:all":            {name: "Received", all: true},
		"header:list-post:asURLs":        {name: "list-post", form: formURLs},
		"header:X-Date:asDate":           {name: "X-Date", form: formDate},
		"header:Message-Id:asMessageIds": {name: "Message-Id", form: formMessageIDs},
	} {
		got, err := parseHeaderProp(in)
		if err != nil || got != want {
			t.Errorf("%q = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"header:", "header:From:asDate", "header:Subject:asAddresses", "header:X:asBogus", "header:A B",
		"header:X:asText:all:all", "subject", "header:Received:asText", "header:Date:asText"} {
		if _, err := parseHeaderProp(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMarkTerms(t *testing.T) {
	for _, c := range []struct {
		s     string
		terms []string
		want  string
	}{
		{"Lunch plans", []string{"lunch"}, "<mark>Lunch</mark> plans"},
		{"relaunch lunch", []string{"lunch"}, "relaunch <mark>lunch</mark>"},
		{"Reporting <now>", []string{"rep"}, "<mark>Rep</mark>orting &lt;now&gt;"},
		{"İstanbul trip", []string{"İst"}, "<mark>İst</mark>anbul trip"},
	} {
		got := markTerms(c.s, c.terms, 0)
		if got == nil || *got != c.want {
			t.Errorf("markTerms(%q, %v) = %v, want %q", c.s, c.terms, got, c.want)
		}
	}
	if markTerms("nothing here", []string{"zebra"}, 0) != nil {
		t.Error("no match must be nil")
	}
}

func TestWithoutBcc(t *testing.T) {
	in := "From: a@x\r\nBcc: secret@x,\r\n other@x\r\nTo: b@x\r\n\r\nBcc: in the body stays\r\n"
	want := "From: a@x\r\nTo: b@x\r\n\r\nBcc: in the body stays\r\n"
	if got := string(withoutBcc([]byte(in))); got != want {
		t.Errorf("withoutBcc = %q", got)
	}
	plain := "From: a@x\r\n\r\nhi\r\n"
	if got := string(withoutBcc([]byte(plain))); got != plain {
		t.Errorf("without a Bcc the message must not change: %q", got)
	}
}

func FuzzParseState(f *testing.F) {
	for _, s := range []string{"0", "812-1.1.1.1.1.3", "1-zz", "5-1.a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, ok := parseState(s)
		if ok && st.String() != s {
			t.Errorf("%q parsed but formats as %q", s, st.String())
		}
	})
}

func FuzzParseBlobID(f *testing.F) {
	for _, s := range []string{"R1", "R12_1_2", "Uabc123", "R1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok := parseBlobID(s)
		if !ok {
			return
		}
		back := "U" + ref.upload
		if ref.upload == "" {
			back = messageBlobID(ref.msg)
			if ref.part != "" {
				back = partBlobID(ref.msg, ref.part)
			}
		}
		if back != s {
			t.Errorf("%q parsed as %+v, formats as %q", s, ref, back)
		}
	})
}

func FuzzResolveReferences(f *testing.F) {
	f.Add(`{"#ids":{"resultOf":"a","name":"X/y","path":"/list/*/id"}}`, `{"list":[{"id":"1"},{"id":"2"}]}`)
	f.Add(`{"ids":[],"#ids":{"resultOf":"a","name":"X/y","path":""}}`, `[]`)
	f.Add(`{"#x":{"resultOf":"a","name":"X/y","path":"/*/*/*"}}`, `[[[1]],[[2,3]]]`)
	f.Fuzz(func(t *testing.T, args, result string) {
		if !json.Valid([]byte(result)) {
			return
		}
		out, merr := resolveReferences(json.RawMessage(args), []invocation{{Name: "X/y", Args: json.RawMessage(result), CallID: "a"}})
		if merr == nil && !json.Valid(out) {
			t.Errorf("resolved arguments are not JSON: %s", out)
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Add(`{"operator":"AND","conditions":[{"text":"a"},{"operator":"NOT","conditions":[{"from":"b"}]}]}`)
	f.Add(`{"inMailbox":"M1"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseFilter(json.RawMessage(s))
		if err != nil || n == nil {
			return
		}
		var count func(*filterNode, int) int
		count = func(x *filterNode, d int) int {
			if d > maxFilterDepth+1 {
				t.Fatalf("filter deeper than the limit")
			}
			c := 1
			for _, ch := range x.children {
				c += count(ch, d+1)
			}
			return c
		}
		if count(n, 0) > maxFilterNodes {
			t.Errorf("filter larger than the limit")
		}
	})
}

func FuzzHeaderForms(f *testing.F) {
	f.Add("header:From:asAddresses", " \"Joe\" <j@x>, g: a@x, b@x;")
	f.Add("header:Date:asDate:all", " Tue, 1 Jul 2003 10:52:37 +0200")
	f.Add("header:X:asURLs", " <http://x>, <mailto:y>")
	f.Add("header:Subject:asText", " =?utf-8?q?caf=C3=A9?= \r\n au lait")
	f.Fuzz(func(t *testing.T, prop, value string) {
		hp, err := parseHeaderProp(prop)
		if err != nil {
			return
		}
		v := hp.form.parse(value)
		b, err := json.Marshal(v)
		if err != nil || !utf8.Valid(b) {
			t.Errorf("%s of %q: %v", prop, value, err)
		}
	})
}

func FuzzDecodeTransfer(f *testing.F) {
	f.Add("base64", []byte("SGVsbG8=\r\n"))
	f.Add("quoted-printable", []byte("a=3D=\r\nb=ZZ="))
	f.Fuzz(func(t *testing.T, cte string, b []byte) {
		out := decodeTransfer(cte, b)
		if strings.EqualFold(cte, "quoted-printable") && len(out) > len(b) {
			t.Errorf("QP output longer than input")
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"a":1},"c"]]}`))
	f.Add([]byte(`{"using":[],"methodCalls":[],"createdIds":{"k":"E1"}}`))
	s := &Server{o: Options{MaxCallsInRequest: 4}, caps: capabilities{using: map[string]bool{capCore: true}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, prob := s.parseRequest(b)
		if (req == nil) == (prob == nil) {
			t.Fatalf("parseRequest gave %v and %v", req, prob)
		}
		if req != nil && len(req.MethodCalls) > 4 {
			t.Errorf("more calls than the limit")
		}
	})
}

func FuzzToCRLF(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\rd\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := toCRLF(b)
		if bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) {
			t.Errorf("bare LF left in %q", out)
		}
		if !bytes.Equal(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))) {
			t.Errorf("content changed: %q -> %q", b, out)
		}
	})
}

func FuzzWithoutBcc(f *testing.F) {
	f.Add([]byte("From: a@x\r\nBcc: b@x\r\n\r\nbody\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := withoutBcc(b)
		h, _ := message.ParseHeader(out)
		if h.Has("Bcc") {
			t.Errorf("Bcc left in %q", out)
		}
	})
}
