package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"posthorn/internal/mtasts"
	"posthorn/internal/queue/smtpclient"
)

// MTA-STS (RFC 8461) for delivery over MX. The hook is one call: the
// worker connects through connectSTS (attempt.go), which falls back to
// connect when Options.MTASTS is nil, the domain has no policy, or the
// route is static (a route or smarthost is the operator's choice, not the
// domain's MX).

// STSPolicies gives the MTA-STS policy in force for a domain, nil for
// none; *mtasts.Client implements it.
type STSPolicies interface {
	Lookup(ctx context.Context, domain string) (*mtasts.Policy, error)
}

// MTASTS configures MTA-STS enforcement.
type MTASTS struct {
	Policies STSPolicies
	// Roots verify MX certificates under an enforce policy; nil means the
	// system's roots (the WebPKI, RFC 8461 §4.2).
	Roots *x509.CertPool
}

// connectSTS connects for a domain the way its MTA-STS policy demands.
// Under mode enforce only MX hosts that the policy names are tried (§4.1),
// and only over STARTTLS with a certificate valid for the MX host name
// (§4.2): a host that fails is skipped, never retried in clear, and when
// none is left the attempt fails temporarily (§5: the message waits for a
// later attempt). Under mode testing delivery is as usual and mismatches
// are logged.
func (q *Queue) connectSTS(ctx context.Context, domain string, hops []hop) (*smtpclient.Client, string, error) {
	if q.o.MTASTS == nil || q.o.MTASTS.Policies == nil || q.routed(domain) {
		return q.connect(ctx, domain, hops)
	}
	pol, err := q.o.MTASTS.Policies.Lookup(ctx, domain)
	if err != nil || pol == nil {
		return q.connect(ctx, domain, hops)
	}
	var matching []hop
	for _, h := range hops {
		if pol.Matches(h.host) {
			matching = append(matching, h)
		} else {
			q.log.Warn("MX host not in the MTA-STS policy", "domain", domain, "host", h.host, "mode", pol.Mode)
		}
	}
	if pol.Mode != mtasts.Enforce {
		return q.connect(ctx, domain, hops)
	}
	if len(matching) == 0 {
		return nil, "", temporary("4.7.5", "MTA-STS: no MX host of "+domain+" matches its policy")
	}
	var last error
	for _, h := range matching {
		addrs, err := q.addresses(ctx, h)
		if err != nil {
			last = temporary("4.4.3", err.Error())
			continue
		}
		for _, a := range addrs {
			c, err := q.openVerified(ctx, a, h.host)
			if err != nil {
				metricConnections.WithLabelValues("failed").Inc()
				q.log.Info("MTA-STS: connection refused by policy", "domain", domain, "host", h.host, "addr", a, "err", err)
				last = temporary("4.7.5", fmt.Sprintf("MTA-STS: %s [%s]: %v", h.host, a, err))
				continue
			}
			metricConnections.WithLabelValues("ok").Inc()
			return c, h.host, nil
		}
	}
	return nil, "", last
}

// routed reports whether the domain goes to a static route or smarthost.
func (q *Queue) routed(domain string) bool {
	_, ok := q.o.Routes[domain]
	return ok || q.o.Smarthost != ""
}

// errNoSTARTTLS: the MX does not offer STARTTLS, which enforce requires.
var errNoSTARTTLS = errors.New("STARTTLS not offered")

// openVerified dials an address of host, greets it and starts TLS,
// verifying the certificate for host and requiring TLS 1.2 (RFC 8461
// §4.2, RFC 8996). There is no fallback to plaintext.
func (q *Queue) openVerified(ctx context.Context, addr, host string) (*smtpclient.Client, error) {
	conn, err := q.o.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := smtpclient.NewClient(conn, smtpclient.Timeouts{})
	if err != nil {
		return nil, err
	}
	if err := c.Hello(q.o.Hostname); err != nil {
		c.Close()
		return nil, err
	}
	if _, ok := c.Ext("STARTTLS"); !ok {
		c.Close()
		return nil, errNoSTARTTLS
	}
	cfg := &tls.Config{ServerName: host, RootCAs: q.o.MTASTS.Roots, MinVersion: tls.VersionTLS12}
	if err := c.StartTLS(cfg, q.o.Hostname); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
