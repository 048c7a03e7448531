package message

import (
	"strings"
	"testing"
)

func paramString(ps []Param) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name+"="+p.Value)
	}
	return strings.Join(s, "; ")
}

func TestParseParamField(t *testing.T) {
	tests := []struct{ in, head, params string }{
		{"text/plain", "text/plain", ""},
		{`Text/Plain; Charset="ISO-8859-1"; format=flowed`, "text/plain", "charset=ISO-8859-1; format=flowed"},
		{"text/plain; charset=us-ascii (Plain text)", "text/plain", "charset=us-ascii"},
		{`multipart/mixed; boundary="ab\cd` + "\r\n" + ` ef" mumble`, "multipart/mixed", "boundary=abcd ef"},
		{"multipart/mixed; boundary=----=_Part_1_2.3", "multipart/mixed", "boundary=----=_Part_1_2.3"},
		{`a/b; x=1; X=2; y="q;v"`, "a/b", "x=1; y=q;v"},
		{"a/b;;; x=1;", "a/b", "x=1"},
		{"a/b; novalue; x=1", "a/b", "x=1"},
		// RFC 2231 §3 continuations, §4 charsets, §4.1 both.
		{`message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"`,
			"message/external-body", "access-type=URL; url=ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"},
		{`application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`,
			"application/x-stuff", "title=This is ***fun***"},
		{`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
			"application/x-stuff", "title=This is even more ***fun*** isn't it!"},
		{`attachment; filename*=ISO-8859-1''%E4%F6%FC`, "attachment", "filename=äöü"},
		{`attachment; filename*=utf-8''%e2%82%ac.txt`, "attachment", "filename=€.txt"},
		{`attachment; filename*=Cp1252''%80.txt`, "attachment", "filename=€.txt"},
		// Out of order sections are sorted; plain name next to name* loses.
		{`a/b; n*1=b; n*0=a; n*2=c`, "a/b", "n=abc"},
		{`a/b; name="plain"; name*=utf-8''%C3%A9`, "a/b", "name=é"},
		// Raw 8-bit in a value becomes UTF-8.
		{"a/b; name=\"caf\xe9\"", "a/b", "name=café"},
		// RFC 2047 inside quotes is left alone.
		{`a/b; name="=?koi8-r?B?8NLJ18XU?="`, "a/b", "name==?koi8-r?B?8NLJ18XU?="},
	}
	for _, tt := range tests {
		head, ps := parseParamField(tt.in)
		if head != tt.head || paramString(ps) != tt.params {
			t.Errorf("parseParamField(%q)\n got %q %q\nwant %q %q", tt.in, head, paramString(ps), tt.head, tt.params)
		}
	}
}

func TestSplitMediaType(t *testing.T) {
	for in, want := range map[string]string{
		"text/plain":                     "text/plain",
		"multipart/ mumble mumble":       "multipart/mumble",
		"text":                           "",
		"/plain":                         "",
		"text/":                          "",
		"te xt/plain":                    "",
		"application/vnd.ms-excel":       "application/vnd.ms-excel",
		"message/rfc822 (forwarded one)": "message/rfc822",
	} {
		typ, sub, ok := splitMediaType(stripComments(in))
		got := ""
		if ok {
			got = typ + "/" + sub
		}
		if got != want {
			t.Errorf("splitMediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStripComments(t *testing.T) {
	for in, want := range map[string]string{
		`a (b (c) d) e`:     "a   e",
		`"(not) a comment"`: `"(not) a comment"`,
		`x (unterminated`:   "x ",
		`a (\) still) b`:    "a   b",
	} {
		if got := stripComments(in); got != want {
			t.Errorf("stripComments(%q) = %q, want %q", in, got, want)
		}
	}
}
