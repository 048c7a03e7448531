package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/config"
	"posthorn/internal/mailauth"
	"posthorn/internal/mtasts"
	"posthorn/internal/queue"
	"posthorn/internal/store"
	"posthorn/internal/tlsconf"
)

// This file holds what issue 8 (trust) adds to the composition root: the
// services built from [mx], [mta_sts], [queue] mta_sts and [tls] acme_*,
// and the administration commands of DKIM keys and DNS records.

// Resolver is the DNS of the whole server: the checks of the MX (SPF needs
// all four lookups), the queue's MX routing, MTA-STS discovery.
// *net.Resolver implements it; tests use dnstest.Zone.
type Resolver = mailauth.Resolver

// Trust is the part of a server that authenticates mail: the checks of the
// MX, DKIM signing of outgoing mail, MTA-STS for our domains and theirs,
// and ACME certificates. NewTrust builds it; the server wires each field
// into the service that uses it.
type Trust struct {
	// Checker runs SPF, DKIM and DMARC on the MX; nil with [mx] checks off.
	Checker *mailauth.Checker
	// Signer signs mail queued from local domains.
	Signer *mailauth.Signer
	// Keys generates and rotates DKIM keys.
	Keys *mailauth.Keys
	// Policy is the MTA-STS policy served for every local domain.
	Policy mtasts.Policy
	// STSHandler serves Policy at mtasts.Path on the https listener.
	STSHandler *mtasts.Handler
	// STS enforces remote policies in the queue; nil with [queue] mta_sts
	// off.
	STS *queue.MTASTS
	// ACME obtains the listeners' certificates; nil without acme_email.
	ACME *tlsconf.ACME

	accts *account.Service
	log   *slog.Logger
}

