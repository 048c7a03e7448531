package smtpd

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"posthorn/internal/account"
	"posthorn/internal/connlimit"
	"posthorn/internal/delivery"
	"posthorn/internal/mailauth"
	"posthorn/internal/message"
)

// session is one SMTP session on the MX (and the base of a submission
// session). go-smtp calls its methods from the connection's goroutine,
// except Data for BDAT, which runs in a goroutine of its own while later
// commands may arrive (RSET, a new EHLO): mu guards the transaction state.
type session struct {
	srv  *Server
	conn *smtp.Conn
	tc   *trackedConn  // nil only if the listener was not ours
	errs *atomic.Int32 // refused commands on this connection

	mu       sync.Mutex
	log      *slog.Logger
	auth     *account.Account // the authenticated user (submission only)
	from     *string
	mailOpts smtp.MailOptions
	rcpts    []delivery.Recipient
	spf      *mailauth.SPFResult // the SPF check made at MAIL (MX)
}

var _ smtp.Session = (*session)(nil)

func (s *session) ctx() context.Context { return context.Background() }

// logger returns the session's logger (it gains the user after AUTH).
func (s *session) logger() *slog.Logger {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log
}

// Reset implements smtp.Session (RSET, a new EHLO, after DATA).
func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from = nil
	s.mailOpts = smtp.MailOptions{}
	s.rcpts = nil
	s.spf = nil
}

// Logout implements smtp.Session.
func (s *session) Logout() error { return nil }

// Mail implements smtp.Session.
func (s *session) Mail(from string, opts *smtp.MailOptions) (err error) {
	defer s.recoverPanic("MAIL", &err)
	s.mu.Lock()
	auth, log, nested := s.auth, s.log, s.from != nil
	s.mu.Unlock()
	if nested {
		// RFC 5321 §4.1.1.2: MAIL starts a transaction; one is open.
		return s.refused(reply(503, 5, 5, 1, "Nested MAIL command"))
	}
	if s.srv.opts.Role == Submission {
		// RFC 6409 §4.3: submission requires authentication.
		if auth == nil {
			log.Info("rejected", "stage", "mail", "from", from, "err", "not authenticated")
			return s.refused(replyAuthRequired)
		}
		if from == "" {
			return s.refused(reply(553, 5, 7, 1, "Users may not send with the null sender"))
		}
		if err := s.srv.opts.Delivery.Sender(s.ctx(), *auth, from); err != nil {
			log.Info("rejected", "stage", "mail", "from", from, "err", err)
			return s.refused(toReply(err, log, "MAIL"))
		}
	}
	var spf *mailauth.SPFResult
	if c := s.srv.opts.Checker; c != nil && s.srv.opts.Role == MX {
		// RFC 7208 §2.4: check MAIL FROM (and HELO) when MAIL arrives, so
		// an enforced "fail" is refused before any data is sent.
		r := c.CheckSPF(s.ctx(), connlimit.RemoteIP(s.conn.Conn()), s.conn.Hostname(), from)
		if r.Reject {
			log.Info("rejected", "stage", "mail", "from", from, "err", "SPF fail", "spf", r.Identity().Result)
			return s.refused(toReply(mailauth.ErrSPFReject, log, "MAIL"))
		}
		spf = &r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spf = spf
	s.from = &from
	s.mailOpts = smtp.MailOptions{}
	if opts != nil {
		s.mailOpts = *opts
	}
	s.rcpts = nil
	return nil
}

// Rcpt implements smtp.Session. Recipients are checked here, not after
// DATA, so an unknown user is refused while the client is still talking
// to us and no bounce is ever needed (no backscatter).
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) (err error) {
	defer s.recoverPanic("RCPT", &err)
	s.mu.Lock()
	from, auth, log := s.from, s.auth, s.log
	s.mu.Unlock()
	if from == nil {
		return reply(503, 5, 5, 1, "MAIL first")
	}
	targets, err := s.srv.opts.Delivery.Recipient(s.ctx(), to, auth != nil)
	if err != nil {
		log.Info("rejected", "stage", "rcpt", "from", *from, "rcpt", to, "err", err)
		return s.refused(toReply(err, log, "RCPT"))
	}
	r := delivery.Recipient{Address: to, Targets: targets}
	if opts != nil {
		var notify []string
		for _, n := range opts.Notify {
			notify = append(notify, string(n))
		}
		r.Notify = strings.Join(notify, ",")
		if opts.OriginalRecipient != "" {
			r.ORcpt = string(opts.OriginalRecipientType) + ";" + opts.OriginalRecipient
		}
	}
	s.mu.Lock()
	s.rcpts = append(s.rcpts, r)
	s.mu.Unlock()
	return nil
}

