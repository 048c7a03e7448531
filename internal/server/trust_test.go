package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"posthorn/internal/account"
	"posthorn/internal/config"
	"posthorn/internal/mailauth"
	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/mtasts"
	"posthorn/internal/store"
)

func trustConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.Hostname = "mx.example.test"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.Listen.Submissions = "0.0.0.0:465"
	return cfg
}

func openAdmin(t *testing.T, cfg config.Config) *Admin {
	t.Helper()
	a, err := OpenAdmin(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestAdminDKIM(t *testing.T) {
	ctx := context.Background()
	a := openAdmin(t, trustConfig(t))
	if _, err := a.AddDomain(ctx, "Example.TEST"); err != nil {
		t.Fatal(err)
	}
	keys, states, err := a.DKIMKeys(ctx, "example.test")
	if err != nil || len(keys) != 2 || states[0] != mailauth.KeyActive || states[1] != mailauth.KeyActive {
		t.Fatalf("after domain add: %+v %v %v", keys, states, err)
	}
	staged, err := a.DKIMRotate(ctx, "example.test", false)
	if err != nil || len(staged) != 2 || staged[0].Active {
		t.Fatalf("rotate: %+v %v", staged, err)
	}
	_, states, _ = a.DKIMKeys(ctx, "example.test")
	if strings.Join(stateNames(states), ",") != "active,active,staged,staged" {
		t.Fatalf("states = %v", states)
	}
	active, err := a.DKIMActivate(ctx, "example.test")
	if err != nil || active[0].Selector != staged[0].Selector {
		t.Fatalf("activate: %+v %v", active, err)
	}
	if err := a.DKIMRemove(ctx, "example.test", keys[0].Selector); err != nil {
		t.Fatal(err)
	}
	if err := a.DKIMRemove(ctx, "example.test", staged[0].Selector); err == nil {
		t.Fatal("removed the active key")
	}
	now, err := a.DKIMRotate(ctx, "example.test", true)
	if err != nil || !now[0].Active {
		t.Fatalf("rotate --now: %+v %v", now, err)
	}
	if _, _, err := a.DKIMKeys(ctx, "other.test"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("keys of a domain that is not local: %v", err)
	}
	// The domain still goes away with its keys.
	if err := a.DeleteDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
}

func stateNames(s []mailauth.KeyState) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func TestAdminDNS(t *testing.T) {
	ctx := context.Background()
	cfg := trustConfig(t)
	a := openAdmin(t, cfg)
	if _, err := a.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	recs, err := a.DNSRecords(ctx, cfg, "example.test")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.Type+" "+r.Name)
	}
	joined := strings.Join(kinds, "\n")
	for _, want := range []string{"MX example.test", "TXT example.test", "._domainkey.example.test", "TXT _dmarc.example.test",
		"TXT _mta-sts.example.test", "CNAME mta-sts.example.test", "TXT _smtp._tls.example.test",
		"SRV _submissions._tcp.example.test", "SRV _imap._tcp.example.test"} {
		if !strings.Contains(joined, want) {
			t.Errorf("records lack %q:\n%s", want, joined)
		}
	}
	// Publish them in a fake zone, as the operator would: the check is clean.
	z := dnstest.NewZone().AddIP("mx.example.test", "192.0.2.25")
	for _, r := range recs {
		switch r.Type {
		case "MX":
			z.AddMX(r.Name, 10, "mx.example.test")
		case "TXT":
			z.AddTXT(r.Name, r.Value)
		case "CNAME":
			z.AddCNAME(r.Name, "mx.example.test")
		case "SRV":
			f := strings.Fields(r.Value)
			labels := strings.SplitN(r.Name, ".", 3)
			if f[3] != "." {
				z.AddSRV(strings.TrimPrefix(labels[0], "_"), "tcp", labels[2], 0, 1, uint16(portOf("x:"+f[2])), f[3])
			}
		}
	}
	fs, err := a.DNSCheck(ctx, cfg, "example.test", z)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Problem() {
			t.Errorf("%s %s: %s %s", f.Record.Type, f.Record.Name, f.Status, f.Detail)
		}
	}
	// Without an https listener there is nobody to serve MTA-STS.
	cfg.Listen.HTTPS = ""
	recs, _ = a.DNSRecords(ctx, cfg, "example.test")
	for _, r := range recs {
		if strings.Contains(r.Name, "mta-sts") {
			t.Fatalf("MTA-STS record without https: %s", r.Name)
		}
	}
	if _, err := a.DNSRecords(ctx, cfg, "other.test"); err == nil {
		t.Fatal("records for a domain that is not local")
	}
}

func TestNewTrust(t *testing.T) {
	ctx := context.Background()
	cfg := trustConfig(t)
	cfg.MTASTS.Mode = "enforce"
	log := slog.New(slog.DiscardHandler)
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accts := account.New(account.Options{Store: st, Logger: log})
	// A domain from before DKIM: Start gives it keys.
	if _, err := accts.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrust(cfg, st, accts, dnstest.NewZone(), log)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Checker == nil || tr.STS == nil || tr.ACME != nil || tr.TLSConfig() != nil {
		t.Fatalf("trust = %+v", tr)
	}
	tr.Start(ctx)
	keys, err := st.(store.KeyStore).DKIMKeys(ctx, "example.test")
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys after Start: %d, %v", len(keys), err)
	}
	sig, err := tr.Signer.Sign(ctx, "example.test", strings.NewReader("From: a@example.test\r\n\r\nhi\r\n"))
	if err != nil || strings.Count(sig, "DKIM-Signature:") != 2 {
		t.Fatalf("Sign: %q %v", sig, err)
	}
	// The policy handler serves our policy for the local domain.
	r := httptest.NewRequest("GET", "https://mta-sts.example.test"+mtasts.Path, nil)
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	tr.STSHandler.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || string(body) != "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 604800\r\n" {
		t.Fatalf("policy: %d %q", w.Code, body)
	}

	cfg.MX.Checks, cfg.Queue.MTASTS = false, false
	cfg.TLS.ACMEEmail = "postmaster@example.test"
	tr, err = NewTrust(cfg, st, accts, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Checker != nil || tr.STS != nil || tr.ACME == nil || tr.TLSConfig() == nil || tr.TLSConfig().GetCertificate == nil {
		t.Fatalf("trust with checks off and ACME on = %+v", tr)
	}
}
