package pop3d

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"
)

// plaintextAllowed reports whether this connection may carry a password:
// under TLS, or from loopback when the operator allows it (RFC 2595 §2.1:
// no cleartext passwords before TLS).
func (s *session) plaintextAllowed() bool {
	return s.tls || (s.srv.opts.AllowPlaintextOnLoopback && s.remote.IsLoopback())
}

// cmdCapa lists the capabilities valid in the current state (RFC 2449 §5).
// USER and SASL are announced only where a password may be sent, STLS only
// before TLS and login (RFC 2595 §4).
func (s *session) cmdCapa(args string) error {
	if args != "" {
		return s.fail(replySyntax)
	}
	s.printf("+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n")
	if s.state == stateAuth {
		if s.plaintextAllowed() {
			s.printf("USER\r\nSASL PLAIN\r\n")
		}
		if s.srv.opts.TLS != nil && !s.tls {
			s.printf("STLS\r\n")
		}
	}
	s.printf("IMPLEMENTATION Posthorn\r\n.\r\n")
	return nil
}

// cmdQuit ends the session; in the TRANSACTION state it first enters
// UPDATE (RFC 1939 §6).
func (s *session) cmdQuit(args string) error {
	if args != "" {
		return s.fail(replySyntax)
	}
	if s.state == stateTrans {
		deleted, err := s.update()
		// RFC 1939 §6 releases the lock after the reply; releasing it
		// before the reply leaves the server spares a client that
		// reconnects at once a spurious [IN-USE].
		s.release()
		if err != nil {
			s.writeErr(replyNotRemoved)
			return errQuit
		}
		s.ok("%s POP3 server signing off (%d messages deleted)", s.srv.opts.Hostname, deleted)
		return errQuit
	}
	s.ok("%s POP3 server signing off", s.srv.opts.Hostname)
	return errQuit
}

// cmdUser takes the name for a following PASS (RFC 1939 §7). The reply is
// the same whether or not the user exists.
func (s *session) cmdUser(args string) error {
	if !s.plaintextAllowed() {
		return s.fail(replyNeedTLS)
	}
	if args == "" {
		return s.fail(replySyntax)
	}
	s.user = &args
	return s.ok("Send your password")
}

// cmdPass completes USER/PASS. RFC 1939 §7 lets the server take spaces as
// part of the password, so the argument is the whole rest of the line. A
// failed PASS returns to the start of AUTHORIZATION: USER is needed again.
func (s *session) cmdPass(args string) error {
	if !s.plaintextAllowed() {
		return s.fail(replyNeedTLS)
	}
	if s.user == nil {
		return s.fail(replyNeedUser)
	}
	user := *s.user
	s.user = nil
	if args == "" {
		return s.fail(replySyntax)
	}
	return s.login(user, args)
}

// cmdAuth runs AUTH (RFC 5034) with the PLAIN mechanism (RFC 4616), with or
// without an initial response. A bare AUTH lists the mechanisms, as many
// clients expect.
func (s *session) cmdAuth(args string) error {
	s.user = nil
	if args == "" {
		s.printf("+OK\r\n")
		if s.plaintextAllowed() {
			s.printf("PLAIN\r\n")
		}
		s.printf(".\r\n")
		return nil
	}
	mech, ir, hasIR := strings.Cut(args, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		return s.fail(replyNoMech)
	}
	if !s.plaintextAllowed() {
		return s.fail(replyNeedTLS)
	}
	resp := ir
	if !hasIR {
		// RFC 5034 §4: an empty server challenge is "+ ".
		s.printf("+ \r\n")
		line, err := s.readLine()
		if errors.Is(err, errLineTooLong) {
			return s.fail(replyLineTooLong)
		}
		if err != nil {
			return err
		}
		resp = string(line)
	}
	if resp == "*" {
		return s.fail(replyAuthCancel) // RFC 5034 §4: the client cancelled
	}
	var data []byte
	if resp != "=" { // RFC 5034 §4: "=" is an empty initial response
		var err error
		if data, err = base64.StdEncoding.DecodeString(resp); err != nil {
			return s.fail(replyBadBase64)
		}
	}
	authz, user, pass, ok := parsePlain(data)
	if !ok {
		return s.fail(replySyntax)
	}
	if authz != "" && authz != user {
		s.log.Info("login failed", "user", user, "err", "authorization identity differs", "authzid", authz)
		return s.fail(replyAuthFailed) // no logging in as someone else
	}
	return s.login(user, pass)
}

// parsePlain splits a PLAIN message (RFC 4616 §2): authzid NUL authcid NUL
// passwd, UTF-8, authcid and passwd not empty.
func parsePlain(b []byte) (authz, user, pass string, ok bool) {
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 || !utf8.Valid(b) {
		return "", "", "", false
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), true
}

// login checks credentials, takes the maildrop lock and numbers the
// maildrop (RFC 1939 §4). Failed logins cost time and back off in the
// account service.
func (s *session) login(user, pass string) error {
	a, err := s.srv.opts.Accounts.Authenticate(s.ctx, user, pass, s.remote)
	if err != nil {
		s.log.Info("login failed", "user", user, "err", err)
		r := toReply(err, s.log, "login")
		metricLogins.WithLabelValues(loginResult(r)).Inc()
		return s.fail(r)
	}
	unlock, ok := s.srv.drops.Lock(a.ID)
	if !ok {
		s.log.Info("login refused: maildrop in use", "user", a.Address)
		metricLogins.WithLabelValues("in_use").Inc()
		return s.fail(replyInUse)
	}
	drop, err := s.loadMaildrop(a)
	if err != nil {
		unlock()
		metricLogins.WithLabelValues("error").Inc()
		return s.fail(toReply(err, s.log, "open maildrop"))
	}
	metricLogins.WithLabelValues("ok").Inc()
	s.acct, s.drop, s.unlock, s.state = a, drop, unlock, stateTrans
	s.log = s.log.With("user", a.Address)
	s.log.Info("logged in", "messages", drop.count, "octets", drop.size, "tls", s.tls)
	return s.ok("Logged in; maildrop has %d messages (%d octets)", drop.count, drop.size)
}

// loginResult names a failed login's reply for the logins metric.
func loginResult(r reply) string {
	switch r {
	case replyAuthFailed:
		return "failed"
	case replyThrottled:
		return "throttled"
	}
	return "error"
}

// cmdStls starts TLS (RFC 2595 §4). Plaintext the client pipelined after
// STLS is discarded, so that it cannot pose as commands sent under TLS
// (the STARTTLS command injection of CVE-2011-0411). USER is forgotten.
func (s *session) cmdStls(args string) error {
	switch {
	case args != "":
		return s.fail(replySyntax)
	case s.tls:
		return s.fail(replyTLSActive)
	case s.srv.opts.TLS == nil:
		return s.fail(replyNoTLS)
	}
	s.ok("Begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		return err
	}
	if n := s.r.Buffered(); n > 0 {
		s.log.Warn("discarding plaintext pipelined after STLS", "octets", n)
	}
	tc := tls.Server(s.conn, s.srv.opts.TLS)
	s.cmu.Lock()
	s.conn = tc
	s.cmu.Unlock()
	if err := s.handshake(tc); err != nil {
		return err
	}
	s.r = bufio.NewReaderSize(tc, s.srv.opts.MaxLineLength)
	s.user = nil
	return nil
}
