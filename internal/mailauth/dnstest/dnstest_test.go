package dnstest

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

func testZone() *Zone {
	long := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 400)
	return NewZone().
		AddTXT("example.test", "v=spf1 mx -all", "other").
		AddTXT("sel._domainkey.example.test", long).
		AddMX("example.test", 10, "mx.example.test").
		AddIP("mx.example.test", "127.0.0.1", "::1").
		AddCNAME("mta-sts.example.test", "mx.example.test").
		AddSRV("submissions", "tcp", "example.test", 0, 1, 465, "mx.example.test").
		AddPTR("192.0.2.10", "mx.example.test").
		Fail("broken.test")
}

// resolver is what both the in-memory zone and a *net.Resolver talking to
// Serve offer; the same expectations hold for both.
type resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

func checkResolver(t *testing.T, r resolver) {
	ctx := context.Background()
	txt, err := r.LookupTXT(ctx, "Example.TEST")
	if err != nil || len(txt) != 2 || txt[0] != "v=spf1 mx -all" {
		t.Fatalf("TXT = %q, %v", txt, err)
	}
	txt, err = r.LookupTXT(ctx, "sel._domainkey.example.test")
	if err != nil || len(txt) != 1 || len(txt[0]) != len("v=DKIM1; k=rsa; p=")+400 {
		t.Fatalf("long TXT = %d records, %v", len(txt), err)
	}
	mx, err := r.LookupMX(ctx, "example.test")
	if err != nil || len(mx) != 1 || mx[0].Host != "mx.example.test." && mx[0].Host != "mx.example.test" || mx[0].Pref != 10 {
		t.Fatalf("MX = %v, %v", mx, err)
	}
	ips, err := r.LookupIPAddr(ctx, "mx.example.test")
	if err != nil || len(ips) != 2 {
		t.Fatalf("IP = %v, %v", ips, err)
	}
	cname, err := r.LookupCNAME(ctx, "mta-sts.example.test")
	if err != nil || cname != "mx.example.test." {
		t.Fatalf("CNAME = %q, %v", cname, err)
	}
	_, srv, err := r.LookupSRV(ctx, "submissions", "tcp", "example.test")
	if err != nil || len(srv) != 1 || srv[0].Port != 465 {
		t.Fatalf("SRV = %v, %v", srv, err)
	}
	names, err := r.LookupAddr(ctx, "192.0.2.10")
	if err != nil || len(names) != 1 || !strings.HasPrefix(names[0], "mx.example.test") {
		t.Fatalf("PTR = %v, %v", names, err)
	}
	var de *net.DNSError
	if _, err := r.LookupTXT(ctx, "missing.example.test"); !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("missing name: %v", err)
	}
	if _, err := r.LookupTXT(ctx, "mx.example.test"); !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("name without TXT: %v", err)
	}
	if _, err := r.LookupTXT(ctx, "broken.test"); !errors.As(err, &de) || de.IsNotFound {
		t.Fatalf("failing name: %v", err)
	}
}

func TestZone(t *testing.T) {
	z := testZone()
	checkResolver(t, z)
	if n := z.Queries("TXT", "example.test"); n != 1 {
		t.Fatalf("Queries = %d", n)
	}
	if _, err := z.LookupTXT(context.Background(), "example.test"); err != nil {
		t.Fatal(err)
	}
	if n := z.Queries("TXT", "EXAMPLE.test."); n != 2 {
		t.Fatalf("Queries after a second lookup = %d", n)
	}
}

// TestServe asks the zone through Go's own resolver over UDP and TCP (the
// long TXT record does not fit a 512-octet UDP answer).
func TestServe(t *testing.T) {
	s, err := Serve(testZone())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkResolver(t, s.Resolver())
}

func TestReverseIP(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.0.127.in-addr.arpa": "127.0.0.1",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa": "::1",
		"x.in-addr.arpa": "",
		"example.test":   "",
	} {
		if got := reverseIP(in); got != want {
			t.Errorf("reverseIP(%s) = %q, want %q", in, got, want)
		}
	}
}
