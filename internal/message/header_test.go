package message

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseHeader(t *testing.T) {
	in := "Subject : hello\r\n world\r\n" +
		"From: a@b.example\n" + // bare LF
		"not a field\r\n" +
		"X-Empty:\r\n" +
		"Bad Name: x\r\n" +
		"\r\n" +
		"body\r\n"
	h, off := ParseHeader([]byte(in))
	if got, want := in[off:], "body\r\n"; got != want {
		t.Fatalf("body = %q, want %q", got, want)
	}
	var raw strings.Builder
	for _, f := range h {
		raw.WriteString(f.Raw)
	}
	if raw.String()+"\r\n" != in[:off] {
		t.Errorf("raw fields do not reassemble the header:\n%q", raw.String())
	}
	names := []string{}
	for _, f := range h {
		names = append(names, f.Name)
	}
	if got, want := strings.Join(names, "|"), "Subject|From||X-Empty|"; got != want {
		t.Errorf("names = %q, want %q", got, want)
	}
	if got := h.Get("subject"); got != "hello world" {
		t.Errorf("Get(subject) = %q", got)
	}
	if got := h[0].Value; got != " hello\r\n world" {
		t.Errorf("raw value = %q", got)
	}
	if !h.Has("x-empty") || h.Get("X-EMPTY") != "" || h.Has("bad name") {
		t.Error("Has/Get wrong for X-Empty or the invalid name")
	}
	if got := h.Values("from"); len(got) != 1 || got[0] != "a@b.example" {
		t.Errorf("Values(from) = %q", got)
	}
}

func TestParseHeaderNoBody(t *testing.T) {
	for _, in := range []string{"", "Subject: x", "Subject: x\r\n", " leading continuation\r\nA: b\r\n"} {
		h, off := ParseHeader([]byte(in))
		if off != len(in) {
			t.Errorf("%q: body offset %d, want %d", in, off, len(in))
		}
		n := 0
		for _, f := range h {
			n += len(f.Raw)
		}
		if n != len(in) {
			t.Errorf("%q: fields cover %d octets, want %d", in, n, len(in))
		}
	}
}

func TestUnfold(t *testing.T) {
	if got := Unfold("a\r\n b\n\tc"); got != "a b\tc" {
		t.Errorf("Unfold = %q", got)
	}
}

func TestFormatField(t *testing.T) {
	long := strings.Repeat("word ", 40)
	got := FormatField("Subject", long)
	for _, ln := range strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n") {
		if len(ln) > 78 {
			t.Errorf("line of %d octets: %q", len(ln), ln)
		}
	}
	if want := "Subject: " + strings.TrimSpace(long); !strings.HasSuffix(got, "\r\n") || Unfold(strings.TrimSuffix(got, "\r\n")) != want {
		t.Errorf("folding changed the value: %q", got)
	}
	u := FormatField("Subject", "Grüße aus Köln")
	val := strings.TrimSuffix(strings.TrimPrefix(u, "Subject:"), "\r\n")
	if !isPrintableASCII(u) || DecodeHeader(strings.TrimSpace(Unfold(val))) != "Grüße aus Köln" {
		t.Errorf("FormatField(non-ASCII) = %q", u)
	}
}

func TestDecodeHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		// RFC 2047 §8 examples.
		{"(=?ISO-8859-1?Q?a?=)", "(a)"},
		{"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
		{"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
		{"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
		{"=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"},
		{"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		// RFC 2231 §5 language in an encoded-word.
		{"=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"},
		// A UTF-8 character split over two words is joined first.
		{"=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"},
		{"=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?=", "é"},
		// Glued to other text: not an encoded-word (RFC 2047 §5).
		{"=?utf-8?q?foo?=.bar", "=?utf-8?q?foo?=.bar"},
		{"Re:=?utf-8?q?caf=C3=A9?=", "Re:café"},
		// Broken ones stay text.
		{"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
		{"=??q?abc?=", "=??q?abc?="},
		// Unknown charset: UTF-8 if valid.
		{"=?x-unknown?q?caf=C3=A9?=", "café"},
		{"=?koi8-r?b?8NLJ18XU?=", "Привет"},
		{"=?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=", "日本語"},
		// Raw 8-bit: UTF-8 as is, else windows-1252.
		{"caf\xc3\xa9", "café"},
		{"caf\xe9", "café"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := DecodeHeader(tt.in); got != tt.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeWord(t *testing.T) {
	tests := []string{
		"Grüße aus Köln",
		"plain ascii subject",
		"日本語のメールの件名はとても長くなることがありますので、エンコードされた単語を複数に分割する必要があります",
		strings.Repeat("é", 200),
		"Re: Ünïcödé  with   spaces and =?fake?q?word?=",
		"emoji 🎉🎉🎉 party " + strings.Repeat("x", 90),
	}
	for _, s := range tests {
		enc := EncodeWord(s)
		if !isPrintableASCII(enc) {
			t.Errorf("EncodeWord(%q) is not ASCII: %q", s, enc)
		}
		for i, ln := range strings.Split(enc, "\r\n") {
			limit := 78
			if i == 0 {
				limit -= len("Subject: ")
			}
			if len(ln) > limit && strings.Contains(ln, "=?") {
				t.Errorf("EncodeWord(%q): line %d has %d octets: %q", s, i, len(ln), ln)
			}
		}
		for _, w := range strings.Fields(enc) {
			if strings.HasPrefix(w, "=?") && len(w) > 75 {
				t.Errorf("encoded-word of %d octets: %q", len(w), w)
			}
		}
		if got, want := DecodeHeader(Unfold(enc)), strings.Join(strings.Fields(s), " "); got != want {
			t.Errorf("round trip of %q:\n got %q\nwant %q\n enc %q", s, got, want, enc)
		}
	}
	if got := EncodeWord("Zürich-Stadtverwaltung"); !strings.HasPrefix(got, "=?utf-8?q?") {
		t.Errorf("mostly-ASCII text should use Q: %q", got)
	}
	if got := EncodeWord("日本語"); !strings.HasPrefix(got, "=?utf-8?b?") {
		t.Errorf("CJK text should use B: %q", got)
	}
}

func TestEncodeWordWholeCharacters(t *testing.T) {
	enc := EncodeWord(strings.Repeat("€", 60))
	for _, w := range strings.Fields(enc) {
		dec := DecodeHeader(w)
		if !utf8.ValidString(dec) || strings.ContainsRune(dec, utf8.RuneError) {
			t.Errorf("word %q does not hold whole characters", w)
		}
	}
}

func TestParseMsgID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"<1234@local.machine.example>", "<1234@local.machine.example>", true},
		{"  <1234   @   local(blah)  .machine .example>", "<1234@local.machine.example>", true},
		{"(comment) <a@b> <c@d>", "<a@b>", true},
		{"bare@id.example", "<bare@id.example>", true},
		{"", "", false},
		{"no id here", "", false},
		{"<>", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseMsgID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseMsgID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	refs := ParseMsgIDList("<a@b>\r\n <c@d>,<e@f> (x) junk <g@h")
	if strings.Join(refs, " ") != "<a@b> <c@d> <e@f>" {
		t.Errorf("ParseMsgIDList = %q", refs)
	}
}
