package message

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
)

// How ToSevenBit writes a leaf body.
const (
	modeCopy   = iota // 7-bit clean: copy, CRLF line ends
	modeQP            // re-encode as quoted-printable
	modeBase64        // re-encode as base64
)

// bodyStats summarises what a body sample holds.
type bodyStats struct {
	total, eight      int
	nul, bareCR, long bool
}

func (s *bodyStats) addLine(b []byte, first bool) {
	c := trimEOL(b)
	s.total += len(b)
	if !first || len(c) > maxSMTPLine {
		s.long = true
	}
	for i, x := range c {
		switch {
		case x >= 0x80:
			s.eight++
		case x == 0:
			s.nul = true
		case x == '\r' && i != len(c)-1:
			s.bareCR = true
		case x == '\r' && len(c) == len(b):
			s.bareCR = true // CR at the end of input
		}
	}
}

func (s *bodyStats) dirty() bool {
	return s.eight > 0 || s.nul || s.bareCR || s.long
}

// leaf downgrades a body without inner structure. prefix holds body octets
// already consumed (the header of an encapsulated message that becomes
// message/global, which is then ctype).
func (d *downgrader) leaf(h Header, p *Part, fb string, prefix []byte, ctype string) error {
	sample := prefix
	var st bodyStats
	for _, ln := range bytes.SplitAfter(prefix, []byte("\n")) {
		st.addLine(ln, true)
	}
	for d.have && !d.atDelim() && len(sample) < downgradeSample {
		sample = append(sample, d.cur.b...)
		st.addLine(d.cur.b, d.cur.first)
		d.advance()
	}
	src := p.Encoding
	if ctype != "" {
		src = "8bit" // the encapsulated message, octets as they are
	}
	// Text is re-encoded as text (line breaks are CRLF in canonical form)
	// unless its charset is UTF-16/32, whose line breaks are not octets.
	textLike := (p.Type == "text" || p.Type == "message") && !isWideCharset(p.Charset())
	mode := modeCopy
	if st.dirty() || ctype != "" {
		switch {
		case src == "base64":
			mode = modeBase64
		case src == "quoted-printable" && textLike:
			mode = modeQP
		case textLike && !st.nul && st.eight*4 <= st.total:
			mode = modeQP
		default:
			mode = modeBase64
		}
	}
	cte := ""
	switch mode {
	case modeQP:
		cte = "quoted-printable"
	case modeBase64:
		cte = "base64"
	default:
		if src == "8bit" || src == "binary" {
			cte = "7bit"
		}
	}
	d.writeHeader(h, fb, cte, ctype)
	bo := newBodyOut(d.out, mode, src, textLike)
	for len(sample) > 0 {
		i := bytes.IndexByte(sample, '\n')
		if i < 0 {
			i = len(sample) - 1
		}
		bo.line(sample[:i+1])
		sample = sample[i+1:]
	}
	for d.have && !d.atDelim() {
		bo.line(d.cur.b)
		d.advance()
	}
	bo.finish(!d.have)
	return nil
}

func isWideCharset(cs string) bool {
	for _, p := range []string{"utf-16", "utf-32", "ucs-2", "ucs-4", "unicode"} {
		if strings.HasPrefix(cs, p) {
			return true
		}
	}
	return false
}

// bodyOut writes body lines in one mode. The line break after the last line
// is held back until the next line shows it belongs to the body: before a
// delimiter it belongs to the delimiter (RFC 2046 §5.1.1).
type bodyOut struct {
	out      *sevenBitWriter
	mode     int
	src      string // source Content-Transfer-Encoding
	textLike bool
	pend     []byte // held-back line break, in decoded form
	dec      b64Decoder
	qp       *quotedprintable.Writer
	b64      io.WriteCloser
	canon    canonWriter
	buf      []byte
}

func newBodyOut(out *sevenBitWriter, mode int, src string, textLike bool) *bodyOut {
	bo := &bodyOut{out: out, mode: mode, src: src, textLike: textLike}
	switch mode {
	case modeQP:
		bo.qp = quotedprintable.NewWriter(out)
	case modeBase64:
		bo.b64 = base64.NewEncoder(base64.StdEncoding, &wrapWriter{w: out})
		bo.canon.w = bo.b64
	}
	return bo
}

