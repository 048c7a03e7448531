package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"posthorn/internal/mailauth/dnstest"
)

// The ACME tests run Let's Encrypt's test CA, pebble, built from the Go
// module proxy (or the binary named by POSTHORN_PEBBLE), on 127.0.0.1.
// Pebble validates the tls-alpn-01 challenge for real: it looks the name
// up in a dnstest zone on loopback (its -dnsserver flag) and connects to
// our TLS listener. Nothing leaves the machine.
const pebbleModule = "github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1"

// pebbleBinary returns the pebble executable, installing it once into the
// user's cache directory. Without it the tests skip, except under CI=true.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("POSTHORN_PEBBLE"); p != "" {
		return p
	}
	if testing.Short() {
		t.Skip("builds pebble")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "posthorn-test", "pebble-v2.10.1")
	bin := filepath.Join(dir, "pebble")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", pebbleModule)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot build pebble (go install %s): %v\n%s", pebbleModule, err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testCA is a running pebble.
type testCA struct {
	directory string
	client    *http.Client // trusts pebble's own HTTPS certificate
	roots     *x509.CertPool
}

// startPebble runs pebble issuing certificates valid for validity,
// validating tls-alpn-01 on tlsPort with names from the DNS server at dns.
func startPebble(t *testing.T, validity time.Duration, tlsPort int, dns string) *testCA {
	t.Helper()
	bin := pebbleBinary(t)
	dir := t.TempDir()
	certPEM, keyPEM, err := NewSelfSigned("localhost")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	api, mgmt := freePort(t), freePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", api),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":             filepath.Join(dir, "cert.pem"),
		"privateKey":              filepath.Join(dir, "key.pem"),
		"httpPort":                freePort(t),
		"tlsPort":                 tlsPort,
		"ocspResponderURL":        "",
		"keyAlgorithm":            "ecdsa",
		"retryAfter":              map[string]int{"authz": 0, "order": 0},
		"profiles":                map[string]any{"default": map[string]any{"description": "test", "validityPeriod": int(validity / time.Second)}},
	}}
	b, _ := json.Marshal(conf)
	os.WriteFile(filepath.Join(dir, "pebble.json"), b, 0o600)
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dns)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	logf, _ := os.Create(filepath.Join(dir, "pebble.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "pebble.log"))
			t.Logf("pebble log:\n%s", log)
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	ca := &testCA{directory: fmt.Sprintf("https://127.0.0.1:%d/dir", api),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	// Wait for it to answer, then fetch the root it issues under.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := ca.client.Get(ca.directory)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := ca.client.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ca.roots = x509.NewCertPool()
	if !ca.roots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble root: %q", root)
	}
	return ca
}

// tlsServer accepts TLS connections with cfg on 127.0.0.1 and completes
// each handshake (this is also where pebble checks tls-alpn-01).
func tlsServer(t *testing.T, ln net.Listener, cfg *tls.Config) {
	t.Helper()
	tl := tls.NewListener(ln, cfg)
	t.Cleanup(func() { tl.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
}

// handshake connects as a client naming serverName ("" sends no SNI) and
// returns the certificate the server presented, verified for verifyName
// against roots.
func handshake(t *testing.T, addr, serverName, verifyName string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	cfg := &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: verifyName, Roots: roots, Intermediates: inter})
			return err
		}}
	if serverName == "" {
		cfg.ServerName = ""
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("handshake as %q: %v", serverName, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

type acmeFixture struct {
	ca   *testCA
	acme *ACME
	addr string
}

func newACMEFixture(t *testing.T, validity, renewBefore time.Duration) *acmeFixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	zone := dnstest.NewZone().AddIP("mx.example.test", "127.0.0.1").AddIP("mta-sts.example.test", "127.0.0.1")
	dns, err := dnstest.Serve(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	ca := startPebble(t, validity, ln.Addr().(*net.TCPAddr).Port, dns.Addr())
	a, err := NewACME(ACMEOptions{
		Hostname: "mx.example.test", Email: "postmaster@example.test", DirectoryURL: ca.directory,
		CacheDir: t.TempDir(), HTTPClient: ca.client, RenewBefore: renewBefore, Logger: slog.New(slog.DiscardHandler),
		HostPolicy: func(_ context.Context, host string) error {
			if host == "mta-sts.example.test" {
				return nil
			}
			return errors.New("not ours")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tlsServer(t, ln, a.TLSConfig())
	return &acmeFixture{ca: ca, acme: a, addr: ln.Addr().String()}
}

// TestACMEIssuesAndServes obtains a certificate from pebble after a real
// tls-alpn-01 validation against our listener, and serves it to clients
// with and without SNI.
func TestACMEIssuesAndServes(t *testing.T) {
	f := newACMEFixture(t, 90*24*time.Hour, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leaf, err := f.acme.Prefetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("mx.example.test"); err != nil {
		t.Fatal(err)
	}
	got := handshake(t, f.addr, "mx.example.test", "mx.example.test", f.ca.roots)
	if got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("the listener serves another certificate than Prefetch obtained")
	}
	// No SNI (most MTAs), or a name we do not certify: the host name's.
	for _, sni := range []string{"", "unknown.example.test"} {
		if c := handshake(t, f.addr, sni, "mx.example.test", f.ca.roots); c.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			t.Fatalf("SNI %q got another certificate", sni)
		}
	}
	// A name the host policy allows gets a certificate of its own.
	handshake(t, f.addr, "mta-sts.example.test", "mta-sts.example.test", f.ca.roots)

	// A restart finds the certificate in the cache: no CA needed.
	again, err := NewACME(ACMEOptions{Hostname: "mx.example.test", DirectoryURL: "https://127.0.0.1:1/dir",
		CacheDir: f.acme.o.CacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cached, err := again.Prefetch(ctx)
	if err != nil || cached.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("from the cache: %v", err)
	}
}

// TestACMERenews issues short-lived certificates and checks that a new
// one replaces the first before it expires, with no restart.
func TestACMERenews(t *testing.T) {
	f := newACMEFixture(t, 30*time.Second, 25*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	first, err := f.acme.Prefetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := handshake(t, f.addr, "mx.example.test", "mx.example.test", f.ca.roots)
		if c.SerialNumber.Cmp(first.SerialNumber) != 0 {
			if !c.NotAfter.After(first.NotAfter) {
				t.Fatalf("renewed certificate expires %v, the first %v", c.NotAfter, first.NotAfter)
			}
			return
		}
		if time.Now().After(first.NotAfter) {
			t.Fatal("the certificate expired without being renewed")
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// TestACMEFallback: with the CA unreachable, handshakes get the fallback
// certificate instead of failing.
func TestACMEFallback(t *testing.T) {
	certPEM, keyPEM, err := NewSelfSigned("mx.example.test")
	if err != nil {
		t.Fatal(err)
	}
	fb, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewACME(ACMEOptions{Hostname: "mx.example.test", DirectoryURL: "https://127.0.0.1:1/dir",
		CacheDir: t.TempDir(), Fallback: &fb, Logger: slog.New(slog.DiscardHandler),
		HTTPClient: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsServer(t, ln, a.TLSConfig())
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	handshake(t, ln.Addr().String(), "mx.example.test", "mx.example.test", roots)
	if _, err := NewACME(ACMEOptions{Hostname: "x"}); err == nil {
		t.Fatal("ACME without a cache directory")
	}
}
