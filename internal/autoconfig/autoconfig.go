package autoconfig

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"golang.org/x/net/idna"
)

// The paths the Handler serves. Outlook has been seen to capitalize the
// Autodiscover path; both spellings are registered.
const (
	PathWellKnown    = "/.well-known/autoconfig/mail/config-v1.1.xml"
	PathMail         = "/mail/config-v1.1.xml"
	PathAutodiscover = "/autodiscover/autodiscover.xml"
	pathAutodiscover = "/Autodiscover/Autodiscover.xml"
)

// MaxRequestBytes bounds an Autodiscover request body.
const MaxRequestBytes = 64 << 10

// Protocol is a mail protocol a client is told about.
type Protocol string

// The protocols: IMAP (RFC 9051), POP3 (RFC 1939) and message submission
// (RFC 6409).
const (
	IMAP Protocol = "imap"
	POP3 Protocol = "pop3"
	SMTP Protocol = "smtp"
)

// Security is how a client secures a connection.
type Security int

const (
	// ImplicitTLS: TLS from the first octet (RFC 8314 §3; ports 993, 995, 465).
	ImplicitTLS Security = iota
	// StartTLS: plaintext, then STARTTLS or STLS (ports 143, 110, 587).
	StartTLS
)

// Endpoint is one place a client can connect to.
type Endpoint struct {
	Protocol Protocol
	// Port is the public port clients connect to.
	Port     int
	Security Security
}

// Options configure a Handler.
type Options struct {
	// Hostname is the server's public name, the one its certificate is for.
	Hostname string
	// Endpoints are the public endpoints. The answer lists them per
	// protocol, implicit TLS first, otherwise in this order.
	Endpoints []Endpoint
	// IsLocalDomain reports whether the server hosts a domain (given as a
	// lower-case A-label). Only those get an answer.
	IsLocalDomain func(ctx context.Context, domain string) (bool, error)
	// Logger receives errors of IsLocalDomain; nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves autoconfiguration for clients.
type Handler struct {
	opts Options
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{opts: opts}
}

// Register adds the Handler to mux at its paths.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range []string{PathWellKnown, PathMail, PathAutodiscover, pathAutodiscover} {
		mux.Handle(p, h)
	}
}

// ServeHTTP answers at the paths of Register; anything else is 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathWellKnown || r.URL.Path == PathMail:
		h.serveThunderbird(w, r)
	case strings.EqualFold(r.URL.Path, PathAutodiscover):
		h.serveAutodiscover(w, r)
	default:
		http.NotFound(w, r)
	}
}

// errBadAddress is a malformed address or domain from the client.
var errBadAddress = errors.New("not an e-mail address")

// DomainOf returns the domain of an e-mail address as a lower-case A-label
// (RFC 5890), or an error if the address has none or it is not a valid
// domain name.
func DomainOf(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", errBadAddress
	}
	return normalizeDomain(addr[at+1:])
}

// normalizeDomain turns a domain into its lower-case A-label form and
// checks it is a host name (letters, digits, hyphens; RFC 5891 §5 via
// idna.Lookup).
func normalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" || len(d) > 253 {
		return "", errBadAddress
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil || !strings.Contains(a, ".") {
		return "", errBadAddress
	}
	return strings.ToLower(a), nil
}

// hostDomain returns the domain a request's Host header names, without a
// port and without the "autoconfig." or "autodiscover." label that the
// clients put in front of the mail domain.
func hostDomain(host string) (string, error) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, p := range []string{"autoconfig.", "autodiscover."} {
		host = strings.TrimPrefix(host, p)
	}
	return normalizeDomain(host)
}

// local checks the domain, answering the request itself when it is not
// local (404) or the check fails (503).
func (h *Handler) local(w http.ResponseWriter, r *http.Request, domain string) bool {
	if h.opts.IsLocalDomain == nil {
		http.NotFound(w, r)
		return false
	}
	ok, err := h.opts.IsLocalDomain(r.Context(), domain)
	if err != nil {
		h.opts.Logger.Error("autoconfig: domain lookup", "domain", domain, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return false
	}
	if !ok {
		http.Error(w, "no mail service for this domain here", http.StatusNotFound)
		return false
	}
	return true
}

// endpoints returns the endpoints of one protocol, implicit TLS first.
func (h *Handler) endpoints(p Protocol) []Endpoint {
	var tls, starttls []Endpoint
	for _, e := range h.opts.Endpoints {
		switch {
		case e.Protocol != p || e.Port <= 0:
		case e.Security == ImplicitTLS:
			tls = append(tls, e)
		default:
			starttls = append(starttls, e)
		}
	}
	return append(tls, starttls...)
}

// writeXML writes an XML document with its declaration; encoding/xml
// escapes every text and attribute value.
func writeXML(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	b.WriteString("\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b.Bytes())
}
