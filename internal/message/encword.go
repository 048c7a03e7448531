package message

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// RFC 2047 encoded-words: decoding for display and search, encoding for the
// header fields we generate and for the 7-bit downgrade.

// DecodeHeader decodes the RFC 2047 encoded-words in an unfolded header
// value and returns UTF-8 text. It is lenient where real mail needs it:
// encoded-words next to "(", ")", quotes, "<", ">", ",", ";" or ":" are
// decoded; white space between adjacent encoded-words is dropped (RFC 2047
// §6.2); adjacent words in the same charset are joined before conversion,
// so a multibyte character split across two words survives; unknown
// charsets and raw 8-bit text are read as UTF-8 when valid, else as
// windows-1252. A word glued to other text ("=?utf-8?q?a?=.txt") is not
// decoded, as RFC 2047 §5 requires. The result is always valid UTF-8.
func DecodeHeader(s string) string {
	return decodeWords(s, "")
}

// decodeWords is DecodeHeader with a charset for raw 8-bit text (the
// message's declared body charset is the best guess for unlabelled bytes).
func decodeWords(s, fallback string) string {
	if !strings.Contains(s, "=?") {
		return decodeRaw(s, fallback)
	}
	var (
		out     strings.Builder
		pending []byte // decoded octets of adjacent words in pendCS
		pendCS  string
		i       int
		afterEW bool // the previous token was an encoded-word
	)
	flush := func() {
		if len(pending) > 0 {
			out.WriteString(decodeCharset(pendCS, pending))
			pending = pending[:0]
		}
	}
	for i < len(s) {
		k := strings.Index(s[i:], "=?")
		if k < 0 {
			break
		}
		k += i
		cs, data, end, ok := parseEncodedWord(s, k)
		if ok && (k == 0 || isWordStartDelim(s[k-1])) && (end == len(s) || isWordEndDelim(s[end])) {
			lit := s[i:k]
			if !(afterEW && isAllWSP(lit)) {
				flush()
				out.WriteString(decodeRaw(lit, fallback))
			}
			if !strings.EqualFold(cs, pendCS) {
				flush()
				pendCS = cs
			}
			pending = append(pending, data...)
			i, afterEW = end, true
			continue
		}
		// Not an encoded-word: keep "=?" as text and go on after it.
		flush()
		out.WriteString(decodeRaw(s[i:k+2], fallback))
		i, afterEW = k+2, false
	}
	flush()
	out.WriteString(decodeRaw(s[i:], fallback))
	return out.String()
}

// decodeRaw converts header text that is not in encoded-words: UTF-8 as is
// (RFC 6532 §3.2), other 8-bit octets in the fallback charset.
func decodeRaw(s, fallback string) string {
	if isPrintableASCII(s) || utf8.ValidString(s) {
		return s
	}
	if fallback != "" {
		return decodeCharset(fallback, []byte(s))
	}
	good, bad := 0, 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			bad++
		} else if n > 1 {
			good += n
		}
		i += n
	}
	if bad*4 > good {
		return fallback8bit([]byte(s))
	}
	// Mostly UTF-8 with a few stray 8-bit octets: keep the UTF-8, read the
	// strays as windows-1252.
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString(fallback8bit([]byte{s[i]}))
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isWordStartDelim(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || strings.IndexByte("(\"<:,;", c) >= 0
}

func isWordEndDelim(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || strings.IndexByte(")\">,;", c) >= 0
}

func isAllWSP(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// parseEncodedWord parses "=?charset[*lang]?enc?text?=" at s[k:] (RFC 2047
// §2, RFC 2231 §5) and returns the charset, the decoded octets and the
// index after the word.
func parseEncodedWord(s string, k int) (charset string, data []byte, end int, ok bool) {
	p := k + 2
	q := strings.IndexByte(s[p:], '?')
	if q <= 0 || q > 64 {
		return "", nil, 0, false
	}
	charset = s[p : p+q]
	if strings.ContainsAny(charset, " \t\r\n()<>@,;:\"/[]=") {
		return "", nil, 0, false
	}
	if star := strings.IndexByte(charset, '*'); star >= 0 {
		charset = charset[:star]
	}
	p += q + 1
	if p+2 > len(s) || s[p+1] != '?' {
		return "", nil, 0, false
	}
	enc := s[p] | 0x20
	if enc != 'b' && enc != 'q' {
		return "", nil, 0, false
	}
	p += 2
	e := strings.Index(s[p:], "?=")
	if e < 0 {
		return "", nil, 0, false
	}
	text := s[p : p+e]
	if strings.ContainsAny(text, " \t\r\n?") {
		return "", nil, 0, false
	}
	if enc == 'b' {
		data = decodeBase64Lenient(nil, []byte(text))
	} else {
		data = decodeQWord(text)
	}
	return charset, data, p + e + 2, true
}

// decodeQWord decodes the "Q" encoding (RFC 2047 §4.2).
func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// needsEncoding reports whether s cannot go into a header field as it is:
// it has non-ASCII or control characters, or a word that a reader would
// take for an encoded-word.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || (c < ' ' && c != '\t') {
			return true
		}
	}
	for _, w := range strings.Fields(s) {
		if looksEncoded(w) {
			return true
		}
	}
	return false
}

