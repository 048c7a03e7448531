package imapd

import (
	"testing"
	"time"
)

func TestRespStrings(t *testing.T) {
	for _, c := range []struct {
		utf8 bool
		fn   func(r *resp, s string) *resp
		in   string
		want string
	}{
		{false, (*resp).str, `a"b\c`, `"a\"b\\c"`},
		{false, (*resp).str, "line\r\nbreak", "{11}\r\nline\r\nbreak"},
		{false, (*resp).str, "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9"},
		{true, (*resp).str, "caf\xc3\xa9", "\"caf\xc3\xa9\""},
		{true, (*resp).str, "bad\xff", "{4}\r\nbad\xff"},
		{false, (*resp).nstr, "", "NIL"},
		{false, (*resp).astr, "INBOX", "INBOX"},
		{false, (*resp).astr, "nil", `"nil"`},
		{false, (*resp).astr, "a b", `"a b"`},
		{false, (*resp).astr, "", `""`},
		{false, (*resp).mailbox, "Zürich", "Z&APw-rich"},
		{true, (*resp).mailbox, "Zürich", "\"Zürich\""},
	} {
		r := &resp{utf8: c.utf8}
		if got := string(c.fn(r, c.in).b); got != c.want {
			t.Errorf("%q (utf8 %v): %q, want %q", c.in, c.utf8, got, c.want)
		}
	}
}

func TestRespDateTime(t *testing.T) {
	r := &resp{}
	r.dateTime(time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600)))
	if got := string(r.b); got != `" 7-Jul-1996 02:44:25 -0700"` {
		t.Errorf("%s", got)
	}
}
