package pop3d

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/connlimit"
	"posthorn/internal/mailbox"
)

// Options configure a Server. Mailboxes and Accounts are required; the zero
// value of every other field works.
type Options struct {
	Hostname  string
	Mailboxes *mailbox.Service
	Accounts  *account.Service
	// Maildrops is the maildrop lock table. Every POP3 listener of a
	// process must share one, so that pop3 and pop3s lock each other out;
	// nil gives the Server a table of its own.
	Maildrops *mailbox.Maildrops
	// TLS enables STLS (RFC 2595), or with ImplicitTLS is the listener's
	// TLS (port 995); nil for none.
	TLS         *tls.Config
	ImplicitTLS bool
	// AllowPlaintextOnLoopback accepts USER/PASS and AUTH PLAIN without TLS
	// from 127.0.0.1 and ::1.
	AllowPlaintextOnLoopback bool
	// MaxConnectionsPerIP bounds simultaneous sessions from one IP (0: none).
	MaxConnectionsPerIP int
	Logger              *slog.Logger
	// IdleTimeout is the autologout timer: the longest wait for a command
	// or for the client to take a response (default 10 minutes, the least
	// RFC 1939 §3 allows).
	IdleTimeout time.Duration
	// MaxLineLength bounds a command line with its CRLF (default 1024).
	MaxLineLength int
	// MaxErrors is the number of refused commands (unknown, out of state,
	// bad arguments, failed logins) after which the connection is closed
	// (default 10).
	MaxErrors int
	// Name names the listener in logs (default "pop3", or "pop3s").
	Name string
}

// Server serves POP3 on one or more listeners.
type Server struct {
	opts  Options
	log   *slog.Logger
	drops *mailbox.Maildrops

	base     context.Context // the sessions' context; cancelled when Shutdown gives up waiting
	stopBase context.CancelFunc

	// closing is set once Shutdown begins. It is atomic because sessions
	// read it under their own lock (session.armRead), which Shutdown takes
	// while holding mu.
	closing   atomic.Bool
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	wg        sync.WaitGroup
}

// NewServer makes a Server.
func NewServer(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = 1024
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 10
	}
	if o.Name == "" {
		o.Name = "pop3"
		if o.ImplicitTLS {
			o.Name = "pop3s"
		}
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	drops := o.Maildrops
	if drops == nil {
		drops = new(mailbox.Maildrops)
	}
	base, stop := context.WithCancel(context.Background())
	return &Server{
		opts: o, log: o.Logger.With("listener", o.Name), drops: drops, base: base, stopBase: stop,
		listeners: make(map[net.Listener]struct{}), sessions: make(map[*session]struct{}),
	}
}

// Serve accepts connections on ln until Shutdown; then it returns an error
// that wraps net.ErrClosed.
func (s *Server) Serve(ln net.Listener) error {
	ln = connlimit.New(ln, s.opts.MaxConnectionsPerIP, "-ERR ["+codeSysTemp+"] Too many connections from your address\r\n")
	if s.opts.ImplicitTLS {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and go on, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.startSession(c) {
			c.Close()
		}
	}
}

// startSession registers a session for c and runs it; false when the
// server is shutting down.
func (s *Server) startSession(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	sess := newSession(s, c)
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.sessions, sess)
			s.mu.Unlock()
		}()
		s.run(sess)
	}()
	return true
}

// run serves one session and recovers its panics (STYLE.md practice 12):
// one bad connection must not take the process down.
func (s *Server) run(sess *session) {
	g := metricSessions.WithLabelValues(s.opts.Name)
	g.Inc()
	defer g.Dec()
	defer func() {
		if p := recover(); p != nil {
			sess.log.Error("panic in session", "panic", p, "stack", string(debug.Stack()))
			sess.close()
		}
	}()
	sess.serve()
}

// Shutdown stops accepting, ends the sessions that wait for a command (a
// session in the middle of a command finishes it first), and waits for
// every session to end. When ctx ends first it closes the remaining
// connections and returns ctx's error. Sessions that end this way delete
// nothing: only QUIT does (RFC 1939 §6).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close()
	}
	for sess := range s.sessions {
		sess.interrupt()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stopBase()
		return nil
	case <-ctx.Done():
	}
	s.stopBase()
	s.mu.Lock()
	for sess := range s.sessions {
		sess.close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

func newSessionID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
