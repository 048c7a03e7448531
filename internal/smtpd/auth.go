package smtpd

import (
	"errors"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"posthorn/internal/connlimit"
)

// authSession is a submission session: a session that can authenticate.
type authSession struct {
	*session
}

var _ smtp.AuthSession = (*authSession)(nil)

// AuthMechanisms implements smtp.AuthSession. go-smtp offers them only
// when AUTH is allowed on this connection: under TLS, or from loopback
// when AllowPlaintextOnLoopback is set (RFC 4954 §4: no plaintext
// passwords over an unprotected channel).
func (s *authSession) AuthMechanisms() []string {
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements smtp.AuthSession.
func (s *authSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		// RFC 4616 §2: message = [authzid] NUL authcid NUL passwd.
		return &saslGuard{s: s, next: sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return s.refused(replyAuthFailed) // no authorization as someone else
			}
			return s.login(username, password)
		})}, nil
	case sasl.Login:
		return &saslGuard{s: s, next: &loginServer{check: s.login}}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// login checks the credentials and remembers the account. Failures take
// the account service's minimum time and count toward its per-IP and
// per-account back-off (454 4.7.0 while it lasts).
func (s *authSession) login(username, password string) error {
	a, err := s.srv.opts.Accounts.Authenticate(s.ctx(), username, password, connlimit.RemoteIP(s.conn.Conn()))
	log := s.logger()
	if err != nil {
		log.Info("auth failed", "user", username, "err", err)
		return s.refused(toReply(err, log, "AUTH"))
	}
	s.mu.Lock()
	s.auth = &a
	s.log = s.log.With("user", a.Address)
	s.mu.Unlock()
	s.logger().Info("authenticated")
	return nil
}

// saslGuard wraps a SASL server so that what reaches go-smtp is always a
// reply: a malformed client response is 501 5.5.2 (RFC 4954 §4), never
// the library's raw error (which go-smtp would send as 454 with its text),
// and a panic is logged and ends the connection.
type saslGuard struct {
	s    *authSession
	next sasl.Server
}

func (g *saslGuard) Next(response []byte) (challenge []byte, done bool, err error) {
	defer g.s.recoverPanic("AUTH", &err)
	challenge, done, err = g.next.Next(response)
	var se *smtp.SMTPError
	if err != nil && !errors.As(err, &se) {
		g.s.logger().Info("auth failed", "err", err)
		err = g.s.refused(replyBadSASL)
	}
	return challenge, done, err
}

// loginServer is the server side of the obsolete but widespread LOGIN
// mechanism (draft-murchison-sasl-login): the username, then the password,
// each after a challenge. go-sasl has only the client side.
type loginServer struct {
	check    func(user, pass string) error
	user     string
	gotUser  bool
	finished bool
}

// Next implements sasl.Server.
func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case l.finished:
		return nil, false, errors.New("sasl: LOGIN already finished")
	case !l.gotUser && response == nil:
		return []byte("Username:"), false, nil
	case !l.gotUser:
		l.user, l.gotUser = string(response), true
		return []byte("Password:"), false, nil
	}
	l.finished = true
	return nil, true, l.check(l.user, string(response))
}
