package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/tlsconf"
)

// policyHost is an HTTPS server on 127.0.0.1 standing in for every
// mta-sts.DOMAIN, with a certificate for mta-sts.example.test only.
type policyHost struct {
	srv     *httptest.Server
	roots   *x509.CertPool
	fetches atomic.Int32
	mu      sync.Mutex
	reply   func(w http.ResponseWriter, r *http.Request)
}

func newPolicyHost(t *testing.T, certName string) *policyHost {
	t.Helper()
	certPEM, keyPEM, err := tlsconf.NewSelfSigned(certName)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	h := &policyHost{roots: x509.NewCertPool()}
	blk, _ := pem.Decode(certPEM)
	c, _ := x509.ParseCertificate(blk.Bytes)
	h.roots.AddCert(c)
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fetches.Add(1)
		h.mu.Lock()
		reply := h.reply
		h.mu.Unlock()
		reply(w, r)
	}))
	h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	h.serve("text/plain", enforcePolicy)
	return h
}

const enforcePolicy = "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 86400\n"

func (h *policyHost) serve(ctype, body string) {
	h.setReply(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write([]byte(body))
	})
}

func (h *policyHost) setReply(fn func(w http.ResponseWriter, r *http.Request)) {
	h.mu.Lock()
	h.reply = fn
	h.mu.Unlock()
}

// transport sends every request to the test server, verifying its
// certificate against the test root for the requested name.
func (h *policyHost) transport() http.RoundTripper {
	addr := h.srv.Listener.Addr().String()
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: h.roots, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

type clientFixture struct {
	host   *policyHost
	zone   *dnstest.Zone
	client *Client
	now    time.Time
}

func newClientFixture(t *testing.T) *clientFixture {
	f := &clientFixture{host: newPolicyHost(t, "mta-sts.example.test"), zone: dnstest.NewZone(),
		now: time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)}
	f.zone.AddTXT("_mta-sts.example.test", "v=STSv1; id=one")
	f.client = NewClient(ClientOptions{Resolver: f.zone, Transport: f.host.transport(),
		Now: func() time.Time { return f.now }, Logger: slog.New(slog.DiscardHandler)})
	return f
}

func (f *clientFixture) lookup(t *testing.T, domain string) *Policy {
	t.Helper()
	p, err := f.client.Lookup(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientCache walks the cache rules of RFC 8461 §5.1.
func TestClientCache(t *testing.T) {
	f := newClientFixture(t)
	p := f.lookup(t, "Example.TEST.")
	if p == nil || p.Mode != Enforce || !p.Matches("mx.example.test") || f.host.fetches.Load() != 1 {
		t.Fatalf("first lookup: %+v, %d fetches", p, f.host.fetches.Load())
	}
	// Same id: the cached policy, no fetch.
	f.now = f.now.Add(time.Hour)
	if p := f.lookup(t, "example.test"); p == nil || f.host.fetches.Load() != 1 {
		t.Fatalf("same id refetched (%d fetches)", f.host.fetches.Load())
	}
	// The record disappears (or an attacker blocks it): the cached policy
	// stays in force until max_age.
	f.zone.SetTXT("_mta-sts.example.test")
	if p := f.lookup(t, "example.test"); p == nil || p.Mode != Enforce {
		t.Fatal("cached policy dropped when the record went")
	}
	f.zone.Fail("_mta-sts.example.test")
	if p := f.lookup(t, "example.test"); p == nil {
		t.Fatal("cached policy dropped on a DNS failure")
	}
	// A new id makes it fetch again; a failed fetch keeps the cache.
	f.zone = dnstest.NewZone().AddTXT("_mta-sts.example.test", "v=STSv1; id=two")
	f.client.o.Resolver = f.zone
	f.host.setReply(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	if p := f.lookup(t, "example.test"); p == nil || f.host.fetches.Load() != 2 {
		t.Fatalf("failed refresh: %+v, %d fetches", p, f.host.fetches.Load())
	}
	f.host.serve("text/plain", "version: STSv1\nmode: testing\nmx: *.example.test\nmax_age: 600\n")
	if p := f.lookup(t, "example.test"); p == nil || p.Mode != Testing || f.host.fetches.Load() != 3 {
		t.Fatalf("refresh: %+v", p)
	}
	// After max_age the entry is gone: with no record, no policy.
	f.zone.SetTXT("_mta-sts.example.test")
	f.now = f.now.Add(11 * time.Minute)
	if p := f.lookup(t, "example.test"); p != nil {
		t.Fatalf("expired policy still used: %+v", p)
	}
}

func TestClientNoPolicy(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *clientFixture)
	}{
		{"no record", func(f *clientFixture) { f.zone.SetTXT("_mta-sts.example.test") }},
		{"two records", func(f *clientFixture) { f.zone.AddTXT("_mta-sts.example.test", "v=STSv1; id=two") }},
		{"bad record", func(f *clientFixture) { f.zone.SetTXT("_mta-sts.example.test", "v=STSv1; id=no-dashes") }},
		{"DNS failure", func(f *clientFixture) { f.zone.Fail("_mta-sts.example.test") }},
		{"404", func(f *clientFixture) { f.host.setReply(http.NotFound) }},
		{"redirect is not followed", func(f *clientFixture) {
			f.host.setReply(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://mta-sts.example.test"+Path+"?x", http.StatusFound)
			})
		}},
		{"not text/plain", func(f *clientFixture) { f.host.serve("text/html", enforcePolicy) }},
		{"too large", func(f *clientFixture) { f.host.serve("text/plain", enforcePolicy+strings.Repeat("x: y\n", 20000)) }},
		{"unparsable", func(f *clientFixture) { f.host.serve("text/plain", "version: STSv1\nmode: enforce\n") }},
		{"mode none", func(f *clientFixture) { f.host.serve("text/plain", "version: STSv1\nmode: none\nmax_age: 86400\n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newClientFixture(t)
			tt.setup(f)
			if p := f.lookup(t, "example.test"); p != nil {
				t.Fatalf("got a policy: %+v", p)
			}
		})
	}
}

// TestClientVerifiesCertificate: a policy host whose certificate is not
// valid for mta-sts.DOMAIN gives no policy.
func TestClientVerifiesCertificate(t *testing.T) {
	f := newClientFixture(t)
	f.zone.AddTXT("_mta-sts.other.test", "v=STSv1; id=one")
	if p := f.lookup(t, "other.test"); p != nil {
		t.Fatalf("policy fetched with a certificate for another name: %+v", p)
	}
	if f.host.fetches.Load() != 0 {
		t.Fatal("the request was sent over an unverified connection")
	}
}

func TestClientCacheBound(t *testing.T) {
	f := newClientFixture(t)
	f.client.o.MaxEntries = 2
	for _, d := range []string{"a.test", "b.test", "c.test"} {
		f.zone.AddTXT("_mta-sts."+d, "v=STSv1; id=one")
		f.client.store(d, cached{policy: &Policy{Mode: Enforce}, id: "one", expires: f.now.Add(time.Hour)})
	}
	if n := len(f.client.cache); n != 2 {
		t.Fatalf("cache holds %d entries", n)
	}
}
