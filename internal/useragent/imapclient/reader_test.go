package imapclient

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

func read1(t *testing.T, wire string) *Response {
	t.Helper()
	r := NewReader(strings.NewReader(wire), Limits{})
	resp, err := r.ReadResponse()
	if err != nil {
		t.Fatalf("ReadResponse(%q): %v", wire, err)
	}
	if _, err := r.ReadResponse(); !errors.Is(err, io.EOF) {
		t.Fatalf("after one response of %q: %v, want EOF", wire, err)
	}
	return resp
}

// render shows the fields the way the tests state them.
func render(vs []Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, " ")
}

func TestReadStatusResponses(t *testing.T) {
	for _, tc := range []struct {
		wire                          string
		tag, status, code, ctext, txt string
		codeArgs                      string
	}{
		{"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n", "*", "OK", "CAPABILITY", "IMAP4rev1 STARTTLS AUTH=PLAIN", "Dovecot ready.", "IMAP4rev1 STARTTLS AUTH=PLAIN"},
		{"A1 OK [READ-WRITE] SELECT completed\r\n", "A1", "OK", "READ-WRITE", "", "SELECT completed", ""},
		{"* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Flags permitted.\r\n", "*", "OK", "PERMANENTFLAGS", `(\Answered \Seen \*)`, "Flags permitted.", `(\Answered \Seen \*)`},
		{"T3 NO [TRYCREATE] Mailbox doesn't exist: Nope\r\n", "T3", "NO", "TRYCREATE", "", "Mailbox doesn't exist: Nope", ""},
		{"T4 OK [APPENDUID 1700000000 42] Append completed.\r\n", "T4", "OK", "APPENDUID", "1700000000 42", "Append completed.", "1700000000 42"},
		{"* BYE Logging out\r\n", "*", "BYE", "", "", "Logging out", ""},
		{"T5 ok done\r\n", "T5", "OK", "", "", "done", ""},
		{"T6 OK\r\n", "T6", "OK", "", "", "", ""},
		{"* PREAUTH [ALERT] bracket ] in text\n", "*", "PREAUTH", "ALERT", "", "bracket ] in text", ""},
		{"* OK [X-ODD \"a]b\" c] quoted bracket\r\n", "*", "OK", "X-ODD", `"a]b" c`, "quoted bracket", `"a]b" c`},
		{"T7 BAD [PARSE] what\r\n", "T7", "BAD", "PARSE", "", "what", ""},
	} {
		r := read1(t, tc.wire)
		if r.Tag != tc.tag || r.Status != tc.status || r.Code != tc.code || r.CodeText != tc.ctext || r.Text != tc.txt {
			t.Errorf("%q:\n got tag=%q status=%q code=%q codetext=%q text=%q", tc.wire, r.Tag, r.Status, r.Code, r.CodeText, r.Text)
		}
		if got := render(r.CodeArgs); got != tc.codeArgs {
			t.Errorf("%q: code args %q, want %q", tc.wire, got, tc.codeArgs)
		}
	}
}

func TestReadDataResponses(t *testing.T) {
	for _, tc := range []struct {
		wire, name string
		num        uint32
		fields     string
	}{
		{"* CAPABILITY IMAP4rev1 LITERAL+ IDLE\r\n", "CAPABILITY", 0, "IMAP4rev1 LITERAL+ IDLE"},
		{"* 23 EXISTS\r\n", "EXISTS", 23, ""},
		{"* 4 expunge\r\n", "EXPUNGE", 4, ""},
		{"* SEARCH 2 3 5\r\n", "SEARCH", 0, "2 3 5"},
		{"* SEARCH\r\n", "SEARCH", 0, ""},
		{`* LIST (\HasNoChildren \Sent) "/" Sent` + "\r\n", "LIST", 0, `(\HasNoChildren \Sent) "/" Sent`},
		{`* LIST (\Noselect) NIL ""` + "\r\n", "LIST", 0, `(\Noselect) NIL ""`},
		{"* LIST () \".\" {11}\r\nwith \"quote\r\n", "LIST", 0, "() \".\" \"with \\\"quote\""},
		{`* STATUS "a b" (MESSAGES 2 UNSEEN 1)` + "\r\n", "STATUS", 0, `"a b" (MESSAGES 2 UNSEEN 1)`},
		{`* ESEARCH (TAG "T9") UID ALL 1:3,7` + "\r\n", "ESEARCH", 0, `(TAG "T9") UID ALL 1:3,7`},
		{"* FLAGS ()\r\n", "FLAGS", 0, "()"},
		{"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n", "NAMESPACE", 0, `(("" "/")) NIL NIL`},
		// Extra spaces and a bare LF are tolerated.
		{"* SEARCH  1   2\n", "SEARCH", 0, "1 2"},
	} {
		r := read1(t, tc.wire)
		if r.Tag != "*" || r.Status != "" || r.Name != tc.name || r.Num != tc.num {
			t.Errorf("%q: got tag=%q status=%q name=%q num=%d", tc.wire, r.Tag, r.Status, r.Name, r.Num)
		}
		if got := render(r.Fields); got != tc.fields {
			t.Errorf("%q: fields %q, want %q", tc.wire, got, tc.fields)
		}
	}
}

func TestReadContinuation(t *testing.T) {
	for wire, text := range map[string]string{
		"+ Ready for literal data\r\n": "Ready for literal data",
		"+ \r\n":                       "",
		"+\r\n":                        "",
		"+ dGVzdA==\r\n":               "dGVzdA==",
	} {
		r := read1(t, wire)
		if r.Tag != "+" || r.Text != text {
			t.Errorf("%q: tag %q text %q", wire, r.Tag, r.Text)
		}
	}
}