// NewTrust builds the trust services of cfg over the store (which must
// implement store.KeyStore) and resolver (nil: net.DefaultResolver).
func NewTrust(cfg config.Config, st store.Store, accts *account.Service, resolver Resolver, log *slog.Logger) (*Trust, error) {
	ks, ok := st.(store.KeyStore)
	if !ok {
		return nil, fmt.Errorf("the %s store keeps no DKIM keys", cfg.Store.Driver)
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	t := &Trust{
		Signer: mailauth.NewSigner(mailauth.SignerOptions{Keys: ks, Logger: log}),
		Keys:   mailauth.NewKeys(ks, nil),
		Policy: ourPolicy(cfg),
		accts:  accts,
		log:    log,
	}
	if cfg.MX.Checks {
		t.Checker = mailauth.NewChecker(mailauth.Options{Resolver: resolver, Hostname: cfg.Hostname,
			DMARCEnforce: cfg.MX.DMARCEnforce, SPFEnforce: cfg.MX.SPFEnforce, Logger: log})
	}
	t.STSHandler = mtasts.NewHandler(mtasts.HandlerOptions{Policy: t.Policy, IsLocal: accts.IsLocalDomain, Logger: log})
	if cfg.Queue.MTASTS {
		t.STS = &queue.MTASTS{Policies: mtasts.NewClient(mtasts.ClientOptions{Resolver: resolver, Logger: log})}
	}
	if cfg.TLS.ACMEEmail != "" {
		var err error
		if t.ACME, err = newACME(cfg, accts, log); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ourPolicy is the MTA-STS policy of every local domain: this host is the
// MX (RFC 8461 §3.2).
func ourPolicy(cfg config.Config) mtasts.Policy {
	return mtasts.Policy{Mode: mtasts.Mode(cfg.MTASTS.Mode), MX: []string{strings.ToLower(cfg.Hostname)}, MaxAge: cfg.MTASTS.MaxAge.D()}
}

// newACME makes the ACME certificate source: the host name and the
// MTA-STS policy host of every local domain, a self-signed certificate
// while the CA cannot be reached.
func newACME(cfg config.Config, accts *account.Service, log *slog.Logger) (*tlsconf.ACME, error) {
	fallback, err := tlsconf.Config(tlsconf.Options{SelfSigned: true, Dir: filepath.Join(cfg.DataDir, "tls"), Hostname: cfg.Hostname})
	if err != nil {
		return nil, err
	}
	return tlsconf.NewACME(tlsconf.ACMEOptions{
		Hostname: cfg.Hostname, Email: cfg.TLS.ACMEEmail, DirectoryURL: cfg.TLS.ACMEDirectory,
		CacheDir: filepath.Join(cfg.DataDir, "acme"), Fallback: &fallback.Certificates[0], Logger: log,
		HostPolicy: func(ctx context.Context, host string) error {
			if d, ok := strings.CutPrefix(host, "mta-sts."); ok {
				if local, err := accts.IsLocalDomain(ctx, d); err == nil && local {
					return nil
				}
			}
			return errors.New("no certificate for " + host)
		},
	})
}

// TLSConfig returns the listeners' TLS configuration when ACME provides
// it, else nil (the server keeps tlsconf.Config's).
func (t *Trust) TLSConfig() *tls.Config {
	if t.ACME == nil {
		return nil
	}
	return t.ACME.TLSConfig()
}

// Start does the background work: DKIM keys for local domains that have
// none (made before keys existed, or by the dev instance), and the ACME
// certificate, so the first client does not wait for the CA.
func (t *Trust) Start(ctx context.Context) {
	if err := t.EnsureKeys(ctx); err != nil {
		t.log.Error("DKIM keys", "err", err)
	}
	if t.ACME != nil {
		go func() {
			leaf, err := t.ACME.Prefetch(ctx)
			if err != nil {
				t.log.Warn("ACME certificate", "err", err)
				return
			}
			t.log.Info("ACME certificate", "names", leaf.DNSNames, "expires", leaf.NotAfter)
		}()
	}
}

// EnsureKeys gives every local domain without DKIM keys an active pair.
func (t *Trust) EnsureKeys(ctx context.Context) error {
	ds, err := t.accts.Domains(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	made, err := t.Keys.Ensure(ctx, names)
	for _, d := range made {
		t.log.Info("made DKIM keys; publish them: posthorn dns "+d, "domain", d)
	}
	return err
}

// --- administration (the command line) ---

func (a *Admin) keys() (*mailauth.Keys, error) {
	ks, ok := a.Store.(store.KeyStore)
	if !ok {
		return nil, errors.New("this store keeps no DKIM keys")
	}
	return mailauth.NewKeys(ks, nil), nil
}

// AddDomain makes a domain local and gives it an active pair of DKIM keys
// (Ed25519 and RSA-2048), so that its mail is signed from the start. It
// takes the place of account.Service.AddDomain for the command line.
func (a *Admin) AddDomain(ctx context.Context, name string) (string, error) {
	d, err := a.Service.AddDomain(ctx, name)
	if err != nil {
		return d, err
	}
	m, err := a.keys()
	if err != nil {
		return d, err
	}
	if _, err := m.Generate(ctx, d, true); err != nil {
		return d, fmt.Errorf("domain %s added, but its DKIM keys were not: %w (run posthorn dkim rotate --now %s)", d, err, d)
	}
	return d, nil
}

// localDomain normalizes a domain and checks that it is local.
func (a *Admin) localDomain(ctx context.Context, domain string) (string, error) {
	d, err := account.NormalizeDomain(domain)
	if err != nil {
		return "", err
	}
	ok, err := a.IsLocalDomain(ctx, d)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%s is not a local domain: %w", d, account.ErrNotFound)
	}
	return d, nil
}

// DKIMKeys lists a domain's keys with their rotation states.
func (a *Admin) DKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, []mailauth.KeyState, error) {
	d, err := a.localDomain(ctx, domain)
	if err != nil {
		return nil, nil, err
	}
	m, err := a.keys()
	if err != nil {
		return nil, nil, err
	}
	keys, err := m.List(ctx, d)
	return keys, mailauth.States(keys), err
}

// DKIMRotate makes a new pair of keys for a domain: staged (publish it,
// then DKIMActivate), or active at once when now is set.
func (a *Admin) DKIMRotate(ctx context.Context, domain string, now bool) ([]store.DKIMKey, error) {
	d, err := a.localDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	m, err := a.keys()
	if err != nil {
		return nil, err
	}
	keys, err := m.Generate(ctx, d, false)
	if err != nil || !now {
		return keys, err
	}
	return m.Activate(ctx, d)
}

// DKIMActivate makes the newest pair sign and retires the others.
func (a *Admin) DKIMActivate(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	d, err := a.localDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	m, err := a.keys()
	if err != nil {
		return nil, err
	}
	return m.Activate(ctx, d)
}

// DKIMRemove deletes a key that no longer signs.
func (a *Admin) DKIMRemove(ctx context.Context, domain, selector string) error {
	d, err := a.localDomain(ctx, domain)
	if err != nil {
		return err
	}
	m, err := a.keys()
	if err != nil {
		return err
	}
	return m.Remove(ctx, d, selector)
}

// DNSRecords returns the records a local domain should publish for this
// server as cfg describes it: MX, SPF, a DKIM record for every stored key,
// DMARC, MTA-STS (when an https listener serves the policy), TLS-RPT, and
// SRV records for the mail services (RFC 6186, RFC 8314).
func (a *Admin) DNSRecords(ctx context.Context, cfg config.Config, domain string) ([]mailauth.Record, error) {
	d, err := a.localDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	m, err := a.keys()
	if err != nil {
		return nil, err
	}
	keys, err := m.List(ctx, d)
	if err != nil {
		return nil, err
	}
	o := mailauth.RecordOptions{Hostname: cfg.Hostname, Keys: keys}
	if cfg.Listen.HTTPS != "" {
		p := ourPolicy(cfg)
		o.MTASTSID = p.ID()
	}
	for _, s := range []struct{ name, addr string }{
		{"submissions", cfg.Listen.Submissions}, {"submission", cfg.Listen.Submission},
		{"imaps", cfg.Listen.IMAPS}, {"imap", cfg.Listen.IMAP},
		{"pop3s", cfg.Listen.POP3S}, {"pop3", cfg.Listen.POP3},
	} {
		o.Services = append(o.Services, mailauth.Service{Name: s.name, Port: portOf(s.addr)})
	}
	return mailauth.Records(d, o)
}

// DNSCheck compares the records of DNSRecords with what r returns.
func (a *Admin) DNSCheck(ctx context.Context, cfg config.Config, domain string, r mailauth.RecordResolver) ([]mailauth.Finding, error) {
	recs, err := a.DNSRecords(ctx, cfg, domain)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return mailauth.CheckRecords(ctx, r, cfg.Hostname, recs), nil
}

// portOf returns the port of a listener address, 0 when it is off.
func portOf(addr string) int {
	if addr == "" {
		return 0
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
