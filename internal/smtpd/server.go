package smtpd

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"posthorn/internal/account"
	"posthorn/internal/connlimit"
	"posthorn/internal/delivery"
	"posthorn/internal/mailauth"
)

// Role says which service a listener offers.
type Role int

// Roles.
const (
	MX         Role = iota // port 25: mail for local domains from anyone
	Submission             // ports 587/465: mail from authenticated users
)

// String names the role as the [listen] key of its port does.
func (r Role) String() string {
	if r == Submission {
		return "submission"
	}
	return "smtp"
}

// Options configure a Server. Delivery and Accounts are required.
type Options struct {
	Role     Role
	Hostname string
	Delivery *delivery.Service
	Accounts *account.Service
	// TLS enables STARTTLS, or with ImplicitTLS is the listener's TLS
	// (port 465); nil for none.
	TLS         *tls.Config
	ImplicitTLS bool
	// Checker runs the MX's SPF check at MAIL FROM (the rest of the checks
	// run in delivery); nil checks nothing.
	Checker *mailauth.Checker
	// AllowPlaintextOnLoopback offers AUTH without TLS to 127.0.0.1/::1.
	AllowPlaintextOnLoopback bool
	// MaxConnectionsPerIP bounds simultaneous sessions from one IP (0: none).
	MaxConnectionsPerIP int
	Logger              *slog.Logger
	// CommandTimeout bounds the wait for each command (default 5 min,
	// RFC 5321 §4.5.3.2.7); DataTimeout the wait for each block of message
	// data (default 3 min, §4.5.3.2.5).
	CommandTimeout time.Duration
	DataTimeout    time.Duration
	// MaxErrors is how many refused commands (4xx/5xx from MAIL, RCPT,
	// DATA, AUTH) a client may collect without delivering a message before
	// the session ends with 421 (default 20, as Postfix's
	// smtpd_hard_error_limit). It stops address harvesting and password
	// guessing on one connection.
	MaxErrors int
}

// Server serves one SMTP listener: the MX or submission role, plain with
// STARTTLS or implicit TLS.
type Server struct {
	opts Options
	srv  *smtp.Server
	log  *slog.Logger

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// NewServer makes a Server. It keeps its own copy of o.TLS with session
// tickets disabled.
func NewServer(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = 5 * time.Minute
	}
	if o.DataTimeout == 0 {
		o.DataTimeout = 3 * time.Minute
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = 20
	}
	if o.TLS != nil {
		// No session tickets: a ticket key shared by every connection
		// would let one stolen key decrypt recorded sessions (tickets
		// undo forward secrecy), and resumption buys SMTP nothing.
		o.TLS = o.TLS.Clone()
		o.TLS.SessionTicketsDisabled = true
	}
	s := &Server{opts: o, log: o.Logger.With("listener", o.Role.String()), conns: make(map[*trackedConn]struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = o.Hostname
	if !o.ImplicitTLS {
		srv.TLSConfig = o.TLS // STARTTLS (RFC 3207)
	}
	srv.MaxMessageBytes = o.Delivery.MaxMessageSize()
	srv.MaxRecipients = o.Delivery.MaxRecipients()
	// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with its
	// CRLF; we allow 1000 (the text line limit of §4.5.3.1.6), as Postfix
	// does. A longer line gets 500 5.5.2 and the connection is closed
	// without the line being buffered. Message data has no line limit.
	srv.MaxLineLength = 1000
	// RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes for each
	// command; §4.5.3.2.5: 3 minutes for each block of data (deadlineReader).
	srv.ReadTimeout = o.CommandTimeout
	srv.WriteTimeout = o.CommandTimeout
	srv.EnableSMTPUTF8 = true
	srv.EnableDSN = true
	srv.AllowInsecureAuth = false
	srv.AllowInsecureAuthFunc = func(c *smtp.Conn) bool {
		return o.AllowPlaintextOnLoopback && connlimit.IsLoopback(c.Conn())
	}
	srv.ErrorLog = errorLog{s.log}
	s.srv = srv
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	ln = connlimit.New(ln, s.opts.MaxConnectionsPerIP, "421 4.7.0 "+s.opts.Hostname+" Too many connections from your address\r\n")
	ln = trackingListener{Listener: ln, srv: s}
	if s.opts.ImplicitTLS {
		// go-smtp recognises a *tls.Conn and handshakes first.
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	return s.srv.Serve(ln)
}

func newSessionID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newSession is the go-smtp Backend: it runs at the client's first
// EHLO/HELO (and again after STARTTLS).
func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	base := &session{srv: s, conn: c, tc: trackedOf(c.Conn())}
	id := newSessionID()
	base.errs = new(atomic.Int32)
	if base.tc != nil {
		id, base.errs = base.tc.id, &base.tc.errs
	}
	base.log = s.log.With("session", id, "remote", c.Conn().RemoteAddr().String())
	base.log.Debug("session started", "helo", c.Hostname(), "tls", isTLS)
	if s.opts.Role == Submission {
		return &authSession{session: base}, nil
	}
	return base, nil
}

// errorLog takes go-smtp's own reports: the panics it recovered (with
// their stack) at Error, connection errors (a failed TLS handshake, a
// client gone) at Info, since the client caused them.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) { l.print(fmt.Sprintf(format, v...)) }
func (l errorLog) Println(v ...any)               { l.print(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

func (l errorLog) print(msg string) {
	if strings.HasPrefix(msg, "panic") {
		l.log.Error("smtp: recovered", "panic", msg)
		return
	}
	l.log.Info("smtp: connection", "err", msg)
}
