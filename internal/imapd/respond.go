package imapd

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// resp builds response text (RFC 9051 §7, §9 response syntax) by
// appending to a byte slice; the session writes it out.
type resp struct {
	b []byte
	// utf8 allows UTF-8 in quoted strings (IMAP4rev2, RFC 9051 §4.3);
	// an IMAP4rev1 client gets 8-bit text as a literal.
	utf8 bool
}

func (r *resp) reset() { r.b = r.b[:0] }

func (r *resp) raw(s string) *resp { r.b = append(r.b, s...); return r }

func (r *resp) byte(c byte) *resp { r.b = append(r.b, c); return r }

func (r *resp) sp() *resp { r.b = append(r.b, ' '); return r }

func (r *resp) num(n uint64) *resp { r.b = strconv.AppendUint(r.b, n, 10); return r }

func (r *resp) num32(n uint32) *resp { return r.num(uint64(n)) }

func (r *resp) int(n int) *resp { r.b = strconv.AppendInt(r.b, int64(n), 10); return r }

func (r *resp) crlf() *resp { r.b = append(r.b, '\r', '\n'); return r }

// quotable reports whether s can be sent as a quoted string.
func (r *resp) quotable(s string) bool {
	if len(s) > 4000 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
		if c >= 0x80 && !r.utf8 {
			return false
		}
	}
	return !r.utf8 || utf8.ValidString(s)
}

// str sends s as a quoted string when it can, else as a literal.
func (r *resp) str(s string) *resp {
	if !r.quotable(s) {
		r.b = append(r.b, '{')
		r.b = strconv.AppendInt(r.b, int64(len(s)), 10)
		r.b = append(r.b, '}', '\r', '\n')
		r.b = append(r.b, s...)
		return r
	}
	r.b = append(r.b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			r.b = append(r.b, '\\')
		}
		r.b = append(r.b, s[i])
	}
	r.b = append(r.b, '"')
	return r
}

// nstr sends NIL for "" (an absent field), else a string.
func (r *resp) nstr(s string) *resp {
	if s == "" {
		return r.raw("NIL")
	}
	return r.str(s)
}

// astr sends s as an atom when it is one (and not NIL), else a string.
func (r *resp) astr(s string) *resp {
	if s == "" || strings.EqualFold(s, "NIL") {
		return r.str(s)
	}
	for i := 0; i < len(s); i++ {
		if !isAstringChar(s[i]) {
			return r.str(s)
		}
	}
	return r.raw(s)
}

// mailbox sends a mailbox name: modified UTF-7 for IMAP4rev1 clients,
// UTF-8 for those that enabled IMAP4rev2 (RFC 9051 §5.1).
func (r *resp) mailbox(name string) *resp {
	if !r.utf8 {
		name = encodeMUTF7(name)
	}
	return r.astr(name)
}

// dateTime sends an IMAP date-time, e.g. "17-Jul-1996 02:44:25 -0700".
func (r *resp) dateTime(t time.Time) *resp {
	r.b = append(r.b, '"')
	r.b = t.AppendFormat(r.b, "_2-Jan-2006 15:04:05 -0700")
	r.b = append(r.b, '"')
	return r
}
