package server

import (
	"posthorn/internal/imapd"
	"posthorn/internal/mailbox"
)

// buildIMAP makes the mailbox service and the IMAP listeners: imap (with
// STARTTLS when a certificate is configured) and imaps (implicit TLS).
// APPENDLIMIT is limits.max_message_size.
func (s *Server) buildIMAP() error {
	cfg := s.cfg
	if s.Mailboxes == nil {
		s.Mailboxes = mailbox.New(mailbox.Options{Store: s.Store, Logger: s.log, MaxMessageSize: cfg.Limits.MaxMessageSize})
	}
	for _, l := range []struct {
		name     string
		addr     string
		implicit bool
	}{
		{"imap", cfg.Listen.IMAP, false},
		{"imaps", cfg.Listen.IMAPS, true},
	} {
		srv := imapd.NewServer(imapd.Options{
			Hostname: cfg.Hostname, Mailboxes: s.Mailboxes, Accounts: s.Accounts, TLS: s.TLS, ImplicitTLS: l.implicit,
			AllowPlaintextOnLoopback: cfg.Auth.AllowPlaintextOnLoopback, MaxConnectionsPerIP: cfg.Limits.MaxConnectionsPerIP,
			Logger: s.log,
		})
		if err := s.add(l.name, l.addr, l.implicit, srv.Serve, srv.Shutdown); err != nil {
			return err
		}
	}
	return nil
}
