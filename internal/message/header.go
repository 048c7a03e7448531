package message

import (
	"strings"
)

// Field is one header field (RFC 5322 §2.2) exactly as it appears in the
// message. A line in the header section that is not a field (no colon, or a
// name with octets outside RFC 5322 §3.6.8 ftext) is kept as a Field with an
// empty Name, so that the raw bytes and their order survive; Get and Values
// skip such lines, as mime4j and Dovecot do.
type Field struct {
	// Name is the field name as written, without the colon and without the
	// whitespace that obsolete syntax allows before it (RFC 5322 §4.5).
	Name string
	// Value is everything after the colon up to, not including, the line
	// break that ends the field; folding line breaks are kept.
	Value string
	// Raw is the whole field from the first octet of its name through the
	// final line break (which is absent only at the end of input).
	Raw string
}

// Unfolded returns the field value unfolded (RFC 5322 §2.2.3) and without
// leading and trailing white space. RFC 2047 encoded-words are left as they
// are.
func (f Field) Unfolded() string {
	return trimWSP(Unfold(f.Value))
}

// Header is a header section: its fields in order.
type Header []Field

// Get returns the unfolded value of the first field named name (compared
// case-insensitively, RFC 5322 §1.2.2), or "" if there is none.
func (h Header) Get(name string) string {
	for _, f := range h {
		if f.Name != "" && strings.EqualFold(f.Name, name) {
			return f.Unfolded()
		}
	}
	return ""
}

// Has reports whether h has a field named name.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if f.Name != "" && strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns the unfolded values of all fields named name, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if f.Name != "" && strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Unfolded())
		}
	}
	return vs
}

// ParseHeader splits the header section at the start of b into fields. The
// section ends at the first empty line (RFC 5322 §2.1), which is included in
// it, or at the end of b. bodyOffset is where the body starts. Lines may end
// in CRLF or bare LF. ParseHeader never fails: what is not a field is kept
// as a nameless Field (see Field).
func ParseHeader(b []byte) (h Header, bodyOffset int) {
	end := headerEnd(b)
	block := string(b[:end])
	splitFields(block, func(name, value, raw string) {
		h = append(h, Field{Name: name, Value: value, Raw: raw})
	})
	return h, end
}

// headerEnd returns the length of the header section at the start of b,
// blank line included.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] != '\n' {
			j++
		}
		if j < len(b) {
			j++
		}
		if isBlankLine(b[i:j]) {
			return j
		}
		i = j
	}
	return len(b)
}

// splitFields calls fn for every field in a header block, in order. The
// block may include the terminating blank line, which is not reported.
// Continuation lines (starting with SP or HTAB) belong to the line before;
// a continuation line at the very start is reported as a nameless field.
func splitFields(block string, fn func(name, value, raw string)) {
	start, end := 0, len(block)
	inField := false
	for i := 0; i < len(block); {
		j := strings.IndexByte(block[i:], '\n')
		if j < 0 {
			j = len(block)
		} else {
			j += i + 1
		}
		ln := block[i:j]
		cont := ln[0] == ' ' || ln[0] == '\t'
		if !cont && (ln == "\n" || ln == "\r\n") {
			end = i
			break
		}
		if !cont || !inField {
			if inField {
				emitField(block[start:i], fn)
			}
			start, inField = i, true
		}
		i = j
		if i == len(block) {
			emitField(block[start:i], fn)
			inField = false
		}
	}
	if inField {
		emitField(block[start:end], fn)
	}
}

// emitField splits one raw field into name and value and reports it.
func emitField(raw string, fn func(name, value, raw string)) {
	colon := strings.IndexByte(raw, ':')
	value := ""
	name := ""
	if colon > 0 {
		name = strings.TrimRight(raw[:colon], " \t")
		if !validFieldName(name) {
			name = ""
		} else {
			value = trimEOLString(raw[colon+1:])
		}
	}
	fn(name, value, raw)
}

// validFieldName reports whether s is an RFC 5322 §3.6.8 field-name: one or
// more printable US-ASCII characters other than colon.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// Unfold removes the line breaks of folding (RFC 5322 §2.2.3). Bare LF and
// CR are removed as well: neither can legally appear in a field body.
func Unfold(s string) string {
	if strings.IndexAny(s, "\r\n") < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\r' && c != '\n' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// trimEOLString returns s without its final LF or CRLF.
func trimEOLString(s string) string {
	if strings.HasSuffix(s, "\n") {
		s = s[:len(s)-1]
		s = strings.TrimSuffix(s, "\r")
	}
	return s
}

func trimWSP(s string) string {
	return strings.Trim(s, " \t")
}

// maxHeaderLine is the line length that generated header fields keep to
// (RFC 5322 §2.1.1: SHOULD be no more than 78 characters).
const maxHeaderLine = 78

// FormatField renders a header field, CRLF-terminated, folded at white space
// so that lines stay within 78 octets where the value allows it (RFC 5322
// §2.1.1, §2.2.3). Words with non-ASCII characters are turned into RFC 2047
// encoded-words, which suits unstructured fields (Subject, Comments, ...);
// structured values must be made ASCII by the caller (see FormatAddressList).
func FormatField(name, value string) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 8)
	b.WriteString(name)
	b.WriteString(":")
	col := len(name) + 1
	value = trimWSP(Unfold(value))
	if needsEncoding(value) {
		b.WriteString(" ")
		b.WriteString(encodeText(value, col+1))
	} else {
		foldWords(&b, value, col)
	}
	b.WriteString("\r\n")
	return b.String()
}

// foldWords writes s, a sequence of words separated by white space, starting
// at column col, breaking lines at white space when the next word would pass
// maxHeaderLine. A word longer than a line stays whole (RFC 5322 allows 998).
func foldWords(b *strings.Builder, s string, col int) {
	for _, w := range strings.Fields(s) {
		if col+1+len(w) > maxHeaderLine && col > 1 {
			b.WriteString("\r\n")
			col = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		col += 1 + len(w)
	}
}

// ParseMsgID returns the first msg-id (RFC 5322 §3.6.4) in s in its
// canonical form "<id-left@id-right>": comments and the white space that
// obsolete syntax (§4.5.4) allows inside are removed. A value without angle
// brackets that looks like "left@right" is accepted and bracketed, as seen
// from some broken mailers. ok is false if s holds no msg-id.
func ParseMsgID(s string) (id string, ok bool) {
	ids := parseMsgIDs(s, 1)
	if len(ids) == 0 {
		return "", false
	}
	return ids[0], true
}

// ParseMsgIDList returns every msg-id in a References or In-Reply-To value
// (RFC 5322 §3.6.4), in order, each in the form ParseMsgID returns.
func ParseMsgIDList(s string) []string {
	return parseMsgIDs(s, -1)
}

func parseMsgIDs(s string, limit int) []string {
	s = stripComments(Unfold(s))
	var ids []string
	for rest := s; limit < 0 || len(ids) < limit; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		inner := strings.Join(strings.Fields(rest[i+1:i+j]), "")
		if inner != "" && !strings.ContainsRune(inner, '<') {
			ids = append(ids, "<"+inner+">")
		}
		rest = rest[i+j+1:]
	}
	if len(ids) == 0 && !strings.ContainsAny(s, "<>") {
		for _, w := range strings.Fields(s) {
			if limit >= 0 && len(ids) >= limit {
				break
			}
			if at := strings.IndexByte(w, '@'); at > 0 && at < len(w)-1 {
				ids = append(ids, "<"+strings.Trim(w, ",;")+">")
			}
		}
	}
	return ids
}
