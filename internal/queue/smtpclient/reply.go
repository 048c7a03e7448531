package smtpclient

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply is an SMTP reply: the code, the enhanced status code (RFC 3463)
// when the server gave one, and the text of all lines joined by "; ".
type Reply struct {
	Code     int
	Enhanced string // "5.1.1", or ""
	Text     string
}

func (r Reply) String() string {
	s := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		s += " " + r.Enhanced
	}
	if r.Text != "" {
		s += " " + r.Text
	}
	return s
}

// Positive reports a 2xx or 3xx reply.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// Temporary reports a 4xx reply.
func (r Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports a 5xx reply.
func (r Reply) Permanent() bool { return r.Code >= 500 }

// Status returns the enhanced status code, or one derived from the reply
// code class when the server gave none (RFC 3463 §3.1: X.0.0).
func (r Reply) Status() string {
	if r.Enhanced != "" {
		return r.Enhanced
	}
	switch {
	case r.Code >= 500:
		return "5.0.0"
	case r.Code >= 400:
		return "4.0.0"
	}
	return "2.0.0"
}

// Error is a failed command: the reply that said no, or a transport
// failure (Reply.Code 0).
type Error struct {
	Command string
	Reply   Reply
	Err     error // set for transport failures
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("smtp %s: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("smtp %s: %s", e.Command, e.Reply)
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help.
func (e *Error) Permanent() bool { return e.Err == nil && e.Reply.Permanent() }

// maxReplyLines bounds a multi-line reply, so a hostile server cannot make
// us buffer without end.
const maxReplyLines = 100

var errBadReply = errors.New("malformed reply")

// readReply reads one (possibly multi-line) reply. Lines are at most the
// bufio.Reader's buffer (RFC 5321 §4.5.3.1.5: 512 octets; we allow 4 KiB).
func readReply(r *bufio.Reader) (Reply, []string, error) {
	var lines []string
	code := 0
	for i := 0; ; i++ {
		if i >= maxReplyLines {
			return Reply{}, nil, errBadReply
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return Reply{}, nil, errBadReply
			}
			return Reply{}, nil, err
		}
		s := strings.TrimRight(string(line), "\r\n")
		if len(s) < 3 {
			return Reply{}, nil, errBadReply
		}
		c, err := strconv.Atoi(s[:3])
		if err != nil || c < 200 || c > 599 || (code != 0 && c != code) {
			return Reply{}, nil, errBadReply
		}
		code = c
		more := len(s) > 3 && s[3] == '-'
		if len(s) > 3 && s[3] != '-' && s[3] != ' ' {
			return Reply{}, nil, errBadReply
		}
		text := ""
		if len(s) > 4 {
			text = s[4:]
		}
		lines = append(lines, text)
		if !more {
			break
		}
	}
	rep := Reply{Code: code}
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l
		if i == 0 {
			rep.Enhanced, texts[i] = splitEnhanced(code, l)
		} else if enh, rest := splitEnhanced(code, l); enh == rep.Enhanced && enh != "" {
			texts[i] = rest
		}
	}
	rep.Text = strings.Join(texts, "; ")
	return rep, lines, nil
}

// splitEnhanced takes an enhanced status code (RFC 2034) off the front of
// a reply line when its class matches the reply code's.
func splitEnhanced(code int, line string) (string, string) {
	word, rest, _ := strings.Cut(line, " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 || len(word) > 11 {
		return "", line
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (i == 0 && n != code/100) {
			return "", line
		}
	}
	return word, rest
}
