package smtp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

type EnhancedCode [3]int

// SMTPError specifies the error code, enhanced error code (if any) and
// message returned by the server.
type SMTPError struct {
	Code         int
	EnhancedCode EnhancedCode
	Message      string
}

// NoEnhancedCode is used to indicate that enhanced error code should not be
// included in response.
//
// Note that RFC 2034 requires an enhanced code to be included in all 2xx, 4xx
// and 5xx responses. This constant is exported for use by extensions, you
// should probably use EnhancedCodeNotSet instead.
var NoEnhancedCode = EnhancedCode{-1, -1, -1}

// EnhancedCodeNotSet is a nil value of EnhancedCode field in SMTPError, used
// to indicate that backend failed to provide enhanced status code. X.0.0 will
// be used (X is derived from error code).
var EnhancedCodeNotSet = EnhancedCode{0, 0, 0}

func (err *SMTPError) Error() string {
	s := fmt.Sprintf("SMTP error %03d", err.Code)
	if err.Message != "" {
		s += ": " + err.Message
	}
	return s
}

func (err *SMTPError) Temporary() bool {
	return err.Code/100 == 4
}

var ErrDataTooLarge = &SMTPError{
	Code:         552,
	EnhancedCode: EnhancedCode{5, 3, 4},
	Message:      "Maximum message size exceeded",
}

type dataReader struct {
	r     *bufio.Reader
	state int

	limited bool
	n       int64 // Maximum bytes remaining
}

func newDataReader(c *Conn) *dataReader {
	dr := &dataReader{
		r: c.text.R,
	}

	if c.server.MaxMessageBytes > 0 {
		dr.limited = true
		dr.n = int64(c.server.MaxMessageBytes)
	}

	return dr
}

// plainRun returns how many buffered octets before the next CR may be
// returned at once: at most room, and within the size limit (n octets are
// already returned by this Read); the octet over the limit is left to the
// state machine, which reports it.
func (r *dataReader) plainRun(room, n int) int {
	buf, _ := r.r.Peek(r.r.Buffered())
	k := bytes.IndexByte(buf, '\r')
	if k < 0 {
		k = len(buf)
	}
	if k > room {
		k = room
	}
	if r.limited {
		left := r.n - int64(n)
		if left < 0 {
			left = 0
		}
		if int64(k) > left {
			k = int(left)
		}
	}
	return k
}

func (r *dataReader) Read(b []byte) (n int, err error) {
	// Posthorn: the size limit is checked when an octet of data is about
	// to be returned (below), not before reading: upstream refused a
	// message of exactly MaxMessageBytes octets because it failed on the
	// read that would only have found the end-of-data line, although
	// SIZE n (RFC 1870 §3) promises to take n octets.

	// Code below is taken from net/textproto with only one modification to
	// not rewrite CRLF -> LF.

	// Run data through a simple state machine to
	// elide leading dots and detect End-of-Data (<CR><LF>.<CR><LF>) line.
	const (
		stateBeginLine = iota // beginning of line; initial state; must be zero
		stateDot              // read . at beginning of line
		stateDotCR            // read .\r at beginning of line
		stateCR               // read \r (possibly at end of line)
		stateData             // reading data in middle of line
		stateEOF              // reached .\r\n end marker line
	)
	for n < len(b) && r.state != stateEOF {
		if r.state == stateData {
			// Posthorn: inside a line only a CR changes the state, so the
			// run of octets up to the next CR that is already buffered is
			// copied in one step (upstream went through the state machine
			// octet by octet: a tenth of the MX's CPU).
			if k := r.plainRun(len(b)-n, n); k > 0 {
				buf, _ := r.r.Peek(k)
				copy(b[n:], buf)
				r.r.Discard(k)
				n += k
				continue
			}
		}
		var c byte
		c, err = r.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			break
		}
		switch r.state {
		case stateBeginLine:
			if c == '.' {
				r.state = stateDot
				continue
			}
			if c == '\r' {
				r.state = stateCR
				break
			}
			r.state = stateData
		case stateDot:
			if c == '\r' {
				r.state = stateDotCR
				continue
			}
			r.state = stateData
		case stateDotCR:
			if c == '\n' {
				r.state = stateEOF
				continue
			}
			// Posthorn: ".\r" not followed by "\n" is a bare CR after a
			// removed dot. Pass the CR on (it was held back above) so the
			// session can see and refuse it (SMTP smuggling).
			r.r.UnreadByte()
			c = '\r'
			r.state = stateCR
		case stateCR:
			if c == '\n' {
				r.state = stateBeginLine
				break
			}
			if c == '\r' {
				// Posthorn: a CR after a CR may still start a CRLF; upstream
				// went to stateData here and so missed the end of data in
				// "\r\r\n.\r\n", reading on past it (a parser differential
				// of the kind SMTP smuggling exploits).
				break
			}
			r.state = stateData
		case stateData:
			if c == '\r' {
				r.state = stateCR
			}
		}
		if r.limited && int64(n) >= r.n {
			// Posthorn: one octet too many. It is dropped (the state
			// machine above has seen it, so a drain after this error
			// still finds the end of data).
			err = ErrDataTooLarge
			break
		}
		b[n] = c
		n++
	}
	if err == nil && r.state == stateEOF {
		err = io.EOF
	}

	if r.limited {
		r.n -= int64(n)
	}
	return
}
