package message

import (
	"sort"
	"strconv"
	"strings"
)

// Param is one MIME parameter (RFC 2045 §5.1) of a Content-Type or
// Content-Disposition field. Name is in lower case. Value is the value with
// quoting removed; RFC 2231 continuations are joined and RFC 2231 charsets
// converted, and raw 8-bit octets are converted as by DecodeHeader, so Value
// is always valid UTF-8. RFC 2047 encoded-words that some mailers put inside
// quoted values (not allowed by RFC 2047 §5) are left as they are; see
// Part.Filename for the decoded file name.
type Param struct {
	Name  string // lower case
	Value string // decoded, UTF-8
}

// paramValue returns the value of the named parameter, or "".
func paramValue(ps []Param, name string) string {
	for _, p := range ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// parseParamField parses a value of the form `head *(";" attribute "=" value)`
// as in Content-Type and Content-Disposition (RFC 2045 §5.1, RFC 2183 §2).
// Comments are removed (RFC 822 §3.4.3); head is returned in lower case.
// Parsing is lenient: unquoted values may hold any octet but ";" and
// white space, duplicate parameters keep the first, a parameter without "="
// is dropped.
func parseParamField(v string) (head string, params []Param) {
	v = stripComments(v)
	i := strings.IndexByte(v, ';')
	if i < 0 {
		return strings.ToLower(strings.TrimSpace(v)), nil
	}
	head = strings.ToLower(strings.TrimSpace(v[:i]))
	var segs []paramSeg
	rest := v[i+1:]
	for rest != "" {
		var name, val string
		name, val, rest = nextParam(rest)
		if name == "" {
			continue
		}
		segs = append(segs, splitParamName(name, val))
	}
	return head, joinParams(segs)
}

// nextParam reads one "name=value" and what follows its ";".
func nextParam(s string) (name, val, rest string) {
	eq := strings.IndexAny(s, "=;")
	if eq < 0 {
		return "", "", ""
	}
	if s[eq] == ';' {
		return "", "", s[eq+1:]
	}
	name = strings.ToLower(strings.TrimSpace(s[:eq]))
	s = strings.TrimLeft(s[eq+1:], " \t\r\n")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		j := 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			if s[j] != '\r' && s[j] != '\n' {
				b.WriteByte(s[j])
			}
		}
		rest = s[min(j+1, len(s)):]
		if k := strings.IndexByte(rest, ';'); k >= 0 {
			rest = rest[k+1:]
		} else {
			rest = ""
		}
		return name, b.String(), rest
	}
	end := strings.IndexByte(s, ';')
	if end < 0 {
		end = len(s)
		rest = ""
	} else {
		rest = s[end+1:]
	}
	return name, strings.TrimSpace(Unfold(s[:end])), rest
}

// paramSeg is one parameter as written, RFC 2231 parts split out.
type paramSeg struct {
	name     string // without "*N" and "*"
	section  int    // continuation number (RFC 2231 §3), -1 if none
	extended bool   // name ended in "*": charset'lang'%XX (RFC 2231 §4)
	value    string
}

func splitParamName(name, val string) paramSeg {
	s := paramSeg{name: name, section: -1, value: val}
	if strings.HasSuffix(s.name, "*") {
		s.extended = true
		s.name = s.name[:len(s.name)-1]
	}
	if i := strings.LastIndexByte(s.name, '*'); i > 0 {
		if n, err := strconv.Atoi(s.name[i+1:]); err == nil && n >= 0 && n < 1000 {
			s.section = n
			s.name = s.name[:i]
		}
	}
	return s
}

// joinParams assembles RFC 2231 continuations and charsets into Params,
// in order of first appearance.
func joinParams(segs []paramSeg) []Param {
	var out []Param
	seen := map[string]bool{}
	for _, s := range segs {
		if seen[s.name] {
			continue
		}
		seen[s.name] = true
		var parts []paramSeg
		for _, t := range segs {
			if t.name == s.name {
				parts = append(parts, t)
			}
		}
		out = append(out, Param{Name: s.name, Value: assembleParam(parts)})
	}
	return out
}

func assembleParam(parts []paramSeg) string {
	if len(parts) == 1 && parts[0].section < 0 && !parts[0].extended {
		return decodeWords8bit(parts[0].value)
	}
	// A plain "name=" next to "name*0=" pieces: prefer the RFC 2231 form.
	var cont []paramSeg
	for _, p := range parts {
		if p.section >= 0 || p.extended {
			cont = append(cont, p)
		}
	}
	if len(cont) == 0 {
		return decodeWords8bit(parts[0].value)
	}
	sort.SliceStable(cont, func(i, j int) bool { return cont[i].section < cont[j].section })
	charset := ""
	var raw []byte
	for k, p := range cont {
		if k > 0 && p.section == cont[k-1].section {
			continue // duplicate section number
		}
		v := p.value
		if p.extended {
			if k == 0 {
				// RFC 2231 §4: charset'language'value in the first section.
				if a := strings.IndexByte(v, '\''); a >= 0 {
					if b := strings.IndexByte(v[a+1:], '\''); b >= 0 {
						charset = v[:a]
						v = v[a+1+b+1:]
					}
				}
			}
			raw = appendPercentDecoded(raw, v)
		} else {
			raw = append(raw, v...)
		}
	}
	return decodeCharset(charset, raw)
}

// decodeWords8bit converts the raw octets of a parameter value to UTF-8
// without touching encoded-words.
func decodeWords8bit(v string) string {
	if isPrintableASCII(v) {
		return v
	}
	return decodeCharset("", []byte(v))
}

func appendPercentDecoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		dst = append(dst, s[i])
	}
	return dst
}

// stripComments replaces RFC 5322 §3.2.2 comments (nested, with
// quoted-pairs) outside quoted strings and domain literals by a space.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	depth := 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if c == '"' {
				inQuote = false
			}
		case depth > 0:
			switch c {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					b.WriteByte(' ')
				}
			}
		case c == '(':
			depth = 1
		case c == '"':
			inQuote = true
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitMediaType splits "type/subtype" (lower case) into its halves and
// reports whether it is a valid RFC 2045 §5.1 media type.
func splitMediaType(head string) (typ, sub string, ok bool) {
	i := strings.IndexByte(head, '/')
	if i <= 0 || i == len(head)-1 {
		return "", "", false
	}
	// Lenient: "multipart/mixed garbage" is multipart/mixed, as Postfix
	// and Dovecot read it.
	typ = strings.TrimSpace(head[:i])
	if f := strings.Fields(head[i+1:]); len(f) > 0 {
		sub = f[0]
	}
	if !isToken(typ) || !isToken(sub) {
		return "", "", false
	}
	return typ, sub, true
}

// isToken reports whether s is an RFC 2045 §5.1 token.
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