// line takes one raw body line (or piece of one).
func (bo *bodyOut) line(b []byte) {
	content := trimEOL(b)
	hasTerm := len(content) < len(b)
	if bo.mode == modeCopy {
		bo.emit(bo.pend)
		bo.pend = nil
		bo.out.Write(content)
		if hasTerm {
			bo.pend = crlf
		}
		return
	}
	var data []byte
	var term []byte
	switch bo.src {
	case "base64":
		data = bo.dec.write(bo.buf[:0], content)
	case "quoted-printable":
		data = decodeQP(bo.buf[:0], content)
		soft := bytes.HasSuffix(bytes.TrimRight(content, " \t"), []byte("="))
		if hasTerm && !soft {
			term = crlf
		}
	default:
		data = content
		if hasTerm {
			term = b[len(content):]
		}
	}
	bo.emit(bo.pend)
	bo.emit(data)
	bo.buf = data[:0]
	bo.pend = term
}

var crlf = []byte("\r\n")

// emit writes decoded octets to the encoder.
func (bo *bodyOut) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	switch bo.mode {
	case modeCopy:
		bo.out.Write(b)
	case modeQP:
		bo.qp.Write(b)
	case modeBase64:
		if bo.textLike {
			bo.canon.Write(b)
		} else {
			bo.b64.Write(b)
		}
	}
}

// finish ends the body; eof says the input ended, so a held-back line break
// belongs to the body.
func (bo *bodyOut) finish(eof bool) {
	if eof {
		bo.emit(bo.pend)
	}
	if bo.src == "base64" && bo.mode != modeCopy {
		bo.emit(bo.dec.finish(bo.buf[:0]))
	}
	switch bo.mode {
	case modeCopy:
		if eof && bo.src == "quoted-printable" && bo.out.col > 0 {
			bo.out.WriteString("=\r\n") // soft break: no line break is added
		}
	case modeQP:
		bo.qp.Close()
		if eof && bo.out.col > 0 {
			bo.out.WriteString("=\r\n") // soft break: no line break is added
		}
	case modeBase64:
		if bo.textLike {
			bo.canon.flush()
		}
		bo.b64.Close()
	}
}

// canonWriter turns bare LF and bare CR into CRLF: the canonical form of
// text before base64 (RFC 2045 §6.8, RFC 2049 §4).
type canonWriter struct {
	w  io.Writer
	cr bool
}

func (c *canonWriter) Write(b []byte) (int, error) {
	start := 0
	for i, x := range b {
		switch {
		case c.cr && x != '\n':
			c.w.Write(b[start:i])
			c.w.Write([]byte("\n"))
			start = i
		case !c.cr && x == '\n':
			c.w.Write(b[start:i])
			c.w.Write([]byte("\r"))
			start = i
		}
		c.cr = x == '\r'
	}
	c.w.Write(b[start:])
	return len(b), nil
}

func (c *canonWriter) flush() {
	if c.cr {
		c.w.Write([]byte("\n"))
		c.cr = false
	}
}

// wrapWriter breaks base64 text into lines of 76 characters (RFC 2045
// §6.8).
type wrapWriter struct {
	w   io.Writer
	col int
}

func (ww *wrapWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if ww.col == 76 {
			ww.w.Write(crlf)
			ww.col = 0
		}
		k := min(76-ww.col, len(b))
		ww.w.Write(b[:k])
		ww.col += k
		b = b[k:]
	}
	return n, nil
}

// sevenBitWriter is the last stage of ToSevenBit: whatever reaches it
// leaves as 7-bit text with CRLF line ends and lines of at most 998 octets.
// The stages before it produce nothing else; this is the guarantee.
type sevenBitWriter struct {
	w   *bufio.Writer
	col int
	cr  bool
}

func (s *sevenBitWriter) WriteString(str string) {
	s.Write([]byte(str))
}

func (s *sevenBitWriter) Write(b []byte) (int, error) {
	for _, c := range b {
		switch {
		case c == '\n':
			s.newline()
			continue
		case s.cr:
			s.newline() // a CR not followed by LF ends a line too
		}
		if c == '\r' {
			s.cr = true
			continue
		}
		if c >= 0x80 || c == 0 {
			c = '?'
		}
		if s.col >= maxSMTPLine {
			s.newline()
		}
		s.w.WriteByte(c)
		s.col++
	}
	return len(b), nil
}

func (s *sevenBitWriter) newline() {
	s.w.Write(crlf)
	s.col, s.cr = 0, false
}

// endLine ends the output with CRLF.
func (s *sevenBitWriter) endLine() {
	if s.col > 0 || s.cr {
		s.newline()
	}
}
