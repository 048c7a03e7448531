package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"posthorn/internal/config"
	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/server"
)

// publishAll puts the records `posthorn dns` prints into a zone.
func publishAll(t *testing.T, conf, domain string, z *dnstest.Zone) {
	t.Helper()
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	a, err := server.OpenAdmin(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	recs, err := a.DNSRecords(context.Background(), cfg, domain)
	if err != nil {
		t.Fatal(err)
	}
	z.AddIP("mx.example.test", "127.0.0.1")
	for _, r := range recs {
		switch r.Type {
		case "MX":
			z.AddMX(r.Name, 10, "mx.example.test")
		case "TXT":
			z.AddTXT(r.Name, r.Value)
		case "CNAME":
			z.AddCNAME(r.Name, "mx.example.test")
		case "SRV":
			var prio, weight, port int
			var target string
			fmt.Sscanf(r.Value, "%d %d %d %s", &prio, &weight, &port, &target)
			if target != "." {
				labels := strings.SplitN(r.Name, ".", 3)
				z.AddSRV(strings.TrimPrefix(labels[0], "_"), "tcp", labels[2], uint16(prio), uint16(weight), uint16(port), target)
			}
		}
	}
}

func TestDNSCommands(t *testing.T) {
	conf := writeConfig(t, fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n[listen]\nhttps = \"0.0.0.0:443\"\n", filepath.Join(t.TempDir(), "data")))
	if code, out, errOut := runCLI(t, "", "domain", "add", "example.test", "--config", conf); code != 0 {
		t.Fatalf("domain add: %d %s %s", code, out, errOut)
	}
	code, out, _ := runCLI(t, "", "dns", "example.test", "--config", conf)
	for _, want := range []string{"example.test. 3600 IN MX 10 mx.example.test.", "._domainkey.example.test. 3600 IN TXT \"v=DKIM1; k=ed25519; p=",
		"k=rsa; p=", "_dmarc.example.test. 3600 IN TXT", "_mta-sts.example.test. 3600 IN TXT \"v=STSv1; id=", "_smtp._tls.example.test"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("dns: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	// dns check over a real DNS server on loopback.
	z := dnstest.NewZone()
	srv, err := dnstest.Serve(z)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, errOut := runCLI(t, "", "dns", "check", "example.test", "--resolver", srv.Addr(), "--config", conf)
	if code != 1 || !strings.Contains(out, "missing") || !strings.Contains(errOut, "need attention") {
		t.Fatalf("check of an empty zone: %d\n%s\n%s", code, out, errOut)
	}
	publishAll(t, conf, "example.test", z)
	code, out, errOut = runCLI(t, "", "dns", "check", "example.test", "--resolver", srv.Addr(), "--config", conf)
	if code != 0 || !strings.Contains(out, "all records are in place") {
		t.Fatalf("check of a complete zone: %d\n%s\n%s", code, out, errOut)
	}
	z.SetTXT("_dmarc.example.test")
	code, out, _ = runCLI(t, "", "dns", "check", "example.test", "--resolver", srv.Addr(), "--config", conf)
	if code != 1 || !strings.Contains(out, "publish: _dmarc.example.test.") {
		t.Fatalf("check without DMARC: %d\n%s", code, out)
	}
	for _, bad := range [][]string{{"dns"}, {"dns", "example.test", "--resolver", "x"}, {"dns", "other.test"}} {
		if code, _, _ := runCLI(t, "", append(bad, "--config", conf)...); code == 0 {
			t.Fatalf("posthorn %v succeeded", bad)
		}
	}
}

func TestDKIMCommands(t *testing.T) {
	conf := sqliteConfig(t)
	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"domain", "add", "example.test"}, 0, "added domain"},
		{[]string{"dkim", "list", "example.test"}, 0, "active"},
		{[]string{"dkim", "rotate", "example.test"}, 0, "staged"},
		{[]string{"dkim", "list", "example.test"}, 0, "staged"},
		{[]string{"dkim", "activate", "example.test"}, 0, "now signing"},
		{[]string{"dkim", "list", "example.test"}, 0, "retired"},
		{[]string{"dkim", "rotate", "--now", "example.test"}, 0, "sign from now on"},
		{[]string{"dkim", "remove", "example.test", "nosuch"}, 1, ""},
		{[]string{"dkim", "list", "other.test"}, 1, ""},
		{[]string{"dkim", "frobnicate", "example.test"}, 2, ""},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(t, "", append(s.args, "--config", conf)...)
		if code != s.code || !strings.Contains(out, s.out) {
			t.Fatalf("posthorn %s: exit %d (want %d)\n%s\n%s", strings.Join(s.args, " "), code, s.code, out, errOut)
		}
	}
	// Remove the first, retired generation by its selector.
	_, out, _ := runCLI(t, "", "dkim", "list", "example.test", "--config", conf)
	var retired string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[2] == "retired" {
			retired = f[0]
			break
		}
	}
	if code, out, errOut := runCLI(t, "", "dkim", "remove", "example.test", retired, "--config", conf); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove %s: %d %s %s", retired, code, out, errOut)
	}
}
