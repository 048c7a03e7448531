package mtasts

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Path is where a policy is served (RFC 8461 §3.3).
const Path = "/.well-known/mta-sts.txt"

// HandlerOptions configure the policy we serve. IsLocal is required.
type HandlerOptions struct {
	// Policy is served for every local domain: our mode, our MX host
	// name(s), max_age.
	Policy Policy
	// IsLocal reports whether a domain is one of ours.
	IsLocal func(ctx context.Context, domain string) (bool, error)
	// AllowHTTP serves over plain HTTP too (behind a TLS-terminating
	// proxy); otherwise only requests that came over TLS get the policy,
	// as senders only ever fetch it over HTTPS.
	AllowHTTP bool
	Logger    *slog.Logger
}

// Handler serves https://mta-sts.DOMAIN/.well-known/mta-sts.txt for our
// local domains: the request's host name is "mta-sts." and the domain.
type Handler struct{ o HandlerOptions }

// NewHandler returns a Handler.
func NewHandler(o HandlerOptions) *Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Handler{o: o}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path != Path || (r.TLS == nil && !h.o.AllowHTTP) {
		http.NotFound(w, r)
		return
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	domain, ok := strings.CutPrefix(strings.ToLower(strings.TrimSuffix(host, ".")), "mta-sts.")
	if !ok || domain == "" {
		http.NotFound(w, r)
		return
	}
	local, err := h.o.IsLocal(r.Context(), domain)
	if err != nil {
		h.o.Logger.Error("MTA-STS: domain lookup", "domain", domain, "err", err)
		http.Error(w, "temporary failure", http.StatusServiceUnavailable)
		return
	}
	if !local {
		http.NotFound(w, r)
		return
	}
	body := h.o.Policy.String()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// Senders cache by max_age and the TXT id; HTTP caches need not.
	w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(time.Hour/time.Second)))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write([]byte(body))
}
