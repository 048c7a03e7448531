package message

import "strings"

// Content-Transfer-Encoding decoding (RFC 2045 §6). Decoders here never
// fail: mail in the wild has base64 with stray characters and missing
// padding and quoted-printable with bare "=" signs, and a reader must still
// show what can be shown.

// decodeTransfer decodes body according to a Content-Transfer-Encoding
// value (lower case). Identity encodings (7bit, 8bit, binary) and unknown
// ones return body unchanged.
func decodeTransfer(cte string, body []byte) []byte {
	switch cte {
	case "base64":
		return decodeBase64Lenient(make([]byte, 0, len(body)*3/4+3), body)
	case "quoted-printable":
		return decodeQP(make([]byte, 0, len(body)), body)
	}
	return body
}

// normalizeCTE returns a Content-Transfer-Encoding value in lower case
// without white space or comments; "" if there is none.
func normalizeCTE(v string) string {
	v = stripComments(v)
	return strings.ToLower(strings.TrimSpace(v))
}

// isIdentityCTE reports whether cte leaves the octets as they are (RFC 2045
// §6.2). An absent field means 7bit.
func isIdentityCTE(cte string) bool {
	return cte == "" || cte == "7bit" || cte == "8bit" || cte == "binary"
}

// b64val maps base64 characters to their values, 0xff for others. It is
// computed once and only read.
var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	// RFC 4648 §5 URL alphabet, seen in the wild.
	t['-'], t['_'] = 62, 63
	return t
}()

// decodeBase64Lenient appends the base64 decoding of src to dst, skipping
// characters outside the alphabet (RFC 2045 §6.8: "must be ignored") and
// tolerating missing padding; a final lone sextet is dropped. Decoding
// resumes after "=" padding, which covers concatenated encodings.
func decodeBase64Lenient(dst, src []byte) []byte {
	var d b64Decoder
	return d.finish(d.write(dst, src))
}

// b64Decoder is the incremental form of decodeBase64Lenient.
type b64Decoder struct {
	acc uint32
	n   int
}

func (d *b64Decoder) write(dst, src []byte) []byte {
	for _, c := range src {
		if c == '=' {
			dst = d.finish(dst)
			continue
		}
		v := b64val[c]
		if v == 0xff {
			continue
		}
		d.acc = d.acc<<6 | uint32(v)
		if d.n++; d.n == 4 {
			dst = append(dst, byte(d.acc>>16), byte(d.acc>>8), byte(d.acc))
			d.acc, d.n = 0, 0
		}
	}
	return dst
}

// finish flushes a partial group.
func (d *b64Decoder) finish(dst []byte) []byte {
	switch d.n {
	case 2:
		dst = append(dst, byte(d.acc>>4))
	case 3:
		dst = append(dst, byte(d.acc>>10), byte(d.acc>>2))
	}
	d.acc, d.n = 0, 0
	return dst
}

// decodeQP appends the quoted-printable decoding of src to dst (RFC 2045
// §6.7). Trailing white space on a line is dropped (rule 3), "=" at the end
// of a line is a soft break, and an "=" not followed by two hex digits is
// kept literally, as the RFC suggests for robustness. Line breaks are kept
// as they are in src.
func decodeQP(dst, src []byte) []byte {
	for len(src) > 0 {
		i := 0
		for i < len(src) && src[i] != '\n' {
			i++
		}
		ln := src[:i]
		eol := src[i:min(i+1, len(src))]
		src = src[min(i+1, len(src)):]
		hasCR := len(ln) > 0 && ln[len(ln)-1] == '\r' && len(eol) > 0
		if hasCR {
			ln = ln[:len(ln)-1]
		}
		for len(ln) > 0 && (ln[len(ln)-1] == ' ' || ln[len(ln)-1] == '\t') {
			ln = ln[:len(ln)-1]
		}
		soft := len(ln) > 0 && ln[len(ln)-1] == '='
		if soft {
			ln = ln[:len(ln)-1]
		}
		for j := 0; j < len(ln); j++ {
			if c := ln[j]; c == '=' && isHexPair(ln, j) {
				dst = append(dst, unhex(ln[j+1])<<4|unhex(ln[j+2]))
				j += 2
			} else {
				dst = append(dst, c)
			}
		}
		if !soft && len(eol) > 0 {
			if hasCR {
				dst = append(dst, '\r')
			}
			dst = append(dst, '\n')
		}
	}
	return dst
}

func isHexPair(b []byte, j int) bool {
	return j+2 < len(b) && isHex(b[j+1]) && isHex(b[j+2])
}