// Data implements smtp.Session: this is where an SMTP message becomes a
// stored one. delivery.Deliver returns only after the store commit is
// durable; only then does the client get 250.
func (s *session) Data(r io.Reader) (err error) {
	defer s.recoverPanic("DATA", &err)
	if s.tc != nil {
		s.tc.busy.Store(true) // a shutdown lets this message finish
		defer s.tc.busy.Store(false)
	}
	s.mu.Lock()
	from, rcpts, opts, auth, log, spf := s.from, s.rcpts, s.mailOpts, s.auth, s.log, s.spf
	s.mu.Unlock()
	if from == nil || len(rcpts) == 0 {
		return reply(503, 5, 5, 1, "MAIL and RCPT first")
	}
	env := delivery.Envelope{
		From: *from, Recipients: rcpts, Auth: auth, Submission: s.srv.opts.Role == Submission,
		Body8Bit: opts.Body == smtp.Body8BitMIME, SMTPUTF8: opts.UTF8, EnvID: opts.EnvelopeID,
		Ret:   string(opts.Return),
		Trace: s.trace(opts.UTF8),
		SPF:   spf,
	}
	start := time.Now()
	res, err := s.srv.opts.Delivery.Deliver(s.ctx(), env, &deadlineReader{r: r, conn: s.conn, timeout: s.srv.opts.DataTimeout})
	tlsInfo := "none"
	if env.Trace.TLSVersion != 0 {
		tlsInfo = tls.VersionName(env.Trace.TLSVersion)
	}
	addrs := rcptList(rcpts)
	if err != nil {
		log.Info("rejected", "stage", "data", "id", res.ID, "from", env.From, "rcpts", addrs, "size", res.Size, "tls", tlsInfo, "err", err)
		return s.refused(toReply(err, log, "DATA"))
	}
	s.errs.Store(0) // errors count only while no mail is delivered
	log.Info("accepted", "id", res.ID, "from", env.From, "rcpts", addrs, "size", res.Size, "tls", tlsInfo,
		"local", res.Local, "queued", res.Queued, "ms", time.Since(start).Milliseconds())
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK, queued as " + res.ID}
}

// refused counts a refused command and passes its reply on; past
// MaxErrors the session ends instead (421 closes the connection).
func (s *session) refused(rep error) error {
	if n := s.errs.Add(1); int(n) > s.srv.opts.MaxErrors {
		s.logger().Info("too many errors, disconnecting", "errors", n)
		return replyTooManyErrors
	}
	return rep
}

// recoverPanic turns a panic in a session method into a 421 reply, which
// closes the connection, and logs the stack with the session id. The other
// sessions go on.
func (s *session) recoverPanic(what string, err *error) {
	if p := recover(); p != nil {
		s.logger().Error("panic in session", "command", what, "panic", p, "stack", string(debug.Stack()))
		*err = replyInternal
	}
}

func rcptList(rcpts []delivery.Recipient) string {
	addrs := make([]string, len(rcpts))
	for i, r := range rcpts {
		addrs[i] = r.Address
	}
	return strings.Join(addrs, ",")
}

// trace describes the session for the Received header.
func (s *session) trace(utf8 bool) message.ReceivedInfo {
	t := message.ReceivedInfo{
		Helo:     s.conn.Hostname(),
		RemoteIP: connlimit.RemoteIP(s.conn.Conn()),
		ESMTP:    s.conn.ESMTP(),
		SMTPUTF8: utf8,
	}
	if st, ok := s.conn.TLSConnectionState(); ok {
		t.TLSVersion, t.TLSCipher = st.Version, st.CipherSuite
	}
	return t
}

// deadlineReader moves the connection's read deadline forward before each
// read of message data, so a large message may take as long as it needs as
// long as data keeps coming (RFC 5321 §4.5.3.2.5: 3 minutes per block).
type deadlineReader struct {
	r       io.Reader
	conn    *smtp.Conn
	timeout time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.conn.Conn().SetReadDeadline(time.Now().Add(d.timeout))
	return d.r.Read(p)
}
