package smtpclient

import (
	"bufio"
	"io"
)

// crlfReader turns every bare CR and bare LF of its source into CRLF, so
// that the data sent never holds a lone line-end octet (RFC 5321 §2.3.8).
type crlfReader struct {
	r       *bufio.Reader
	pending []byte
	prevCR  bool
}

func newCRLFReader(r io.Reader) *crlfReader { return &crlfReader{r: bufio.NewReaderSize(r, 32<<10)} }

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

// bodyInfo describes a message as it will be sent.
type bodyInfo struct {
	size       int64 // octets after line-end normalisation
	eightBit   bool  // some octet has the high bit set
	endsInCRLF bool
}

// scan reads a normalised body once to learn its size and whether it is
// 8-bit.
func scan(r io.Reader) (bodyInfo, error) {
	var info bodyInfo
	buf := make([]byte, 32<<10)
	var last2 [2]byte
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b >= 0x80 {
				info.eightBit = true
				break
			}
		}
		if n >= 2 {
			last2 = [2]byte{buf[n-2], buf[n-1]}
		} else if n == 1 {
			last2 = [2]byte{last2[1], buf[0]}
		}
		info.size += int64(n)
		if err == io.EOF {
			info.endsInCRLF = last2 == [2]byte{'\r', '\n'}
			return info, nil
		}
		if err != nil {
			return info, err
		}
	}
}

// writeDotStuffed writes CRLF-normalised data for DATA: a dot at the start
// of a line is doubled (RFC 5321 §4.5.2), and the data ends with
// CRLF.CRLF (adding the CRLF when the message lacks a final line end).
func writeDotStuffed(w *bufio.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 32<<10)
	atLineStart := true
	last := byte('\n')
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if atLineStart && line[0] == '.' {
				if err := w.WriteByte('.'); err != nil {
					return err
				}
			}
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
			last = line[len(line)-1]
			atLineStart = last == '\n'
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if last != '\n' {
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	_, err := w.WriteString(".\r\n")
	return err
}
