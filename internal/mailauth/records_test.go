package mailauth

import (
	"context"
	"strings"
	"testing"

	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/store"
)

func recordOptions(t *testing.T) RecordOptions {
	ks := rfcKeys(t)
	keys, err := ks.DKIMKeys(context.Background(), "football.example.com")
	if err != nil {
		t.Fatal(err)
	}
	return RecordOptions{
		Hostname: "MX.example.com.", Keys: keys, MTASTSID: "20260315abc",
		Services: []Service{{"submissions", 465}, {"submission", 587}, {"imaps", 993}, {"imap", 0}, {"pop3s", 0}},
	}
}

// TestRecordsGolden: the zone lines `posthorn dns` prints for a domain
// with the RFC 8463 keys (so the DKIM records are those of RFC 8463 A.2).
func TestRecordsGolden(t *testing.T) {
	recs, err := Records("Football.Example.COM", recordOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range recs {
		b.WriteString("; " + r.Purpose + "\n" + r.ZoneLine() + "\n")
	}
	golden(t, "records.golden", b.String())
}

// publish puts every record into a zone as a correct server would, plus
// the host's address.
func publish(z *dnstest.Zone, recs []Record) {
	z.AddIP("mx.example.com", "192.0.2.25")
	for _, r := range recs {
		switch r.Type {
		case "MX":
			z.AddMX(r.Name, 10, "mx.example.com.")
		case "TXT":
			v := r.Value
			if strings.HasPrefix(v, "v=spf1") {
				v = "v=spf1 ip4:192.0.2.25 -all" // different text, same effect
			}
			z.AddTXT(r.Name, v)
		case "CNAME":
			z.AddCNAME(r.Name, "mx.example.com")
		case "SRV":
			f := strings.Fields(r.Value)
			if f[3] == "." {
				continue // optional
			}
			labels := strings.SplitN(r.Name, ".", 3)
			port := map[string]uint16{"465": 465, "587": 587, "993": 993}[f[2]]
			z.AddSRV(strings.TrimPrefix(labels[0], "_"), "tcp", labels[2], 0, 1, port, "mx.example.com.")
		}
	}
}

func statuses(fs []Finding) map[string]Status {
	out := map[string]Status{}
	for _, f := range fs {
		out[f.Record.Type+" "+f.Record.Name] = f.Status
	}
	return out
}

func TestCheckRecords(t *testing.T) {
	ctx := context.Background()
	recs, err := Records("football.example.com", recordOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	z := dnstest.NewZone()
	publish(z, recs)
	for _, f := range CheckRecords(ctx, z, "mx.example.com", recs) {
		if f.Problem() {
			t.Errorf("%s %s: %s %s (found %q)", f.Record.Type, f.Record.Name, f.Status, f.Detail, f.Found)
		}
	}

	// Now break it the ways operators do.
	bad := dnstest.NewZone()
	publish(bad, recs)
	bad.SetTXT("football.example.com", "v=spf1 ip4:198.51.100.1 -all")
	bad.SetTXT("brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=AAAA")
	bad.SetTXT("test._domainkey.football.example.com")
	bad.SetTXT("_dmarc.football.example.com", "v=DMARC1; p=none", "v=DMARC1; p=reject")
	bad.SetTXT("_mta-sts.football.example.com", "v=STSv1; id=old")
	bad.SetTXT("_smtp._tls.football.example.com")
	bad.Fail("football.example.com.") // MX lookups fail too
	got := statuses(CheckRecords(ctx, bad, "mx.example.com", recs))
	for key, want := range map[string]Status{
		"MX football.example.com":                      StatusError,
		"TXT football.example.com":                     StatusError,
		"TXT brisbane._domainkey.football.example.com": StatusWrong,
		"TXT test._domainkey.football.example.com":     StatusMissing,
		"TXT _dmarc.football.example.com":              StatusWrong,
		"TXT _mta-sts.football.example.com":            StatusWrong,
		"CNAME mta-sts.football.example.com":           StatusOK,
		"TXT _smtp._tls.football.example.com":          StatusMissing,
		"SRV _submissions._tcp.football.example.com":   StatusOK,
		"SRV _imap._tcp.football.example.com":          StatusMissing,
	} {
		if got[key] != want {
			t.Errorf("%s: %s, want %s", key, got[key], want)
		}
	}

	spfWrong := dnstest.NewZone()
	publish(spfWrong, recs)
	spfWrong.SetTXT("football.example.com", "v=spf1 ip4:198.51.100.1 -all")
	spfWrong.AddMX("other.test", 10, "mx.other.test")
	if s := statuses(CheckRecords(ctx, spfWrong, "mx.example.com", recs))["TXT football.example.com"]; s != StatusWrong {
		t.Errorf("SPF that does not allow our address: %s", s)
	}
}

// TestCheckRecordsOverDNS runs the check through Go's resolver against a
// DNS server on loopback, as `posthorn dns check --resolver` does.
func TestCheckRecordsOverDNS(t *testing.T) {
	recs, err := Records("football.example.com", recordOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	z := dnstest.NewZone()
	publish(z, recs)
	srv, err := dnstest.Serve(z)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, f := range CheckRecords(context.Background(), srv.Resolver(), "mx.example.com", recs) {
		if f.Problem() {
			t.Errorf("%s %s: %s %s (found %q)", f.Record.Type, f.Record.Name, f.Status, f.Detail, f.Found)
		}
	}
}

func TestRecordsBadKey(t *testing.T) {
	_, err := Records("x.test", RecordOptions{Hostname: "mx.x.test", Keys: []store.DKIMKey{{Selector: "s", PrivateKey: []byte("junk")}}})
	if err == nil {
		t.Fatal("a broken key gave records")
	}
}
