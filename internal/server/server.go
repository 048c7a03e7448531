package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/config"
	"posthorn/internal/delivery"
	"posthorn/internal/mailbox"
	"posthorn/internal/queue"
	"posthorn/internal/smtpd"
	"posthorn/internal/store"
	"posthorn/internal/tlsconf"
)

// Options are what the caller of New adds to the configuration.
type Options struct {
	// Logger receives the server's logs; one is built from [log] when nil.
	Logger *slog.Logger
	// Stdout receives the one-time notices for a person (the dev password).
	Stdout io.Writer
	// FastFailedLogins drops the minimum time of a failed login (tests).
	FastFailedLogins bool
	// Resolver answers every DNS question of the server (the MX's SPF,
	// DKIM and DMARC checks, the queue's routing, MTA-STS); nil is the
	// system's resolver. Tests give a fake zone.
	Resolver Resolver
}

// Server is a running Posthorn: store, services and listeners.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	Store    store.Store
	Accounts *account.Service
	Delivery *delivery.Service
	// Mailboxes is the mailbox service of IMAP, POP3 and JMAP.
	Mailboxes *mailbox.Service
	Queue     *queue.Queue
	Trust     *Trust
	TLS       *tls.Config // nil when no certificate is configured
	resolver  Resolver
	// HTTP is the mux of the http and https listeners (http.go): JMAP, the
	// web UI, and any handler registered on it before Start.
	HTTP *http.ServeMux

	mu        sync.Mutex
	listeners []*listener
	bg        sync.WaitGroup // background loops (queue, maintenance)
	stopBG    context.CancelFunc
}

// listener is one configured endpoint.
type listener struct {
	name        string // the [listen] key
	addr        string
	implicitTLS bool
	serve       func(net.Listener) error
	shutdown    func(context.Context) error
	ln          net.Listener
}

// New opens the store and builds the services of cfg. It starts nothing;
// Run does.
func New(ctx context.Context, cfg config.Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(cfg.Log, os.Stderr)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, Store: st}
	ao := account.Options{Store: st, Logger: log}
	if opts.FastFailedLogins {
		ao.FailDelay = time.Nanosecond
	}
	s.Accounts = account.New(ao)
	if cfg.Dev {
		if err := ensureDev(ctx, s.Accounts, opts.Stdout); err != nil {
			st.Close()
			return nil, err
		}
	}
	s.resolver = opts.Resolver
	if s.Trust, err = NewTrust(cfg, st, s.Accounts, opts.Resolver, log); err != nil {
		st.Close()
		return nil, err
	}
	if tc := s.Trust.TLSConfig(); tc != nil {
		s.TLS = tc // ACME
	} else if s.TLS, err = tlsconf.Config(tlsconf.Options{
		CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, SelfSigned: cfg.TLS.SelfSigned,
		Dir: filepath.Join(cfg.DataDir, "tls"), Hostname: cfg.Hostname,
	}); err != nil {
		st.Close()
		return nil, err
	}
	if err := s.build(); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// build creates the services and the protocol servers for the configured
