package pop3d

import (
	"bytes"
	"strings"
)

// maxKeyword bounds a command keyword. RFC 1939 §3 keywords are three or
// four characters; RFC 2449 §3 lets extensions use longer ones, which no
// command of ours does.
const maxKeyword = 8

// parseCommand splits a command line into its keyword, upper-cased, and
// the rest of the line after the single space that follows it (RFC 1939
// §3: "a keyword possibly followed by one or more arguments ... separated
// by a single SPACE character"). ok is false when the keyword is not a
// run of ASCII letters of a plausible length, or the line holds control
// characters other than in a PASS or AUTH argument (passwords and base64
// are checked by their consumers).
func parseCommand(line []byte) (keyword, args string, ok bool) {
	kw, rest, _ := bytes.Cut(line, []byte{' '})
	if len(kw) < 3 || len(kw) > maxKeyword {
		return "", "", false
	}
	for _, c := range kw {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return "", "", false
		}
	}
	keyword = strings.ToUpper(string(kw))
	if keyword != "PASS" {
		for _, c := range rest {
			if c < ' ' || c == 0x7f {
				return "", "", false
			}
		}
	}
	return keyword, string(rest), true
}

// parseNumber parses a message number or line count: decimal digits only,
// at most nine of them (RFC 1939 §3 numbers are plain decimal).
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// command is one POP3 command: the states it is valid in and its handler.
type command struct {
	auth, trans bool
	run         func(s *session, args string) error
}

// lookup finds a command by its upper-case keyword. APOP is not offered
// (see the package doc) and so is unknown, like any other keyword.
func lookup(keyword string) (command, bool) {
	switch keyword {
	case "CAPA": // RFC 2449 §5: valid in both states
		return command{true, true, (*session).cmdCapa}, true
	case "QUIT":
		return command{true, true, (*session).cmdQuit}, true
	case "USER":
		return command{auth: true, run: (*session).cmdUser}, true
	case "PASS":
		return command{auth: true, run: (*session).cmdPass}, true
	case "AUTH":
		return command{auth: true, run: (*session).cmdAuth}, true
	case "STLS":
		return command{auth: true, run: (*session).cmdStls}, true
	case "STAT":
		return command{trans: true, run: (*session).cmdStat}, true
	case "LIST":
		return command{trans: true, run: (*session).cmdList}, true
	case "UIDL":
		return command{trans: true, run: (*session).cmdUidl}, true
	case "RETR":
		return command{trans: true, run: (*session).cmdRetr}, true
	case "TOP":
		return command{trans: true, run: (*session).cmdTop}, true
	case "DELE":
		return command{trans: true, run: (*session).cmdDele}, true
	case "RSET":
		return command{trans: true, run: (*session).cmdRset}, true
	case "NOOP":
		return command{trans: true, run: (*session).cmdNoop}, true
	}
	return command{}, false
}

// dispatch runs one command line.
func (s *session) dispatch(line []byte) error {
	if s.lines == 1 && looksLikeHTTP(line) {
		// A browser or proxy probe: answer once and hang up rather than
		// refuse every header line (STYLE.md practice 12).
		s.log.Info("client speaks HTTP; closing connection")
		s.writeErr(replyUnknown)
		return errQuit
	}
	keyword, args, ok := parseCommand(line)
	if !ok {
		return s.fail(replyUnknown)
	}
	cmd, ok := lookup(keyword)
	if !ok {
		s.log.Debug("unknown command", "cmd", keyword)
		return s.fail(replyUnknown)
	}
	if (s.state == stateAuth && !cmd.auth) || (s.state == stateTrans && !cmd.trans) {
		return s.fail(replyBadState)
	}
	s.log.Debug("command", "cmd", keyword)
	return cmd.run(s, args)
}

// looksLikeHTTP reports whether a first line is an HTTP request line.
func looksLikeHTTP(line []byte) bool {
	method, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return false
	}
	switch string(method) {
	case "GET", "POST", "HEAD", "PUT", "OPTIONS", "CONNECT", "DELETE":
		return bytes.Contains(rest, []byte(" HTTP/"))
	}
	return false
}