func looksEncoded(w string) bool {
	return strings.Contains(w, "=?") && strings.Contains(w, "?=")
}

func wordNeedsEncoding(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= 0x7f || c < ' ' {
			return true
		}
	}
	return looksEncoded(w)
}

// subjectCol is the column where EncodeWord assumes its output starts: after
// "Subject: " or any shorter field name.
const subjectCol = len("Subject: ")

// EncodeWord encodes s for an unstructured header field such as Subject
// (RFC 2047 §5 (1)). Runs of words containing non-ASCII characters become
// UTF-8 encoded-words, "Q" or "B" whichever is shorter; ASCII words stay as
// they are; runs of white space become one space. Each encoded-word is at
// most 75 characters and holds whole characters (RFC 2047 §2, §5 (3));
// lines are folded with CRLF SP so that none passes 78 octets when the value
// follows a field name of up to 7 characters ("Subject: "). Use FormatField
// to render a whole field for any name. Plain ASCII text is returned with
// only its folding added.
func EncodeWord(s string) string {
	return encodeText(s, subjectCol)
}

// encodeText implements EncodeWord for a value starting at column col.
func encodeText(s string, col int) string {
	return encodeWords(s, true, col)
}

// encodeWords encodes s as EncodeWord does; with fold false it writes no
// line breaks (for a phrase inside a longer structured value).
func encodeWords(s string, fold bool, col int) string {
	words := strings.Fields(s)
	e := wordEncoder{fold: fold, col: col, first: true}
	e.b.Grow(len(s) * 2)
	for i := 0; i < len(words); {
		if !wordNeedsEncoding(words[i]) {
			e.sep(len(words[i]))
			e.b.WriteString(words[i])
			e.col += len(words[i])
			i++
			continue
		}
		j := i + 1
		for j < len(words) && wordNeedsEncoding(words[j]) {
			j++
		}
		e.run(strings.Join(words[i:j], " "))
		i = j
	}
	return e.b.String()
}

type wordEncoder struct {
	b     strings.Builder
	fold  bool
	col   int
	first bool // nothing written on the current line after a fold, or at all
}

// sep writes the separator before a word of n octets: nothing for the
// first, a space, or a fold when the word would pass the line limit.
func (e *wordEncoder) sep(n int) {
	if e.first {
		e.first = false
		return
	}
	if e.fold && e.col+1+n > maxHeaderLine {
		e.b.WriteString("\r\n ")
		e.col = 1
		return
	}
	e.b.WriteByte(' ')
	e.col++
}

const (
	ewPrefixQ  = "=?utf-8?q?"
	ewPrefixB  = "=?utf-8?b?"
	ewOverhead = len(ewPrefixQ) + 2
	maxEW      = 75 // RFC 2047 §2
)

// qSafe reports whether c may appear literally in a "Q" encoded-word in any
// header context (RFC 2047 §5 (3)).
func qSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '!' || c == '*' || c == '+' || c == '-' || c == '/'
}

// run writes text as one or more encoded-words, "Q" or "B" whichever is
// shorter for the whole run.
func (e *wordEncoder) run(text string) {
	qlen := 0
	for i := 0; i < len(text); i++ {
		if qSafe(text[i]) || text[i] == ' ' {
			qlen++
		} else {
			qlen += 3
		}
	}
	useQ := qlen <= 4*((len(text)+2)/3)
	for len(text) > 0 {
		room := maxEW - ewOverhead
		if e.fold {
			sepLen := 1
			if e.first {
				sepLen = 0
			}
			room = min(room, maxHeaderLine-e.col-sepLen-ewOverhead)
		}
		n := ewChunk(text, room, useQ)
		if n == 0 {
			// Not even one character fits on this line: fold first.
			e.b.WriteString("\r\n ")
			e.col, e.first = 1, true
			n = max(ewChunk(text, maxEW-ewOverhead, useQ), 1)
		}
		w := encodedWord(text[:n], useQ)
		e.sep(len(w))
		e.b.WriteString(w)
		e.col += len(w)
		text = text[n:]
	}
}

// ewChunk returns how many octets of text (whole runes) fit in an
// encoded-word whose encoded text may be room characters long.
func ewChunk(text string, room int, useQ bool) int {
	n, enc := 0, 0
	for n < len(text) {
		_, size := utf8.DecodeRuneInString(text[n:])
		cost := 0
		if useQ {
			for k := n; k < n+size; k++ {
				if qSafe(text[k]) || text[k] == ' ' {
					cost++
				} else {
					cost += 3
				}
			}
			if enc+cost > room {
				break
			}
			enc += cost
		} else if 4*((n+size+2)/3) > room {
			break
		}
		n += size
	}
	return n
}

func encodedWord(text string, useQ bool) string {
	var b strings.Builder
	if !useQ {
		b.WriteString(ewPrefixB)
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(text)))
		b.WriteString("?=")
		return b.String()
	}
	b.WriteString(ewPrefixQ)
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case qSafe(c):
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
	}
	b.WriteString("?=")
	return b.String()
}
