package message

import (
	"bufio"
	"io"
)

// crlfReader turns every bare CR and bare LF of its source into CRLF, so
// that what it yields never holds a lone line-end octet (RFC 5321 §2.3.8,
// RFC 5322 §2.3).
type crlfReader struct {
	r       *bufio.Reader
	pending []byte
	prevCR  bool
}

// NewCRLFReader returns a reader that yields r with every bare CR and bare
// LF turned into CRLF; CRLF pairs pass unchanged.
func NewCRLFReader(r io.Reader) io.Reader { return &crlfReader{r: bufio.NewReaderSize(r, 32<<10)} }

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(c.pending) > 0 {
			m := copy(p[n:], c.pending)
			c.pending = c.pending[m:]
			n += m
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if err == io.EOF && c.prevCR {
				// A final bare CR becomes CRLF.
				c.prevCR = false
				c.pending = []byte{'\n'}
				continue
			}
			if n > 0 && err == io.EOF {
				return n, nil
			}
			return n, err
		}
		switch {
		case c.prevCR && b == '\n':
			p[n] = '\n'
			n++
			c.prevCR = false
		case c.prevCR: // bare CR: complete it, then handle b afresh
			c.prevCR = false
			c.r.UnreadByte()
			p[n] = '\n'
			n++
		case b == '\r':
			p[n] = '\r'
			n++
			c.prevCR = true
		case b == '\n': // bare LF
			c.pending = []byte{'\n'}
			p[n] = '\r'
			n++
		default:
			p[n] = b
			n++
		}
	}
	return n, nil
}
