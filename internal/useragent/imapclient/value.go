package imapclient

import (
	"strconv"
	"strings"
)

// Kind is the syntactic kind of a Value (RFC 3501 §4).
type Kind uint8

// The kinds of data in a response.
const (
	// Atom is an atom or a number (§4.1, §4.2), a flag ("\Seen") or a
	// FETCH item name with its section ("BODY[1.2]<0>").
	Atom Kind = iota + 1
	// String is a quoted string or a literal (§4.3); Str holds its octets.
	String
	// List is a parenthesized list (§4.4).
	List
	// Nil is the special atom NIL (§4.5).
	Nil
)

// Value is one datum of a response: an atom, a string, NIL or a list.
type Value struct {
	Kind Kind
	// Str is the atom's text or the string's octets.
	Str string
	// List holds the elements of a List.
	List []Value
}

// IsNil reports whether v is NIL.
func (v Value) IsNil() bool { return v.Kind == Nil }

// IsAtom reports whether v is the atom name, compared case-insensitively.
func (v Value) IsAtom(name string) bool { return v.Kind == Atom && strings.EqualFold(v.Str, name) }

// AString returns the text of an atom or string (RFC 3501 astring) and
// whether v is one.
func (v Value) AString() (string, bool) {
	if v.Kind == Atom || v.Kind == String {
		return v.Str, true
	}
	return "", false
}

// NString returns the text of a string, "" for NIL (RFC 3501 nstring), and
// whether v was one of those (an atom is accepted as well, leniently).
func (v Value) NString() (string, bool) {
	if v.Kind == Nil {
		return "", true
	}
	return v.AString()
}

// Number returns v as an unsigned 32-bit number (RFC 3501 §4.2 nz-number,
// number) and whether it is one.
func (v Value) Number() (uint32, bool) {
	if v.Kind != Atom {
		return 0, false
	}
	n, err := strconv.ParseUint(v.Str, 10, 32)
	return uint32(n), err == nil
}

// Number64 returns v as a 63-bit number (RFC 9051 number64) and whether it
// is one.
func (v Value) Number64() (int64, bool) {
	if v.Kind != Atom {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Str, 10, 64)
	return n, err == nil && n >= 0
}

// String renders v in IMAP syntax for error messages and tests: atoms as
// they are, strings quoted (or as literals when they cannot be quoted).
func (v Value) String() string {
	var b strings.Builder
	v.render(&b)
	return b.String()
}

func (v Value) render(b *strings.Builder) {
	switch v.Kind {
	case Atom:
		b.WriteString(v.Str)
	case Nil:
		b.WriteString("NIL")
	case String:
		if quotable(v.Str) {
			writeQuoted(b, v.Str)
		} else {
			b.WriteString("{" + strconv.Itoa(len(v.Str)) + "}\r\n" + v.Str)
		}
	case List:
		b.WriteByte('(')
		for i, e := range v.List {
			if i > 0 {
				b.WriteByte(' ')
			}
			e.render(b)
		}
		b.WriteByte(')')
	}
}

// quotable reports whether s can be sent as a quoted string: RFC 3501 §4.3
// forbids CR, LF and NUL in one, and 8-bit octets are only allowed with
// UTF8=ACCEPT, which this client does not enable. Long strings go as
// literals, which servers handle better than huge lines.
func quotable(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\r' || c == '\n' || c >= 0x80 {
			return false
		}
	}
	return true
}

// writeQuoted writes s as a quoted string, escaping '"' and '\' (RFC 3501
// §9 quoted-specials).
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
