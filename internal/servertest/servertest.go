// Package servertest boots a whole Posthorn on 127.0.0.1 with port 0
// listeners and a fresh store, for integration tests, the way httptest
// does for HTTP handlers. It is used by tests only.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"posthorn/internal/config"
	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/server"
)

// Password is the password of every user the fixture creates.
const Password = "password"

// Server is a running Posthorn for one test.
type Server struct {
	*server.Server
	Config config.Config
	Dir    string
	// Zone is the fake DNS the server asks (SPF, DKIM, DMARC, MX routing,
	// MTA-STS); tests add records to it.
	Zone *dnstest.Zone
}

// Option adjusts the configuration before the server starts.
type Option func(*config.Config)

// WithConfig applies fn to the configuration.
func WithConfig(fn func(*config.Config)) Option { return Option(fn) }

// Start boots a server: every listener on 127.0.0.1:0 (implicit TLS ones
// too), SQLite in a temp dir, a self-signed certificate, the domain
// example.test with users alice@ and bob@ (password "password"). Failed
// logins are not slowed down. It stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Hostname = "mx.example.test"
	cfg.DataDir = filepath.Join(dir, "data")
	any := "127.0.0.1:0"
	cfg.Listen = config.Listen{SMTP: any, Submission: any, Submissions: any, IMAP: any, IMAPS: any, POP3: any, POP3S: any, HTTP: any, HTTPS: any, Metrics: any}
	cfg.TLS = config.TLS{SelfSigned: true}
	cfg.Auth.AllowPlaintextOnLoopback = true
	for _, o := range opts {
		o(&cfg)
	}
	var logw io.Writer = io.Discard
	if os.Getenv("POSTHORN_TEST_LOG") != "" {
		logw = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	// Every DNS question goes to a fake zone: tests never reach real DNS.
	zone := dnstest.NewZone()
	srv, err := server.New(ctx, cfg, server.Options{Logger: log, Stdout: io.Discard, FastFailedLogins: true, Resolver: zone})
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("servertest: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	s := &Server{Server: srv, Config: cfg, Dir: dir, Zone: zone}
	if _, err := srv.Accounts.AddDomain(ctx, "example.test"); err != nil {
		t.Fatalf("servertest: %v", err)
	}
	for _, u := range []string{"alice@example.test", "bob@example.test"} {
		s.AddUser(t, u)
	}
	return s
}

// AddUser creates an account with the fixture's password.
func (s *Server) AddUser(t testing.TB, address string) {
	t.Helper()
	if _, err := s.Accounts.AddUser(context.Background(), address, Password); err != nil {
		t.Fatalf("servertest: add user %s: %v", address, err)
	}
}

// Addr returns "host:port" of a listener by its [listen] key.
func (s *Server) Addr(name string) string {
	a := s.Server.Addr(name)
	if a == nil {
		return ""
	}
	return a.String()
}

// Dial connects to a listener.
func (s *Server) Dial(t testing.TB, name string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(name), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
