package server

import (
	"errors"
	"net"
	"net/http"
	"time"

	"posthorn/internal/jmap"
	"posthorn/internal/mailbox"
	"posthorn/internal/mtasts"
	"posthorn/internal/webmail"
)

// HTTP timeouts. The event source clears its write deadline itself
// (http.ResponseController); uploads of a whole message need the long
// read timeout.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = 5 * time.Minute
	httpWriteTimeout      = 2 * time.Minute
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 64 << 10
)

// buildHTTP makes the http and https listeners. Both serve one mux: the
// JMAP endpoints (/.well-known/jmap, /jmap/...), the web UI at /, client
// autoconfiguration (autoconfig.go), the MTA-STS policy (over TLS only),
// and whatever else registers on s.HTTP (health checks, ...). Every response carries the security headers of
// securityHeaders unless its handler sets its own.
func (s *Server) buildHTTP() error {
	cfg := s.cfg
	if s.HTTP == nil {
		s.HTTP = http.NewServeMux()
	}
	if cfg.Listen.HTTP == "" && cfg.Listen.HTTPS == "" {
		return nil
	}
	if s.Mailboxes == nil {
		s.Mailboxes = mailbox.New(mailbox.Options{Store: s.Store, Logger: s.log, MaxMessageSize: cfg.Limits.MaxMessageSize})
	}
	js := jmap.New(jmap.Options{
		Mailboxes: s.Mailboxes, Accounts: s.Accounts, Delivery: s.Delivery, Hostname: cfg.Hostname, Logger: s.log,
		AllowPlaintextOnLoopback: cfg.Auth.AllowPlaintextOnLoopback,
	})
	js.Register(s.HTTP)
	webmail.New(webmail.Options{Mail: js, Logger: s.log}).Register(s.HTTP)
	s.registerAutoconfig(s.HTTP)
	if s.Trust != nil && s.Trust.STSHandler != nil {
		// The handler answers only over TLS (RFC 8461 §3.3), so the shared
		// mux may carry it.
		s.HTTP.Handle(mtasts.Path, s.Trust.STSHandler)
	}
	handler := securityHeaders(s.HTTP)
	for _, l := range []struct {
		name     string
		addr     string
		implicit bool
	}{
		{"http", cfg.Listen.HTTP, false},
		{"https", cfg.Listen.HTTPS, true},
	} {
		hs := &http.Server{
			Handler: handler, ReadHeaderTimeout: httpReadHeaderTimeout, ReadTimeout: httpReadTimeout,
			WriteTimeout: httpWriteTimeout, IdleTimeout: httpIdleTimeout, MaxHeaderBytes: httpMaxHeaderBytes,
		}
		// Event streams never go idle: end them when shutdown begins.
		hs.RegisterOnShutdown(js.Close)
		implicit := l.implicit
		if !implicit && s.Trust != nil && s.Trust.ACME != nil {
			// ACME http-01 challenges arrive over plain HTTP (RFC 8555 §8.3).
			hs.Handler = s.Trust.ACME.HTTPHandler(handler)
		}
		if implicit && s.TLS != nil {
			hs.TLSConfig = s.TLS.Clone()
		}
		serve := func(ln net.Listener) error {
			var err error
			if implicit {
				err = hs.ServeTLS(ln, "", "")
			} else {
				err = hs.Serve(ln)
			}
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		}
		if err := s.add(l.name, l.addr, l.implicit, serve, hs.Shutdown); err != nil {
			return err
		}
	}
	return nil
}

// securityHeaders gives every response the headers RFC 7034, the Fetch
// standard and CSP Level 3 recommend for a mail server's web interface;
// handlers that serve pages replace the Content-Security-Policy with their
// own.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		hd.Set("X-Frame-Options", "DENY")
		if r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}