// listeners.
func (s *Server) build() error {
	cfg := s.cfg
	s.Delivery = delivery.New(delivery.Options{
		Store: s.Store, Accounts: s.Accounts, Hostname: cfg.Hostname,
		MaxMessageSize: cfg.Limits.MaxMessageSize, MaxRecipients: cfg.Limits.MaxRecipients, Logger: s.log,
		Checker: s.Trust.Checker, Signer: s.Trust.Signer,
	})
	qo := queue.Options{
		Store: s.Store, Bouncer: s.Delivery, Hostname: cfg.Hostname,
		Retry: durations(cfg.Queue.Retry), Lifetime: cfg.Queue.Lifetime.D(), DelayNotice: cfg.Queue.DelayNotice.D(),
		Smarthost: cfg.Queue.Smarthost, Routes: routes(cfg.Queue.Routes), Logger: s.log, MTASTS: s.Trust.STS,
		PerDestination: cfg.Queue.PerDestination, MaxPerConnection: cfg.Queue.MaxPerConnection,
	}
	if s.resolver != nil {
		qo.Resolver = s.resolver
	}
	s.Queue = queue.New(qo)
	s.Delivery.SetQueue(s.Queue)
	s.Mailboxes = mailbox.New(mailbox.Options{Store: s.Store, Logger: s.log, MaxMessageSize: cfg.Limits.MaxMessageSize})
	if err := s.buildIMAP(); err != nil {
		return err
	}
	if err := s.buildPOP3(); err != nil {
		return err
	}
	if err := s.buildHTTP(); err != nil {
		return err
	}
	smtpOpts := func(role smtpd.Role, tlsConf *tls.Config) smtpd.Options {
		o := smtpd.Options{
			Role: role, Hostname: cfg.Hostname, Delivery: s.Delivery, Accounts: s.Accounts, TLS: tlsConf,
			AllowPlaintextOnLoopback: cfg.Auth.AllowPlaintextOnLoopback, MaxConnectionsPerIP: cfg.Limits.MaxConnectionsPerIP,
			Logger: s.log,
		}
		if role == smtpd.MX {
			o.Checker = s.Trust.Checker
		}
		return o
	}
	for _, l := range []struct {
		name     string
		addr     string
		role     smtpd.Role
		implicit bool
	}{
		{"smtp", cfg.Listen.SMTP, smtpd.MX, false},
		{"submission", cfg.Listen.Submission, smtpd.Submission, false},
		{"submissions", cfg.Listen.Submissions, smtpd.Submission, true},
	} {
		o := smtpOpts(l.role, s.TLS)
		o.ImplicitTLS = l.implicit
		srv := smtpd.NewServer(o)
		if err := s.add(l.name, l.addr, l.implicit, srv.Serve, srv.Shutdown); err != nil {
			return err
		}
	}
	if err := s.buildMetrics(); err != nil {
		return err
	}
	return nil
}

// add registers a listener; an empty address leaves it off.
func (s *Server) add(name, addr string, implicitTLS bool, serve func(net.Listener) error, shutdown func(context.Context) error) error {
	if addr == "" {
		return nil
	}
	if implicitTLS && s.TLS == nil {
		return fmt.Errorf("listen.%s needs a certificate ([tls])", name)
	}
	s.listeners = append(s.listeners, &listener{name: name, addr: addr, implicitTLS: implicitTLS, serve: serve, shutdown: shutdown})
	return nil
}

// Start binds every listener and serves in the background. It fails, and
// closes what it bound, if any address cannot be bound.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, o := range s.listeners {
				if o.ln != nil {
					o.ln.Close()
				}
			}
			return fmt.Errorf("listen.%s: %w", l.name, err)
		}
		l.ln = ln // protocol servers wrap implicit TLS themselves, inside their connection limits
	}
	for _, l := range s.listeners {
		s.log.Info("listening", "listener", l.name, "addr", l.ln.Addr().String())
		go func(l *listener) {
			if err := l.serve(l.ln); err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error("listener stopped", "listener", l.name, "err", err)
			}
		}(l)
	}
	bgctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopBG = cancel
	s.startBackground(bgctx)
	return nil
}

// startBackground runs the loops that are not listeners.
func (s *Server) startBackground(ctx context.Context) {
	s.Trust.Start(ctx)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.Queue.Run(ctx)
	}()
	if m, ok := s.Store.(store.Maintainer); ok {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			t := time.NewTicker(time.Hour)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := m.Maintain(ctx); err != nil {
						s.log.Warn("store maintenance", "err", err)
					}
				}
			}
		}()
	}
}

// Addr returns the bound address of a listener (by its [listen] key), or
// nil when it is off. Tests use it with port 0.
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.name == name && l.ln != nil {
			return l.ln.Addr()
		}
	}
	return nil
}

// Run starts the server and serves until ctx ends, then shuts down.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// Shutdown stops the listeners (letting sessions finish until ctx ends),
// the background loops, then closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	ls := s.listeners
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range ls {
		if l.ln == nil {
			continue
		}
		wg.Add(1)
		go func(l *listener) {
			defer wg.Done()
			if err := l.shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Warn("shutdown", "listener", l.name, "err", err)
			}
		}(l)
	}
	wg.Wait()
	if s.stopBG != nil {
		s.stopBG()
	}
	s.bg.Wait()
	return s.Store.Close()
}

func durations(ds []config.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.D()
	}
	return out
}

func routes(rs []config.Route) map[string]string {
	out := make(map[string]string, len(rs))
	for _, r := range rs {
		out[r.Domain] = r.Host
	}
	return out
}
