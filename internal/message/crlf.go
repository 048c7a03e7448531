package message

import (
	"bytes"
	"io"
	"sync"
)

// crlfReader turns every bare CR and bare LF of its source into CRLF, so
// that what it yields never holds a lone line-end octet (RFC 5321 §2.3.8,
// RFC 5322 §2.3). It converts a chunk at a time, copying the runs between
// line ends in bulk.
type crlfReader struct {
	r      io.Reader
	bufs   *crlfBuffers // nil once released
	in     []byte
	out    []byte
	pend   []byte // converted, not yet returned
	prevCR bool   // the last octet converted was a CR
	err    error
}

// crlfBuffers are a crlfReader's buffers, pooled: a reader per appended
// message allocated twelve times the size of a typical message otherwise.
type crlfBuffers struct{ in, out []byte }

const crlfChunk = 16 << 10

var crlfPool = sync.Pool{New: func() any {
	return &crlfBuffers{in: make([]byte, crlfChunk), out: make([]byte, 0, 2*crlfChunk)}
}}

// NewCRLFReader returns a reader that yields r with every bare CR and bare
// LF turned into CRLF; CRLF pairs pass unchanged. Its buffers go back to a
// pool when it has returned its source's error (io.EOF included).
func NewCRLFReader(r io.Reader) io.Reader {
	b := crlfPool.Get().(*crlfBuffers)
	return &crlfReader{r: r, bufs: b, in: b.in, out: b.out[:0]}
}

// release returns the buffers to the pool; the reader keeps returning its
// error.
func (c *crlfReader) release() {
	if c.bufs == nil {
		return
	}
	c.bufs.out = c.out[:0]
	crlfPool.Put(c.bufs)
	c.bufs, c.in, c.out, c.pend = nil, nil, nil, nil
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.pend) == 0 {
		if c.err != nil {
			if c.prevCR { // a final bare CR becomes CRLF
				c.prevCR = false
				c.pend = []byte{'\n'}
				break
			}
			c.release()
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
