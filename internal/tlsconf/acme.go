package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// LetsEncrypt is the default ACME directory: Let's Encrypt's production CA.
const LetsEncrypt = autocert.DefaultACMEDirectory

// ACMEOptions configure certificates from an ACME CA (RFC 8555).
// Hostname and CacheDir are required.
type ACMEOptions struct {
	// Hostname is the name to certify, and the certificate every client
	// gets that names no server (most SMTP clients send no SNI).
	Hostname string
	// Email is the account's contact address (optional).
	Email string
	// DirectoryURL is the CA's directory (default LetsEncrypt).
	DirectoryURL string
	// CacheDir keeps the account key and the certificates (data_dir/acme),
	// so that a restart does not ask the CA again.
	CacheDir string
	// HostPolicy allows names besides Hostname (mta-sts.DOMAIN for the
	// MTA-STS policy host, say); nil allows Hostname only. It is asked
	// before any certificate is requested.
	HostPolicy func(ctx context.Context, host string) error
	// RenewBefore is how long before expiry a certificate is renewed; 0
	// keeps autocert's default (30 days, or a third of the lifetime for
	// short-lived certificates). Renewal runs in the background.
	RenewBefore time.Duration
	// HTTPClient talks to the CA; nil uses http.DefaultClient.
	HTTPClient *http.Client
	// Fallback is served when no certificate can be had (the CA is
	// unreachable on first start): a self-signed one keeps STARTTLS
	// working, which beats plaintext for every opportunistic sender.
	Fallback *tls.Certificate
	Logger   *slog.Logger
}

// ACME obtains and renews certificates for the host name with
// golang.org/x/crypto/acme/autocert, answering the CA's tls-alpn-01
// challenges on the TLS listeners and http-01 challenges through
// HTTPHandler.
type ACME struct {
	o ACMEOptions
	m *autocert.Manager
}

// NewACME returns an ACME certificate source. Nothing is requested until
// Prefetch or the first handshake.
func NewACME(o ACMEOptions) (*ACME, error) {
	if o.Hostname == "" || o.CacheDir == "" {
		return nil, errors.New("tlsconf: ACME needs a host name and a cache directory")
	}
	if o.DirectoryURL == "" {
		o.DirectoryURL = LetsEncrypt
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	host := strings.ToLower(strings.TrimSuffix(o.Hostname, "."))
	o.Hostname = host
	policy := o.HostPolicy
	hostOnly := autocert.HostWhitelist(host)
	m := &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Cache:  autocert.DirCache(o.CacheDir),
		HostPolicy: func(ctx context.Context, name string) error {
			if hostOnly(ctx, name) == nil {
				return nil
			}
			if policy == nil {
				return errors.New("tlsconf: no certificate for " + name)
			}
			return policy(ctx, name)
		},
		RenewBefore: o.RenewBefore,
		Email:       o.Email,
		Client:      &acme.Client{DirectoryURL: o.DirectoryURL, HTTPClient: o.HTTPClient, UserAgent: "posthorn"},
	}
	return &ACME{o: o, m: m}, nil
}

// TLSConfig returns the configuration for every TLS listener: certificates
// from the CA, renewed in the background; TLS 1.2 or later; no session
// tickets (see Config); the ACME ALPN protocol for tls-alpn-01 (RFC 8737).
func (a *ACME) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate:         a.getCertificate,
		NextProtos:             []string{"h2", "http/1.1", acme.ALPNProto},
		MinVersion:             tls.VersionTLS12,
		SessionTicketsDisabled: true,
	}
}

// getCertificate serves the certificate for the name the client asked for,
// the host name's when it asked for none or for a name we do not certify,
// and the fallback when the CA cannot be reached.
func (a *ACME) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if slices.Contains(hello.SupportedProtos, acme.ALPNProto) {
		return a.m.GetCertificate(hello) // a CA's tls-alpn-01 check
	}
	ctx := hello.Context()
	if ctx == nil {
		ctx = context.Background() // a hello made by hand, not by crypto/tls
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name == "" || a.m.HostPolicy(ctx, name) != nil {
		h := *hello
		h.ServerName = a.o.Hostname
		hello = &h
	}
	cert, err := a.m.GetCertificate(hello)
	if err != nil && a.o.Fallback != nil {
		a.o.Logger.Warn("no ACME certificate yet; serving the fallback", "name", hello.ServerName, "err", err)
		return a.o.Fallback, nil
	}
	return cert, err
}

// HTTPHandler answers the CA's http-01 challenges (on port 80) and passes
// every other request to fallback.
func (a *ACME) HTTPHandler(fallback http.Handler) http.Handler {
	return a.m.HTTPHandler(fallback)
}

// Prefetch obtains the host name's certificate now (or loads it from the
// cache), so that the first client does not wait for the CA, and returns
// its leaf. The server calls it in the background at start-up.
func (a *ACME) Prefetch(ctx context.Context) (*x509.Certificate, error) {
	hello := &tls.ClientHelloInfo{
		ServerName:        a.o.Hostname,
		SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
		SupportedCurves:   []tls.CurveID{tls.CurveP256},
		CipherSuites:      []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
	}
	type result struct {
		cert *tls.Certificate
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := a.m.GetCertificate(hello)
		done <- result{c, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		if r.cert.Leaf != nil {
			return r.cert.Leaf, nil
		}
		return x509.ParseCertificate(r.cert.Certificate[0])
	}
}
