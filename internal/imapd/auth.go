package imapd

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/klauspost/compress/flate"

	"posthorn/internal/inflate"
)

// Commands of any state and of the not-authenticated state (RFC 9051
// §6.1, §6.2), and the session-level extensions: ID (RFC 2971), ENABLE
// (RFC 5161), NAMESPACE (RFC 2342), COMPRESS (RFC 4978), SASL-IR (RFC
// 4959), LITERAL+/LITERAL- (RFC 7888).

// plaintextOK reports whether a password may be sent on this connection:
// with TLS, or from loopback when the option allows (RFC 9051 §11.1).
func (s *session) plaintextOK() bool {
	return s.isTLS || (s.loopback && s.srv.opts.AllowPlaintextOnLoopback)
}

// capabilities lists what the server offers in the current state. Every
// name here is implemented and tested; nothing else is advertised.
func (s *session) capabilities() []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2"}
	if s.state == notAuthenticated {
		if s.srv.opts.TLS != nil && !s.isTLS {
			caps = append(caps, "STARTTLS")
		}
		if s.plaintextOK() {
			caps = append(caps, "AUTH=PLAIN")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
		return append(caps, "SASL-IR", "LITERAL-", "ID", "ENABLE")
	}
	caps = append(caps, "LITERAL+", "ENABLE", "IDLE", "NAMESPACE", "ID", "UNSELECT", "UIDPLUS", "MOVE",
		"CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE", "ESEARCH", "SEARCHRES",
		"BINARY", "CONDSTORE", "QRESYNC", "MULTIAPPEND", "APPENDLIMIT="+strconv.FormatInt(s.appendLimit(), 10),
		"STATUS=SIZE", "SORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT")
	if s.zw == nil {
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	return caps
}

func cmdCapability(s *session, c *command) error {
	s.p.end()
	if !s.p.ok() {
		return nil
	}
	s.writeLine("* CAPABILITY " + strings.Join(s.capabilities(), " "))
	return nil
}

func cmdNoop(s *session, c *command) error {
	s.p.end()
	return nil
}

func cmdLogout(s *session, c *command) error {
	s.p.end()
	if !s.p.ok() {
		return nil
	}
	s.writeLine("* BYE Logging out")
	s.state = loggedOut
	return nil
}

// cmdID answers RFC 2971 ID with the server's name; the client's fields
// are logged.
func cmdID(s *session, c *command) error {
	p := &s.p
	p.sp()
	var fields []string
	if p.peek() == '(' {
		p.list(false, func() {
			k := p.str()
			p.sp()
			v, _ := p.nstring()
			if len(fields) < 60 { // RFC 2971 §3.3: at most 30 pairs
				fields = append(fields, truncate(k, 30), truncate(v, 200))
			}
		})
	} else if _, ok := p.nstring(); ok {
		p.failf("Expected a list or NIL")
	}
	p.end()
	if !p.ok() {
		return nil
	}
	if len(fields) > 0 {
		s.log.Debug("client id", "id", strings.Join(fields, " "))
	}
	s.writeLine(`* ID ("name" "Posthorn" "vendor" "Posthorn")`)
	return nil
}

// cmdStartTLS answers OK, then makes the connection TLS (RFC 9051 §6.2.1).
func cmdStartTLS(s *session, c *command) error {
	s.p.end()
	if !s.p.ok() {
		return nil
	}
	if s.isTLS || s.srv.opts.TLS == nil {
		return bad("STARTTLS not available")
	}
	s.tagged(c.tag, "OK", "", "Begin TLS negotiation now")
	if err := s.flush(); err != nil {
		return connError{err}
	}
	// Anything the client sent after STARTTLS before the handshake would be
	// taken as if it came over TLS (command injection): refuse it.
	if s.br.Buffered() > 0 {
		s.log.Info("closing: data pipelined after STARTTLS")
		return connError{errPipelinedTLS}
	}
	tc := tls.Server(s.raw, s.srv.opts.TLS)
	if err := tc.HandshakeContext(s.ctx()); err != nil {
		s.log.Info("STARTTLS handshake failed", "err", err)
		return connError{err}
	}
	s.setConn(tc)
	s.isTLS = true
	s.code, s.text = "", "" // the tagged OK was sent above
	return errAlreadyAnswered
}

// cmdLogin is LOGIN userid password (RFC 9051 §6.2.3).
func cmdLogin(s *session, c *command) error {
	p := &s.p
	p.sp()
	user := p.astring()
	p.sp()
	pass := p.astring()
	p.end()
	if !p.ok() {
		return nil
	}
	if !s.plaintextOK() {
		return no("PRIVACYREQUIRED", "LOGIN is disabled before STARTTLS")
	}
	return s.authenticate(user, pass)
}

// authenticate checks credentials with the account service (which delays
// failures and throttles by IP and account) and logs in.
func (s *session) authenticate(user, pass string) error {
	a, err := s.srv.opts.Accounts.Authenticate(s.ctx(), user, pass, s.remote)
	if err != nil {
		s.log.Info("authentication failed", "user", truncate(user, 100), "err", err)
		return err
	}
	s.login(a.ID, a.Address)
	s.code = "CAPABILITY " + strings.Join(s.capabilities(), " ")
	s.text = "Logged in"
	return nil
}

// cmdAuthenticate is AUTHENTICATE PLAIN (RFC 4616) with an optional
// initial response (SASL-IR, RFC 4959).
func cmdAuthenticate(s *session, c *command) error {
	p := &s.p
	p.sp()
	mech := strings.ToUpper(p.atom())
	var ir []byte
	hasIR := false
	if p.consume(' ') {
		ir = []byte(p.span(func(b byte) bool { return isAtomChar(b) || b == '=' }))
		hasIR = true
	}
	p.end()
	if !p.ok() {
		return nil
	}
	if mech != "PLAIN" {
		return no("CANNOT", "Unsupported authentication mechanism")
	}
	if !s.plaintextOK() {
		return no("PRIVACYREQUIRED", "Authentication requires TLS")
	}
	if !hasIR {
		s.writeLine("+ ")
		if err := s.flush(); err != nil {
			return connError{err}
		}
		line, err := p.readLine()
		if err != nil {
			return err
		}
		ir = bytes.Clone(line)
	}
	if string(ir) == "*" {
		return bad("Authentication cancelled")
	}
	var resp []byte
	if string(ir) != "=" { // "=" is an empty initial response
		var err error
		if resp, err = base64.StdEncoding.DecodeString(string(ir)); err != nil {
			return bad("Invalid base64 data")
		}
	}
	parts := strings.Split(string(resp), "\x00")
	if len(parts) != 3 {
		return bad("Invalid PLAIN response")
	}
	authz, user, pass := parts[0], parts[1], parts[2]
	if authz != "" && !strings.EqualFold(authz, user) {
		return no("AUTHORIZATIONFAILED", "Cannot act as another user")
	}
	return s.authenticate(user, pass)
}

// cmdEnable is ENABLE (RFC 5161) for CONDSTORE, QRESYNC and IMAP4rev2.
func cmdEnable(s *session, c *command) error {
	p := &s.p
	var names []string
	for p.consume(' ') {
		names = append(names, p.atom())
	}
	if len(names) == 0 {
		p.failf("ENABLE needs a capability")
	}
	p.end()
	if !p.ok() {
		return nil
	}
	var done []string
	for _, n := range names {
		switch strings.ToUpper(n) {
		case "CONDSTORE":
			s.enabled.condstore = true
			done = append(done, "CONDSTORE")
		case "QRESYNC":
			s.enabled.condstore, s.enabled.qresync = true, true
			done = append(done, "QRESYNC")
		case "IMAP4REV2":
			s.enabled.rev2 = true
			s.r.utf8, s.p.utf8 = true, true
			done = append(done, "IMAP4rev2")
		}
	}
	s.writeLine("* ENABLED " + strings.Join(done, " "))
	if s.sel != nil {
		s.sel.condstore, s.sel.qresync = s.enabled.condstore, s.enabled.qresync
	}
	return nil
}

// cmdNamespace answers RFC 2342 NAMESPACE: one personal namespace, no
// shared or other users' mailboxes.
func cmdNamespace(s *session, c *command) error {
	s.p.end()
	if s.p.ok() {
		s.writeLine(`* NAMESPACE (("" "/")) NIL NIL`)
	}
	return nil
}

// cmdCompress is COMPRESS DEFLATE (RFC 4978): after the tagged OK both
// directions are raw DEFLATE (RFC 1951) streams.
func cmdCompress(s *session, c *command) error {
	p := &s.p
	p.sp()
	alg := p.atom()
	p.end()
	if !p.ok() {
		return nil
	}
	if !strings.EqualFold(alg, "DEFLATE") {
		return bad("Unknown compression algorithm")
	}
	if s.zw != nil {
		return no("COMPRESSIONACTIVE", "Compression is already active")
	}
	s.tagged(c.tag, "OK", "", "DEFLATE active")
	if err := s.flush(); err != nil {
		return connError{err}
	}
	// Data the client sent after the command is already compressed: the
	// inflater reads it from the old buffer before the connection. Clients
	// such as mbsync end each command with Z_PARTIAL_FLUSH or Z_SYNC_FLUSH
	// and wait for the answer, so every octet sent must come out before
	// the inflater reads on. Go's inflaters (compress/flate, klauspost's)
	// hold the last symbols back until more input arrives, and the session
	// hangs; package inflate hands each octet out as it is decoded.
	zr := inflate.NewReader(s.br)
	s.br = bufio.NewReaderSize(zr, 2048)
	s.p.br = s.br
	zw, _ := flate.NewWriter(&s.dw, flate.BestSpeed)
	s.zw = zw
	s.bw.Reset(s.target())
	return errAlreadyAnswered
}
