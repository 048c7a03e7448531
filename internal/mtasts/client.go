package mtasts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxPolicySize bounds a fetched policy (RFC 8461 §3.3 lets senders limit
// it; real policies are a few hundred octets).
const maxPolicySize = 64 << 10

// Resolver looks up the _mta-sts TXT record; *net.Resolver implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// ClientOptions configure a Client. Resolver is required.
type ClientOptions struct {
	Resolver Resolver
	// Transport fetches policies; it must verify certificates. The
	// default is a clone of http.DefaultTransport requiring TLS 1.2.
	Transport http.RoundTripper
	// Timeout bounds one fetch (default 30 s).
	Timeout time.Duration
	// MaxEntries bounds the cache (default 10000 domains).
	MaxEntries int
	Now        func() time.Time
	Logger     *slog.Logger
}

// Client finds the MTA-STS policies of destination domains and caches them
// (RFC 8461 §5.1). It is safe for concurrent use.
type Client struct {
	o    ClientOptions
	http *http.Client
	mu   sync.Mutex
	// cache holds policies by domain until their max_age ends.
	cache map[string]cached
}

type cached struct {
	policy  *Policy
	id      string
	expires time.Time
}

// NewClient returns a Client.
func NewClient(o ClientOptions) *Client {
	if o.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		o.Transport = t
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Client{o: o, cache: map[string]cached{},
		http: &http.Client{Transport: o.Transport, Timeout: o.Timeout,
			// §3.3: "HTTP 3xx redirects MUST NOT be followed".
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Lookup returns the policy in force for a domain, or nil when it has none
// (or only mode none). Failures to find or fetch a policy are not errors
// when nothing is cached: delivery then proceeds as without MTA-STS, as
// §5.1 prescribes; they are logged.
func (c *Client) Lookup(ctx context.Context, domain string) (*Policy, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	now := c.o.Now()
	c.mu.Lock()
	e, ok := c.cache[domain]
	if ok && !now.Before(e.expires) {
		delete(c.cache, domain)
		ok = false
	}
	c.mu.Unlock()
	id, err := c.recordID(ctx, domain)
	switch {
	case err != nil && ok:
		// §5.1: without a usable record, a cached policy stays in force.
		c.o.Logger.Info("MTA-STS record lookup failed; using the cached policy", "domain", domain, "err", err)
		return active(e.policy), nil
	case err != nil:
		c.o.Logger.Debug("no MTA-STS policy", "domain", domain, "err", err)
		return nil, nil
	case ok && e.id == id:
		return active(e.policy), nil
	}
	p, err := c.fetch(ctx, domain)
	if err != nil {
		if ok {
			c.o.Logger.Warn("MTA-STS policy fetch failed; using the cached policy", "domain", domain, "err", err)
			return active(e.policy), nil
		}
		c.o.Logger.Info("MTA-STS policy fetch failed", "domain", domain, "err", err)
		return nil, nil
	}
	c.store(domain, cached{policy: p, id: id, expires: now.Add(p.MaxAge)})
	return active(p), nil
}

// active drops a mode-none policy (§5: "none" means no policy).
func active(p *Policy) *Policy {
	if p == nil || p.Mode == None {
		return nil
	}
	return p
}

// errNoRecord means the domain publishes no (single) MTA-STS record.
var errNoRecord = errors.New("mtasts: no MTA-STS record")

// recordID returns the policy id of the domain's TXT record.
func (c *Client) recordID(ctx context.Context, domain string) (string, error) {
	txts, err := c.o.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return "", errNoRecord
		}
		return "", err
	}
	var recs []string
	for _, t := range txts {
		if isRecord(t) {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return "", errNoRecord // §3.1: several records mean none
	}
	return ParseRecord(recs[0])
}

// fetch gets and parses https://mta-sts.DOMAIN/.well-known/mta-sts.txt.
func (c *Client) fetch(ctx context.Context, domain string) (*Policy, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://mta-sts."+domain+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mtasts: policy host answered %s", resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("mtasts: policy served as %q, not text/plain", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicySize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPolicySize {
		return nil, errors.New("mtasts: policy larger than 64 KiB")
	}
	return Parse(body)
}

// store caches an entry, making room by dropping expired entries, then an
// arbitrary one.
func (c *Client) store(domain string, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= c.o.MaxEntries {
		now := c.o.Now()
		for d, old := range c.cache {
			if !now.Before(old.expires) {
				delete(c.cache, d)
			}
		}
		for d := range c.cache {
			if len(c.cache) < c.o.MaxEntries {
				break
			}
			delete(c.cache, d)
		}
	}
	c.cache[domain] = e
}