func TestReadQuotedEscapesAndNil(t *testing.T) {
	r := read1(t, `* X "a\"b\\c" "" NIL nil "NIL" ("x" NIL)`+"\r\n")
	want := []Value{
		{Kind: String, Str: `a"b\c`}, {Kind: String, Str: ""}, {Kind: Nil}, {Kind: Nil}, {Kind: String, Str: "NIL"},
		{Kind: List, List: []Value{{Kind: String, Str: "x"}, {Kind: Nil}}},
	}
	if len(r.Fields) != len(want) {
		t.Fatalf("fields %v", r.Fields)
	}
	for i, w := range want {
		if !sameValue(r.Fields[i], w) {
			t.Errorf("field %d = %#v, want %#v", i, r.Fields[i], w)
		}
	}
	if s, ok := r.Fields[2].NString(); !ok || s != "" {
		t.Errorf("NIL as nstring: %q %v", s, ok)
	}
	if _, ok := r.Fields[2].AString(); ok {
		t.Error("NIL accepted as astring")
	}
}

func sameValue(a, b Value) bool {
	if a.Kind != b.Kind || a.Str != b.Str || len(a.List) != len(b.List) {
		return false
	}
	for i := range a.List {
		if !sameValue(a.List[i], b.List[i]) {
			return false
		}
	}
	return true
}

func TestReadLiterals(t *testing.T) {
	body := "Subject: hi\r\n\r\nline with ) and ( and \"\r\n"
	wire := "* 1 FETCH (UID 7 BODY[] {" + strconv.Itoa(len(body)) + "}\r\n" + body + " FLAGS (\\Seen))\r\n" +
		"* 2 FETCH (BODY[1] {0}\r\n)\r\n" +
		"* 3 FETCH (BINARY[1] ~{3}\r\n\x00\x01\x02)\r\n"
	r := NewReader(strings.NewReader(wire), Limits{})
	var got []*Message
	for range 3 {
		resp, err := r.ReadResponse()
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseFetch(resp)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if string(got[0].Sections[""]) != body || got[0].UID != 7 || !got[0].HasFlag(`\seen`) {
		t.Errorf("message 1: %+v", got[0])
	}
	if s, ok := got[1].Sections["1"]; !ok || len(s) != 0 {
		t.Errorf("empty literal: %q %v", s, ok)
	}
	if string(got[2].Sections["1"]) != "\x00\x01\x02" {
		t.Errorf("literal8: %q", got[2].Sections["1"])
	}
}

func TestReadSectionAtoms(t *testing.T) {
	r := read1(t, "* 5 FETCH (BODY[HEADER.FIELDS (SUBJECT \"X-A]\")] {4}\r\nab\r\n BODY[]<0> \"xy\")\r\n")
	m, err := ParseFetch(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Sections[`HEADER.FIELDS (SUBJECT "X-A]")`]) != "ab\r\n" || string(m.Sections[""]) != "xy" {
		t.Errorf("sections %q", m.Sections)
	}
}

func TestReadErrors(t *testing.T) {
	for _, wire := range []string{
		"\r\n",
		"T1 FETCH (x)\r\n",
		"* 1 OK hi\r\n",
		"* X (a b\r\n",
		"* X a)\r\n",
		"* X \"abc\r\n",
		"* X {5}\r\nab",
		"* X {x}\r\n",
		"* X {99999999999999999999}\r\n",
		"* X ~5\r\n",
		"* OK [ALERT unterminated\r\n",
		"* X a\rb\r\n",
		"* 99999999999 EXISTS\r\n",
		"* X BODY[1 (\r\n",
	} {
		r := NewReader(strings.NewReader(wire), Limits{})
		if resp, err := r.ReadResponse(); err == nil {
			t.Errorf("%q: no error, got %+v", wire, resp)
		}
	}
}

func TestReadLimits(t *testing.T) {
	deep := "* X " + strings.Repeat("(", 100) + strings.Repeat(")", 100) + "\r\n"
	if _, err := NewReader(strings.NewReader(deep), Limits{MaxDepth: 50}).ReadResponse(); err == nil {
		t.Error("nesting over MaxDepth accepted")
	}
	if _, err := NewReader(strings.NewReader(deep), Limits{MaxDepth: 100}).ReadResponse(); err != nil {
		t.Errorf("nesting at MaxDepth refused: %v", err)
	}
	long := "* SEARCH " + strings.Repeat("1 ", 1000) + "\r\n"
	if _, err := NewReader(strings.NewReader(long), Limits{MaxLine: 1000}).ReadResponse(); err == nil {
		t.Error("line over MaxLine accepted")
	}
	if _, err := NewReader(strings.NewReader(long), Limits{MaxValues: 999}).ReadResponse(); err == nil {
		t.Error("more than MaxValues accepted")
	}
	lit := "* X {2000}\r\n" + strings.Repeat("a", 2000) + "\r\n"
	if _, err := NewReader(strings.NewReader(lit), Limits{MaxLiteral: 1999}).ReadResponse(); err == nil {
		t.Error("literal over MaxLiteral accepted")
	}
	if r, err := NewReader(strings.NewReader(lit), Limits{MaxLine: 100}).ReadResponse(); err != nil || len(r.Fields[0].Str) != 2000 {
		t.Errorf("a literal counted against MaxLine: %v", err)
	}
}

func TestValueRenderRoundTrip(t *testing.T) {
	wire := "* X (a \"b c\" NIL (\"\\\\\" {2}\r\n\r\n))\r\n"
	r := read1(t, wire)
	again := read1(t, "* X "+render(r.Fields)+"\r\n")
	if !sameValue(Value{Kind: List, List: r.Fields}, Value{Kind: List, List: again.Fields}) {
		t.Errorf("round trip: %v vs %v", r.Fields, again.Fields)
	}
}
