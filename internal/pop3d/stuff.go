package pop3d

import (
	"bytes"
	"errors"
	"io"
)

var crlf = []byte("\r\n")

// stuffer writes a message as the body of a POP3 multi-line response (RFC
// 1939 §3): every line ends in CRLF — a bare LF or a bare CR becomes CRLF,
// since RFC 5322 §2.3 allows CR and LF only together — and a line that
// begins with "." gets a second "." in front ("byte-stuffing"). Close ends
// a last line that has no line end. The terminating ".\r\n" is the
// caller's.
//
// It works a line at a time with bytes.IndexByte, so a message of CRLF
// lines (all mail that came in over SMTP) passes through in a few large
// copies.
type stuffer struct {
	w   io.Writer
	bol bool  // the next byte begins a line
	cr  bool  // the last input byte was a CR whose line end is not yet written
	err error // the first write error
}

func newStuffer(w io.Writer) *stuffer { return &stuffer{w: w, bol: true} }

func (s *stuffer) put(b []byte) {
	if s.err == nil && len(b) > 0 {
		_, s.err = s.w.Write(b)
	}
}

// Write implements io.Writer.
func (s *stuffer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && s.err == nil {
		if s.cr { // a CR ended the previous write
			s.cr = false
			s.put(crlf)
			s.bol = true
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		if s.bol {
			if p[0] == '.' {
				s.put([]byte{'.'})
			}
			s.bol = false
		}
		p = s.line(p)
	}
	if s.err != nil {
		return 0, s.err
	}
	return n, nil
}

// line writes p up to and including the first line end and returns the
// rest. The line does not begin at a stuffing point (Write handled that).
func (s *stuffer) line(p []byte) []byte {
	i := bytes.IndexByte(p, '\n')
	text := p // the line without its LF
	if i >= 0 {
		text = p[:i]
	}
	j := bytes.IndexByte(text, '\r')
	switch {
	case j < 0 && i < 0: // no line end yet
		s.put(p)
		return nil
	case j < 0: // bare LF
		s.put(text)
		s.put(crlf)
	case j == len(text)-1 && i >= 0: // CRLF
		s.put(p[:i+1])
	case j == len(text)-1: // CR at the end of the write: LF may follow
		s.put(text[:j])
		s.cr = true
		return nil
	default: // bare CR inside the line
		s.put(text[:j])
		s.put(crlf)
		s.bol = true
		return p[j+1:]
	}
	s.bol = true
	return p[i+1:]
}

// Close ends an unfinished last line. It does not close the underlying
// writer.
func (s *stuffer) Close() error {
	if s.cr || !s.bol {
		s.cr = false
		s.put(crlf)
		s.bol = true
	}
	return s.err
}

// errTopDone stops the copy of a message once TOP has sent enough lines.
var errTopDone = errors.New("pop3d: TOP has sent its lines")

// topLimiter passes on a stuffer's output (CRLF lines) up to the end of the
// header, the empty line after it and left more lines, then refuses
// further writes with errTopDone (RFC 1939 §7 TOP).
type topLimiter struct {
	w       io.Writer
	left    int  // body lines still to pass
	inBody  bool // the empty line after the header has passed
	lineLen int  // octets of the current line passed so far
}

// Write implements io.Writer.
func (t *topLimiter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if t.inBody && t.left == 0 {
			return n - len(p), errTopDone
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.lineLen += len(p)
			_, err := t.w.Write(p)
			return n, err
		}
		if _, err := t.w.Write(p[:i+1]); err != nil {
			return n - len(p), err
		}
		// A line is empty when all it held before its LF is the CR.
		empty := t.lineLen+i == 1
		t.lineLen = 0
		if t.inBody {
			t.left--
		} else if empty {
			t.inBody = true
		}
		p = p[i+1:]
	}
	return n, nil
}
