package smtpclient

import (
	"bufio"
	"io"
)

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
