package message

import "strings"

// A small tokenizer for RFC 5322 structured field bodies (§3.2): atoms,
// quoted strings, domain literals and specials, with CFWS skipped. It is
// deliberately lenient: 8-bit octets are atom text (RFC 6532 §3.2 allows
// UTF-8 there), unterminated quotes and comments run to the end.

type tokKind int

const (
	tEOF tokKind = iota
	tAtom
	tQuoted  // text is the content, quoted-pairs resolved
	tLiteral // text is "[...]" as written, white space removed
	tSpecial // one of <>@,;:. and stray )]\
)

type token struct {
	kind        tokKind
	text        string
	spaceBefore bool // white space or a comment preceded the token
}

func (t token) is(c byte) bool {
	return t.kind == tSpecial && len(t.text) == 1 && t.text[0] == c
}

type lexer struct {
	s       string
	i       int
	comment string // text of the last comment skipped
}

// atEnd skips CFWS and reports whether the input is used up.
func (lx *lexer) atEnd() bool {
	lx.skipCFWS()
	return lx.i >= len(lx.s)
}

// skipCFWS skips white space and comments; it reports whether it skipped
// anything.
func (lx *lexer) skipCFWS() bool {
	start := lx.i
	for lx.i < len(lx.s) {
		switch c := lx.s[lx.i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			lx.i++
		case c == '(':
			lx.comment = lx.readComment()
		default:
			return lx.i > start
		}
	}
	return lx.i > start
}

// readComment reads a (possibly nested) comment at lx.i and returns its
// text without the outer parentheses.
func (lx *lexer) readComment() string {
	depth := 0
	start := lx.i + 1
	for lx.i < len(lx.s) {
		c := lx.s[lx.i]
		lx.i++
		switch c {
		case '\\':
			lx.i++
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return unescapeQP(lx.s[start : lx.i-1])
			}
		}
	}
	if lx.i > len(lx.s) {
		lx.i = len(lx.s)
	}
	return unescapeQP(lx.s[min(start, len(lx.s)):])
}

// unescapeQP resolves quoted-pairs (RFC 5322 §3.2.1).
func unescapeQP(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (lx *lexer) next() token {
	sp := lx.skipCFWS()
	if lx.i >= len(lx.s) {
		return token{kind: tEOF, spaceBefore: sp}
	}
	c := lx.s[lx.i]
	switch {
	case c == '"':
		return token{kind: tQuoted, text: lx.readQuoted(), spaceBefore: sp}
	case c == '[':
		end := strings.IndexByte(lx.s[lx.i:], ']')
		if end < 0 {
			end = len(lx.s) - lx.i - 1
		}
		lit := lx.s[lx.i : lx.i+end+1]
		lx.i += end + 1
		return token{kind: tLiteral, text: strings.Join(strings.Fields(lit), ""), spaceBefore: sp}
	case strings.IndexByte("<>@,;:.)]\\", c) >= 0:
		lx.i++
		return token{kind: tSpecial, text: lx.s[lx.i-1 : lx.i], spaceBefore: sp}
	}
	start := lx.i
	for lx.i < len(lx.s) && isAtomOctet(lx.s[lx.i]) {
		lx.i++
	}
	if lx.i == start {
		// Cannot happen with isAtomOctet as it is; never loop on it.
		lx.i++
		return token{kind: tSpecial, text: lx.s[start:lx.i], spaceBefore: sp}
	}
	return token{kind: tAtom, text: lx.s[start:lx.i], spaceBefore: sp}
}

// isAtomOctet reports whether c continues an atom. Control characters are
// not atext (RFC 5322 §3.2.3) but are kept as atom text rather than lost.
func isAtomOctet(c byte) bool {
	return c != ' ' && c != '\t' && c != '\r' && c != '\n' && strings.IndexByte(`"()[]<>@,;:.\`, c) < 0
}

// readQuoted reads a quoted-string at lx.i and returns its content.
func (lx *lexer) readQuoted() string {
	lx.i++ // opening quote
	var b strings.Builder
	for lx.i < len(lx.s) {
		c := lx.s[lx.i]
		lx.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if lx.i < len(lx.s) {
				b.WriteByte(lx.s[lx.i])
				lx.i++
			}
		case '\r', '\n':
			// folding inside a quoted-string is removed
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
