package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"posthorn/internal/mtasts"
	"posthorn/internal/queue/smtpsink"
	"posthorn/internal/store"
	"posthorn/internal/tlsconf"
)

// fixedPolicies is a policy source that knows one domain's policy (the
// fetching and caching are tested in package mtasts).
type fixedPolicies map[string]*mtasts.Policy

func (f fixedPolicies) Lookup(_ context.Context, domain string) (*mtasts.Policy, error) {
	return f[domain], nil
}

// certFor makes a self-signed certificate for name and a pool trusting it.
func certFor(t *testing.T, name string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM, err := tlsconf.NewSelfSigned(name)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, pool
}

func enforce(mx ...string) *mtasts.Policy {
	return &mtasts.Policy{Mode: mtasts.Enforce, MX: mx, MaxAge: time.Hour}
}

// TestMTASTS delivers to remote.test, whose MX is mx.remote.test, under
// the policies and sinks of each case.
func TestMTASTS(t *testing.T) {
	goodTLS, roots := certFor(t, "mx.remote.test")
	otherTLS, _ := certFor(t, "mx.elsewhere.test")
	tests := []struct {
		name      string
		policy    *mtasts.Policy
		sinkTLS   *tls.Config
		routed    bool
		delivered bool
		overTLS   bool
		conns     int
	}{
		{"enforce, verified TLS", enforce("mx.remote.test"), goodTLS, false, true, true, 1},
		{"enforce, wildcard", enforce("*.remote.test"), goodTLS, false, true, true, 1},
		{"enforce, no STARTTLS", enforce("mx.remote.test"), nil, false, false, false, 1},
		{"enforce, certificate for another name", enforce("mx.remote.test"), otherTLS, false, false, false, 1},
		{"enforce, MX not in the policy", enforce("mx.other.test"), goodTLS, false, false, false, 0},
		{"testing, MX not in the policy", &mtasts.Policy{Mode: mtasts.Testing, MX: []string{"mx.other.test"}}, otherTLS, false, true, true, 1},
		{"no policy: opportunistic, in clear", nil, nil, false, true, false, 1},
		{"static route: the policy does not apply", enforce("mx.other.test"), nil, true, true, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, smtpsink.Options{TLS: tt.sinkTLS}, func(o *Options) {
				o.MTASTS = &MTASTS{Policies: fixedPolicies{"remote.test": tt.policy}, Roots: roots}
			})
			if tt.routed {
				h.q.o.Routes = map[string]string{"remote.test": h.sink.Addr()}
			}
			h.enqueue("alice@example.test", body, "bob@remote.test")
			h.run()
			msgs := h.sink.Messages()
			if got := len(msgs) == 1; got != tt.delivered {
				t.Fatalf("delivered = %v, want %v", got, tt.delivered)
			}
			if tt.delivered && msgs[0].TLS != tt.overTLS {
				t.Fatalf("over TLS = %v, want %v", msgs[0].TLS, tt.overTLS)
			}
			if c := h.sink.Connections(); c != tt.conns {
				t.Fatalf("%d connections, want %d", c, tt.conns)
			}
			if tt.delivered {
				return
			}
			// Refused by policy: deferred (4xx), to be tried again, with
			// the reason in the entry.
			es := h.entries()
			if len(es) != 1 || es[0].Recipients[0].Status != store.RcptPending || !strings.Contains(es[0].Recipients[0].LastReply, "MTA-STS") {
				t.Fatalf("entry after refusal: %+v", es)
			}
			if !strings.HasPrefix(es[0].Recipients[0].LastReply, "451 4.7.5") {
				t.Fatalf("reply %q", es[0].Recipients[0].LastReply)
			}
		})
	}
}
