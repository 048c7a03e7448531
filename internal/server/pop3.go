package server

import (
	"posthorn/internal/mailbox"
	"posthorn/internal/pop3d"
)

// buildPOP3 makes the POP3 listeners: pop3 (with STLS when a certificate is
// configured) and pop3s (implicit TLS). Both share one maildrop lock table,
// so a maildrop open on one is locked on the other (RFC 1939 §4). The lock
// is per process: nodes sharing a PostgreSQL store do not see each other's
// POP3 sessions (see mailbox.Maildrops).
func (s *Server) buildPOP3() error {
	cfg := s.cfg
	if s.Mailboxes == nil {
		s.Mailboxes = mailbox.New(mailbox.Options{Store: s.Store, Logger: s.log, MaxMessageSize: cfg.Limits.MaxMessageSize})
	}
	drops := new(mailbox.Maildrops)
	for _, l := range []struct {
		name     string
		addr     string
		implicit bool
	}{
		{"pop3", cfg.Listen.POP3, false},
		{"pop3s", cfg.Listen.POP3S, true},
	} {
		srv := pop3d.NewServer(pop3d.Options{
			Hostname: cfg.Hostname, Mailboxes: s.Mailboxes, Accounts: s.Accounts, Maildrops: drops,
			TLS: s.TLS, ImplicitTLS: l.implicit, Name: l.name,
			AllowPlaintextOnLoopback: cfg.Auth.AllowPlaintextOnLoopback, MaxConnectionsPerIP: cfg.Limits.MaxConnectionsPerIP,
			Logger: s.log,
		})
		if err := s.add(l.name, l.addr, l.implicit, srv.Serve, srv.Shutdown); err != nil {
			return err
		}
	}
	return nil
}
