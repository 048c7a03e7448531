package imapclient

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"

	"posthorn/internal/message"
)

// parseBody reads BODYSTRUCTURE or BODY (RFC 3501 §7.4.2, RFC 9051 §7.5.2)
// into a message.Part tree. Types are lower-cased and parameters decoded,
// as message.Part documents. Extension data a server leaves out stays zero.
func parseBody(v Value, depth int) (*message.Part, bool) {
	if v.Kind != List || len(v.List) == 0 || depth > message.MaxDepth*2 {
		return nil, false
	}
	f := v.List
	if f[0].Kind == List {
		return parseMultipart(f, depth)
	}
	return parseSinglePart(f, depth)
}

// parseMultipart reads body-type-mpart: the parts, the subtype, then
// optionally params, disposition, language and location.
func parseMultipart(f []Value, depth int) (*message.Part, bool) {
	p := &message.Part{Type: "multipart"}
	i := 0
	for ; i < len(f) && f[i].Kind == List; i++ {
		c, ok := parseBody(f[i], depth+1)
		if !ok {
			return nil, false
		}
		p.Parts = append(p.Parts, c)
	}
	if i >= len(f) {
		return nil, false
	}
	sub, ok := f[i].AString()
	if !ok {
		return nil, false
	}
	p.Subtype = strings.ToLower(sub)
	i++
	if i < len(f) {
		if p.Params, ok = parseParams(f[i]); !ok {
			return nil, false
		}
		i++
	}
	return p, parseExtension(p, f[i:])
}

// parseSinglePart reads body-type-1part: basic, text (with lines) or
// message/rfc822 (with envelope, body and lines), then body-ext-1part.
func parseSinglePart(f []Value, depth int) (*message.Part, bool) {
	if len(f) < 7 {
		return nil, false
	}
	var s [5]string
	for i, idx := range []int{0, 1, 3, 4, 5} {
		var ok bool
		if s[i], ok = f[idx].NString(); !ok {
			return nil, false
		}
	}
	p := &message.Part{
		Type: strings.ToLower(s[0]), Subtype: strings.ToLower(s[1]),
		ID: s[2], Description: s[3], Encoding: strings.ToLower(s[4]),
	}
	var ok bool
	if p.Params, ok = parseParams(f[2]); !ok {
		return nil, false
	}
	if p.Size, ok = f[6].Number64(); !ok {
		return nil, false
	}
	rest := f[7:]
	switch {
	case p.Type == "text" && len(rest) > 0:
		if p.Lines, ok = rest[0].Number64(); !ok {
			return nil, false
		}
		rest = rest[1:]
	case p.Type == "message" && len(rest) >= 3 && rest[0].Kind == List:
		env, ok1 := parseEnvelope(rest[0])
		inner, ok2 := parseBody(rest[1], depth+1)
		lines, ok3 := rest[2].Number64()
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		p.Envelope, p.Parts, p.Lines = env, []*message.Part{inner}, lines
		rest = rest[3:]
	}
	if len(rest) > 0 {
		if p.MD5, ok = rest[0].NString(); !ok {
			return nil, false
		}
		rest = rest[1:]
	}
	return p, parseExtension(p, rest)
}

// parseExtension reads the extension fields both part kinds share:
// disposition, language, location; later extensions are ignored.
func parseExtension(p *message.Part, f []Value) bool {
	if len(f) > 0 && !f[0].IsNil() {
		d := f[0]
		if d.Kind != List || len(d.List) < 2 {
			return false
		}
		name, ok := d.List[0].AString()
		if !ok {
			return false
		}
		p.Disposition = strings.ToLower(name)
		if p.DispositionParams, ok = parseParams(d.List[1]); !ok {
			return false
		}
	}
	if len(f) > 1 {
		switch l := f[1]; l.Kind {
		case List:
			for _, t := range l.List {
				if s, ok := t.AString(); ok {
					p.Language = append(p.Language, s)
				}
			}
		case String, Atom:
			p.Language = []string{l.Str}
		}
	}
	if len(f) > 2 {
		loc, ok := f[2].NString()
		if !ok {
			return false
		}
		p.Location = loc
	}
	return true
}

// parseParams reads body-fld-param: NIL or ("name" "value" ...). Names are
// lower-cased; RFC 2231 continuations and charsets are decoded.
func parseParams(v Value) ([]message.Param, bool) {
	if v.IsNil() {
		return nil, true
	}
	if v.Kind != List || len(v.List)%2 != 0 {
		return nil, false
	}
	raw := make([]message.Param, 0, len(v.List)/2)
	for i := 0; i < len(v.List); i += 2 {
		n, ok1 := v.List[i].AString()
		val, ok2 := v.List[i+1].NString()
		if !ok1 || !ok2 {
			return nil, false
		}
		raw = append(raw, message.Param{Name: strings.ToLower(n), Value: val})
	}
	return DecodeParams(raw), true
}

// DecodeParams joins RFC 2231 §3 continuations ("name*0", "name*1*", ...)
// and decodes §4 extended values ("name*" = charset'lang'%XX...) into one
// parameter each, in the order of first appearance. Values end up valid
// UTF-8. Parameters without "*" pass through.
func DecodeParams(raw []message.Param) []message.Param {
	type piece struct {
		n       int
		encoded bool
		value   string
	}
	var order []string
	pieces := map[string][]piece{}
	plain := map[string]string{}
	for _, p := range raw {
		base, rest, star := strings.Cut(p.Name, "*")
		_, seen := pieces[base]
		_, seenPlain := plain[base]
		if !star {
			if !seenPlain {
				plain[base] = p.Value
				if !seen {
					order = append(order, base)
				}
			}
			continue
		}
		pc := piece{value: p.Value}
		if rest == "" { // "name*": one extended value (§4)
			pc.encoded = true
		} else {
			rest, pc.encoded = strings.CutSuffix(rest, "*")
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 || n >= 1000 || !isDigits(rest) {
				continue
			}
			pc.n = n
		}
		if !seen && !seenPlain {
			order = append(order, base)
		}
		pieces[base] = append(pieces[base], pc)
	}
	out := make([]message.Param, 0, len(order))
	for _, name := range order {
		ps := pieces[name]
		if len(ps) == 0 {
			out = append(out, message.Param{Name: name, Value: toUTF8(plain[name], "")})
			continue
		}
		slices.SortStableFunc(ps, func(a, b piece) int { return a.n - b.n })
		charset := ""
		var b strings.Builder
		for i, pc := range ps {
			v := pc.value
			if pc.encoded {
				if i == 0 { // charset'language'value
					if cs, r, ok := strings.Cut(v, "'"); ok {
						if _, r2, ok := strings.Cut(r, "'"); ok {
							charset, v = cs, r2
						}
					}
				}
				if u, err := url.PathUnescape(v); err == nil {
					v = u
				}
			}
			b.WriteString(v)
		}
		out = append(out, message.Param{Name: name, Value: toUTF8(b.String(), charset)})
	}
	return out
}

// toUTF8 converts s from charset (WHATWG names; "" or unknown means UTF-8
// if valid, else windows-1252) to valid UTF-8.
func toUTF8(s, charset string) string {
	cs := strings.ToLower(charset)
	if cs == "" || cs == "utf-8" || cs == "us-ascii" || cs == "utf8" {
		if utf8.ValidString(s) {
			return s
		}
		cs = "windows-1252"
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	out, err := enc.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ToValidUTF8(out, "\uFFFD")
}
