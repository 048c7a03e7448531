package message

import (
	"bytes"
	"io"
)

// crlfReader turns every bare CR and bare LF of its source into CRLF, so
// that what it yields never holds a lone line-end octet (RFC 5321 §2.3.8,
// RFC 5322 §2.3). It converts a chunk at a time, copying the runs between
// line ends in bulk.
type crlfReader struct {
	r      io.Reader
	in     []byte
	out    []byte
	pend   []byte // converted, not yet returned
	prevCR bool   // the last octet converted was a CR
	err    error
}

// NewCRLFReader returns a reader that yields r with every bare CR and bare
// LF turned into CRLF; CRLF pairs pass unchanged.
func NewCRLFReader(r io.Reader) io.Reader {
	return &crlfReader{r: r, in: make([]byte, 32<<10), out: make([]byte, 0, 64<<10)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.pend) == 0 {
		if c.err != nil {
			if c.prevCR { // a final bare CR becomes CRLF
				c.prevCR = false
				c.pend = []byte{'\n'}
				break
			}
			return 0, c.err
		}
		n, err := c.r.Read(c.in)
		c.err = err
		c.pend = c.convert(c.in[:n])
	}
	n := copy(p, c.pend)
	c.pend = c.pend[n:]
	return n, nil
}

// convert rewrites one chunk, carrying a trailing CR's state to the next.
func (c *crlfReader) convert(in []byte) []byte {
	out := c.out[:0]
	for len(in) > 0 {
		if c.prevCR {
			c.prevCR = false
			out = append(out, '\n') // completes CRLF, or follows a bare CR
			if in[0] == '\n' {
				in = in[1:]
			}
			continue
		}
		i := bytes.IndexAny(in, "\r\n")
		if i < 0 {
			out = append(out, in...)
			break
		}
		out = append(out, in[:i]...)
		if in[i] == '\r' {
			out = append(out, '\r')
			c.prevCR = true
		} else {
			out = append(out, '\r', '\n') // a bare LF
		}
		in = in[i+1:]
	}
	c.out = out
	return out
}
