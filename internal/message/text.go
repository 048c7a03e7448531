package message

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxTextRaw bounds the encoded text octets collected per message.
	maxTextRaw = 4 << 20
	// previewLen is the JMAP preview length (RFC 8621 §4.1.4: "up to 256
	// characters").
	previewLen = 256
)

// textSink collects the text of text/* parts while Analyze parses.
type textSink struct {
	rawLeft     int
	text        strings.Builder
	plain, html string // first preview candidates
}

func (ts *textSink) want(p, parent *Part) int {
	if p.Type != "text" || ts.rawLeft <= 0 || ts.text.Len() >= MaxText {
		return 0
	}
	// The HTML alternative of a text/plain part says the same again.
	if parent != nil && parent.Subtype == "alternative" && p.Subtype == "html" {
		for _, sib := range parent.Parts {
			if sib != p && sib.Type == "text" && sib.Subtype == "plain" {
				return 0
			}
		}
	}
	return ts.rawLeft
}

func (ts *textSink) leaf(p *Part, body []byte) {
	ts.rawLeft -= len(body)
	s := PartText(p, body)
	if s == "" {
		return
	}
	ts.text.Grow(len(s) + 1)
	if ts.text.Len() > 0 {
		ts.text.WriteByte('\n')
	}
	ts.text.WriteString(truncateUTF8(s, MaxText-ts.text.Len()))
	if p.Disposition == "attachment" {
		return
	}
	switch {
	case p.Subtype == "plain" && ts.plain == "":
		ts.plain = collapseSpace(s, previewLen)
	case p.Subtype == "html" && ts.html == "":
		ts.html = collapseSpace(s, previewLen)
	}
}

func (ts *textSink) preview() string {
	if ts.plain != "" {
		return ts.plain
	}
	return ts.html
}

// PartText returns the text of a text/* part as UTF-8: body is the raw body
// (BodyStart..BodyEnd); the transfer encoding is undone, the charset
// converted (for HTML without a charset parameter, a <meta> charset is
// honoured), and HTML turned into plain text. Line ends become LF.
func PartText(p *Part, body []byte) string {
	dec := decodeTransfer(p.Encoding, body)
	cs := p.Charset()
	isHTML := p.Subtype == "html"
	if isHTML && p.Param("charset") == "" {
		cs = sniffHTMLCharset(dec)
	}
	s := decodeCharset(cs, dec)
	if isHTML {
		return htmlToText(s)
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return strings.TrimSpace(s)
}

// sniffHTMLCharset finds <meta charset=...> or the http-equiv form in the
// first KiB of an HTML document.
func sniffHTMLCharset(b []byte) string {
	head := strings.ToLower(string(b[:min(len(b), 1024)]))
	i := strings.Index(head, "charset=")
	if i < 0 {
		return ""
	}
	v := strings.TrimLeft(head[i+len("charset="):], `"' `)
	end := strings.IndexAny(v, `"'; />`)
	if end < 0 {
		return ""
	}
	return v[:end]
}

// collapseSpace replaces runs of white space by one space and cuts the
// result to n characters.
func collapseSpace(s string, n int) string {
	var b strings.Builder
	b.Grow(min(len(s), 4*n))
	space, count := false, 0
	for i := 0; i < len(s) && count < n; {
		c := s[i]
		size := 1
		isSpace := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
		if c >= 0x80 {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			isSpace = unicode.IsSpace(r)
		}
		if isSpace {
			space = b.Len() > 0
		} else {
			if space {
				b.WriteByte(' ')
				count++
				space = false
			}
			if count < n {
				b.WriteString(s[i : i+size])
				count++
			}
		}
		i += size
	}
	return b.String()
}

// htmlToText renders HTML as plain text for search and preview: tags are
// dropped, block elements become line breaks, script, style and head
// content is skipped, entities are decoded and white space is collapsed as
// a browser would.
func htmlToText(s string) string {
	var b strings.Builder
	b.Grow(len(s) / 2)
	skip := ""
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			lt = len(s) - i
		}
		if skip == "" {
			writeHTMLText(&b, s[i:i+lt])
		}
		i += lt
		if i >= len(s) {
			break
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := tagEnd(s, i+1)
		name, closing := tagName(s[i+1 : end])
		i = min(end+1, len(s))
		if skip != "" {
			if (closing && name == skip) || (skip == "head" && name == "body") {
				skip = ""
			}
			continue
		}
		switch name {
		case "script", "style", "head", "title":
			if !closing {
				skip = name
			}
		case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
			"blockquote", "table", "ul", "ol", "pre", "hr", "dt", "dd":
			b.WriteByte('\n')
		case "td", "th":
			writeSpace(&b)
		}
	}
	return tidyLines(b.String())
}

// tagEnd finds the ">" that closes a tag starting at i, skipping quoted
// attribute values.
func tagEnd(s string, i int) int {
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return len(s)
}

func tagName(t string) (name string, closing bool) {
	if strings.HasPrefix(t, "/") {
		closing = true
		t = t[1:]
	}
	end := 0
	for end < len(t) && (t[end] >= 'a' && t[end] <= 'z' || t[end] >= 'A' && t[end] <= 'Z' || t[end] >= '0' && t[end] <= '9') {
		end++
	}
	return strings.ToLower(t[:end]), closing
}

func writeHTMLText(b *strings.Builder, t string) {
	if t == "" {
		return
	}
	if strings.IndexByte(t, '&') >= 0 {
		t = html.UnescapeString(t)
	}
	// Runs of white space (including NBSP) become one space.
	space := false
	for i := 0; i < len(t); {
		j := i
		for j < len(t) && t[j] > ' ' && t[j] < 0x80 {
			j++
		}
		if j > i {
			if space {
				writeSpace(b)
				space = false
			}
			b.WriteString(t[i:j])
			i = j
			continue
		}
		r, n := utf8.DecodeRuneInString(t[i:])
		if unicode.IsSpace(r) || r == '\u00a0' {
			space = true
		} else {
			if space {
				writeSpace(b)
				space = false
			}
			b.WriteString(t[i : i+n])
		}
		i += n
	}
	if space {
		writeSpace(b)
	}
}

// writeSpace writes one space unless the text already ends in white space.
func writeSpace(b *strings.Builder) {
	if s := b.String(); s != "" && s[len(s)-1] != ' ' && s[len(s)-1] != '\n' {
		b.WriteByte(' ')
	}
}

// tidyLines collapses white space in each line and keeps at most one empty
// line in a row.
func tidyLines(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			i = len(s)
		}
		ln := strings.TrimSpace(s[:i])
		s = s[min(i+1, len(s)):]
		if ln == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		// writeHTMLText left single spaces only; no more collapsing needed.
		b.WriteString(ln)
	}
	return b.String()
}
