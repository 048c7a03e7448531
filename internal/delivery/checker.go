package delivery

import (
	"bytes"
	"io"
)

// checker watches the octets of a message as they stream by: it counts
// them against the size limit and refuses a CR not followed by LF, an LF
// not preceded by CR (RFC 5321 §2.3.8; the SMTP smuggling vector) and NUL.
// It keeps one octet of state, so chunk boundaries do not matter.
type checker struct {
	max    int64
	n      int64
	prevCR bool
}

// check inspects the next chunk.
func (c *checker) check(p []byte) error {
	c.n += int64(len(p))
	if c.n > c.max {
		return ErrTooBig
	}
	for len(p) > 0 {
		if c.prevCR {
			if p[0] != '\n' {
				return ErrBareLineEnding
			}
			c.prevCR = false
			p = p[1:]
			continue
		}
		i := bytes.IndexAny(p, "\r\n\x00")
		if i < 0 {
			return nil
		}
		switch p[i] {
		case 0:
			return ErrNUL
		case '\n':
			return ErrBareLineEnding // not preceded by CR: a CR would have been consumed above
		}
		c.prevCR = true
		p = p[i+1:]
	}
	return nil
}

// end is called at the end of the data: a final CR is bare too.
func (c *checker) end() error {
	if c.prevCR {
		return ErrBareLineEnding
	}
	return nil
}

// copy streams r to w through the checker, reading into buf.
func (c *checker) copy(w io.Writer, r io.Reader, buf []byte) (int64, error) {
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := c.check(buf[:n]); err != nil {
				return total, err
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, c.end()
		}
		if rerr != nil {
			return total, rerr
		}
	}
}
