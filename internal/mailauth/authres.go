package mailauth

import (
	"bytes"
	"io"
	"strings"
)

// renderResults writes the Authentication-Results field of a verdict (RFC
// 8601 §2.2): our authserv-id, then one resinfo per line: spf (MAIL FROM,
// or HELO for the null sender, and HELO), one dkim per signature (or
// dkim=none), dmarc.
func renderResults(authservID string, v Verdict) string {
	var parts []string
	if v.SPF.NullSender {
		parts = append(parts, "spf="+v.SPF.Helo.Result+prop("smtp.helo", v.SPF.Helo.Domain))
	} else {
		parts = append(parts, "spf="+v.SPF.MailFrom.Result+prop("smtp.mailfrom", v.SPF.MailFrom.Domain))
		if v.SPF.Helo.Domain != "" {
			parts = append(parts, "spf="+v.SPF.Helo.Result+prop("smtp.helo", v.SPF.Helo.Domain))
		}
	}
	if len(v.DKIM) == 0 {
		parts = append(parts, "dkim=none")
	}
	for _, d := range v.DKIM {
		s := "dkim=" + d.Result
		if d.Result != DKIMPass && d.Detail != "" {
			s += " reason=" + quote(d.Detail)
		}
		s += prop("header.d", d.Domain) + prop("header.s", d.Selector) + prop("header.a", d.Algorithm) + prop("header.b", d.BPrefix)
		parts = append(parts, s)
	}
	dm := "dmarc=" + v.DMARC.Result
	if v.DMARC.Policy != "" {
		// The comment that large receivers write: the domain's policy and
		// our disposition.
		dm += " (p=" + v.DMARC.Policy + " dis=" + string(v.Action) + ")"
	}
	dm += prop("header.from", v.DMARC.From)
	parts = append(parts, dm)
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(authservID)
	for _, p := range parts {
		b.WriteString(";\r\n\t")
		b.WriteString(p)
	}
	b.WriteString("\r\n")
	return b.String()
}

// prop renders " name=value", or "" for an empty value. A value that is
// not a plain domain-name-like token is quoted (RFC 8601 §2.2 pvalue).
func prop(name, value string) string {
	if value == "" {
		return ""
	}
	return " " + name + "=" + pvalue(value)
}

func pvalue(v string) string {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_+/@", c) >= 0) {
			return quote(v)
		}
	}
	return v
}

// quote makes a quoted-string (RFC 5322 §3.2.4) of printable ASCII,
// dropping anything else, at most 100 characters.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	n := 0
	for i := 0; i < len(s) && n < 100; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			continue
		}
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
		n++
	}
	b.WriteByte('"')
	return b.String()
}

// AuthservID returns the authserv-id of an Authentication-Results value
// (RFC 8601 §2.2): the first value after optional comments and white
// space, unquoted. ok is false when there is none.
func AuthservID(value string) (id string, ok bool) {
	s := skipCFWS(value)
	if s == "" {
		return "", false
	}
	if s[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String(), b.Len() > 0
			default:
				b.WriteByte(s[i])
			}
		}
		return "", false
	}
	end := strings.IndexAny(s, "; \t\r\n(")
	if end < 0 {
		end = len(s)
	}
	return s[:end], end > 0
}

// skipCFWS removes leading white space and comments (RFC 5322 §3.2.2),
// which may nest.
func skipCFWS(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if !strings.HasPrefix(s, "(") {
			return s
		}
		depth := 0
		i := 0
	comment:
		for ; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					break comment
				}
			}
		}
		if i >= len(s) {
			return ""
		}
		s = s[i+1:]
	}
}

// forged reports whether a complete (or at least begun) header field is
// an Authentication-Results field claiming our authserv-id.
func forged(field []byte, authservID string) bool {
	colon := bytes.IndexByte(field, ':')
	if colon < 0 {
		return false
	}
	name := strings.TrimRight(string(field[:colon]), " \t")
	if !strings.EqualFold(name, "Authentication-Results") {
		return false
	}
	id, ok := AuthservID(string(field[colon+1:]))
	return ok && strings.EqualFold(strings.TrimSuffix(id, "."), strings.TrimSuffix(authservID, "."))
}

