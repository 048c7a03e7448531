package server

import (
	"net"
	"net/http"
	"strconv"

	"posthorn/internal/autoconfig"
)

// registerAutoconfig serves client autoconfiguration (package autoconfig)
// on mux: Thunderbird's config-v1.1.xml and Outlook's Autodiscover, for the
// local domains only. The endpoints are the IMAP, POP3 and submission
// listeners as bound, looked up per request, so that port 0 in tests shows
// the real port; STARTTLS ones only when a certificate is configured.
// buildHTTP calls it with s.HTTP.
func (s *Server) registerAutoconfig(mux *http.ServeMux) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		autoconfig.New(autoconfig.Options{
			Hostname:      s.cfg.Hostname,
			Endpoints:     s.autoconfigEndpoints(),
			IsLocalDomain: s.Accounts.IsLocalDomain,
			Logger:        s.log,
		}).ServeHTTP(w, r)
	})
	for _, p := range []string{autoconfig.PathWellKnown, autoconfig.PathMail, autoconfig.PathAutodiscover, "/Autodiscover/Autodiscover.xml"} {
		mux.Handle(p, h)
	}
}

// autoconfigEndpoints lists the bound mail listeners for clients.
func (s *Server) autoconfigEndpoints() []autoconfig.Endpoint {
	var out []autoconfig.Endpoint
	for _, l := range []struct {
		name  string
		proto autoconfig.Protocol
		sec   autoconfig.Security
	}{
		{"imaps", autoconfig.IMAP, autoconfig.ImplicitTLS},
		{"imap", autoconfig.IMAP, autoconfig.StartTLS},
		{"pop3s", autoconfig.POP3, autoconfig.ImplicitTLS},
		{"pop3", autoconfig.POP3, autoconfig.StartTLS},
		{"submissions", autoconfig.SMTP, autoconfig.ImplicitTLS},
		{"submission", autoconfig.SMTP, autoconfig.StartTLS},
	} {
		a := s.Addr(l.name)
		if a == nil || (l.sec == autoconfig.StartTLS && s.TLS == nil) {
			continue
		}
		_, port, err := net.SplitHostPort(a.String())
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 {
			continue
		}
		out = append(out, autoconfig.Endpoint{Protocol: l.proto, Port: n, Security: l.sec})
	}
	return out
}
