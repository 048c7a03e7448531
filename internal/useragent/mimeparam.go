package useragent

import (
	"strconv"
	"strings"
)

// param is one MIME parameter to write.
type param struct{ name, value string }

// mimeField renders a Content-Type or Content-Disposition field with its
// parameters, each on its own folded line (RFC 5322 §2.2.3), so that no
// line grows long however long a file name is. A value that is a token
// goes as it is, other ASCII values quoted (RFC 2045 §5.1); a value with
// non-ASCII characters, or too long for one line, as an RFC 2231 extended
// value (charset utf-8, octets percent-encoded) split into continuations
// name*0*, name*1*, ... (§3, §4).
func mimeField(name, value string, params []param) string {
	var b strings.Builder
	b.WriteString(name + ": " + value)
	for _, p := range params {
		for _, piece := range paramPieces(p) {
			b.WriteString(";\r\n " + piece)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// maxParamLine is the longest parameter piece; with the fold's leading
// space and ";" a line stays within RFC 5322's 78 octets.
const maxParamLine = 72

func paramPieces(p param) []string {
	if isASCII(p.value) && len(p.name)+len(p.value)+3 <= maxParamLine {
		if isToken(p.value) {
			return []string{p.name + "=" + p.value}
		}
		return []string{p.name + "=" + quoteParam(p.value)}
	}
	enc := pctEncode(p.value)
	if len(p.name)+2+len("utf-8''")+len(enc) <= maxParamLine {
		return []string{p.name + "*=utf-8''" + enc}
	}
	var out []string
	for i := 0; len(enc) > 0; i++ {
		prefix := p.name + "*" + strconv.Itoa(i) + "*="
		if i == 0 {
			prefix += "utf-8''"
		}
		n := max(maxParamLine-len(prefix), 3)
		if n >= len(enc) {
			n = len(enc)
		} else {
			// Do not split a %XX escape.
			if j := strings.LastIndexByte(enc[:n], '%'); j >= 0 && j > n-3 {
				n = j
			}
		}
		out = append(out, prefix+enc[:n])
		enc = enc[n:]
	}
	return out
}

// isToken reports whether s is an RFC 2045 §5.1 token: printable ASCII
// without space or tspecials.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// quoteParam quotes an ASCII value, escaping '"' and '\' (RFC 5322
// §3.2.4); control characters become spaces.
func quoteParam(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// pctEncode writes s in RFC 2231 §7 form: attribute-chars as they are,
// every other octet as %XX.
func pctEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && strings.IndexByte(`*'%()<>@,;:\"/[]?=`, c) < 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