// maxFieldBuffer bounds how much of one header field ResultsFilter holds
// before it decides on what it has (the authserv-id comes first).
const maxFieldBuffer = 64 << 10

// ResultsFilter copies a message to an underlying writer, leaving out of
// its header section every Authentication-Results field that names our
// authserv-id: RFC 8601 §5 requires a border MTA to remove them, since
// they can only be forgeries. Everything else, the body included, passes
// through unchanged. Write the whole message, then call Flush.
type ResultsFilter struct {
	w        io.Writer
	id       string
	body     bool   // past the header section
	lineHead bool   // the next octet starts a line
	crHead   bool   // a line began with CR, not yet known to be CRLF
	mode     int    // what to do with the current field's octets
	field    []byte // the current field, while buffering
}

const (
	buffering = iota
	passing
	dropping
)

// NewResultsFilter returns a filter that writes to w and removes forged
// results for authservID (our host name).
func NewResultsFilter(w io.Writer, authservID string) *ResultsFilter {
	return &ResultsFilter{w: w, id: authservID, lineHead: true, mode: passing}
}

// Write implements io.Writer.
func (f *ResultsFilter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if f.body {
			if _, err := f.w.Write(p); err != nil {
				return 0, err
			}
			return n, nil
		}
		if f.lineHead {
			var err error
			if p, err = f.lineStart(p); err != nil {
				return 0, err
			}
			continue
		}
		// Inside a line: up to and including its LF belongs to the
		// current field.
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk, f.lineHead = p[:i+1], true
		}
		if err := f.emit(chunk); err != nil {
			return 0, err
		}
		p = p[len(chunk):]
	}
	return n, nil
}

// lineStart classifies a new line by its first octet(s): a continuation
// of the current field, the empty line ending the header section, or a
// new field (which settles the previous one).
func (f *ResultsFilter) lineStart(p []byte) ([]byte, error) {
	if f.crHead {
		f.crHead = false
		if p[0] == '\n' {
			return p[1:], f.endHeader([]byte("\r\n"))
		}
		// A line starting with a bare CR: a (malformed) new field.
		if err := f.newField(); err != nil {
			return nil, err
		}
		f.lineHead = false
		return p, f.emit([]byte("\r"))
	}
	switch p[0] {
	case '\r':
		f.crHead = true
		return p[1:], nil
	case '\n':
		return p[1:], f.endHeader([]byte("\n"))
	case ' ', '\t':
		f.lineHead = false // folded: same field
		return p, nil
	}
	f.lineHead = false
	return p, f.newField()
}

// newField settles the field before and starts buffering a new one.
func (f *ResultsFilter) newField() error {
	if err := f.settle(); err != nil {
		return err
	}
	f.mode, f.field = buffering, f.field[:0]
	return nil
}

// emit handles octets of the current field.
func (f *ResultsFilter) emit(b []byte) error {
	switch f.mode {
	case passing:
		_, err := f.w.Write(b)
		return err
	case dropping:
		return nil
	}
	f.field = append(f.field, b...)
	if len(f.field) > maxFieldBuffer {
		// Too long to hold: decide on its beginning, then stream the rest.
		return f.settle()
	}
	return nil
}

// settle decides on a buffered field: written out, or dropped.
func (f *ResultsFilter) settle() error {
	if f.mode != buffering {
		return nil
	}
	if forged(f.field, f.id) {
		f.mode = dropping
	} else {
		f.mode = passing
		if _, err := f.w.Write(f.field); err != nil {
			return err
		}
	}
	if cap(f.field) > 4<<10 {
		f.field = nil // do not keep a long field's memory
	} else {
		f.field = f.field[:0]
	}
	return nil
}

func (f *ResultsFilter) endHeader(blank []byte) error {
	if err := f.settle(); err != nil {
		return err
	}
	f.body = true
	_, err := f.w.Write(blank)
	return err
}

// Flush writes what is still held: the last field of a message that has
// no body, and a final lone CR.
func (f *ResultsFilter) Flush() error {
	if f.body {
		return nil
	}
	if f.crHead {
		f.crHead = false
		if err := f.newField(); err != nil {
			return err
		}
		if err := f.emit([]byte("\r")); err != nil {
			return err
		}
	}
	return f.settle()
}
