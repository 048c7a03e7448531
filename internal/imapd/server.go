package imapd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/connlimit"
	"posthorn/internal/mailbox"
)

// Options configure a Server. Mailboxes and Accounts are required; the
// zero value of every other field works.
type Options struct {
	// Hostname is named in the greeting.
	Hostname  string
	Mailboxes *mailbox.Service
	Accounts  *account.Service
	// TLS enables STARTTLS, or with ImplicitTLS is the listener's TLS
	// (imaps, port 993); nil for none.
	TLS         *tls.Config
	ImplicitTLS bool
	// AllowPlaintextOnLoopback allows LOGIN and AUTHENTICATE PLAIN without
	// TLS from 127.0.0.1 and ::1; elsewhere the server says LOGINDISABLED
	// until STARTTLS (RFC 9051 §6.2.3, §11.1).
	AllowPlaintextOnLoopback bool
	// MaxConnectionsPerIP bounds simultaneous sessions from one IP (0: none).
	MaxConnectionsPerIP int
	Logger              *slog.Logger
	// IdleTimeout ends an authenticated session that sends nothing for
	// this long, also in IDLE (default 30 min, RFC 9051 §5.4);
	// PreAuthTimeout does the same before login (default 5 min).
	IdleTimeout    time.Duration
	PreAuthTimeout time.Duration
	// WriteTimeout bounds each write to the client (default 5 min).
	WriteTimeout time.Duration
	// MaxBadCommands is how many refused commands in a row end the
	// session (default 20).
	MaxBadCommands int
}

// Server serves IMAP on listeners.
type Server struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	lns      map[net.Listener]bool
	sessions map[*session]bool
	closing  bool
	wg       sync.WaitGroup
}

// NewServer makes a Server.
func NewServer(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.PreAuthTimeout <= 0 {
		o.PreAuthTimeout = 5 * time.Minute
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Minute
	}
	if o.MaxBadCommands <= 0 {
		o.MaxBadCommands = 20
	}
	name := "imap"
	if o.ImplicitTLS {
		name = "imaps"
	}
	return &Server{opts: o, log: o.Logger.With("listener", name), lns: map[net.Listener]bool{}, sessions: map[*session]bool{}}
}

// Serve accepts connections on ln until Shutdown; it then returns
// net.ErrClosed.
func (srv *Server) Serve(ln net.Listener) error {
	ln = connlimit.New(ln, srv.opts.MaxConnectionsPerIP, "* BYE [UNAVAILABLE] Too many connections from your address\r\n")
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	srv.lns[ln] = true
	srv.mu.Unlock()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			srv.mu.Lock()
			closing := srv.closing
			srv.mu.Unlock()
			if closing || errors.Is(err, net.ErrClosed) {
				return net.ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !srv.track(c) {
			c.Close()
			return net.ErrClosed
		}
	}
}

// track starts a session for c unless the server is shutting down.
func (srv *Server) track(c net.Conn) bool {
	s := newSession(srv, c)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing {
		return false
	}
	srv.sessions[s] = true
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		s.serve()
		srv.mu.Lock()
		delete(srv.sessions, s)
		srv.mu.Unlock()
	}()
	return true
}

// Shutdown stops accepting, tells every session BYE as soon as it is
// between commands, and waits for them to end or for ctx; then it closes
// what is left.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closing = true
	for ln := range srv.lns {
		ln.Close()
	}
	var ss []*session
	for s := range srv.sessions {
		ss = append(ss, s)
	}
	srv.mu.Unlock()
	for _, s := range ss {
		go s.shutdown()
	}
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		srv.mu.Lock()
		for s := range srv.sessions {
			s.raw.Close()
		}
		srv.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// Sessions returns the number of open sessions.
func (srv *Server) Sessions() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

func newSessionID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
