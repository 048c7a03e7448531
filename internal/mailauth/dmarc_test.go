package mailauth

import (
	"context"
	"testing"

	"posthorn/internal/mailauth/dnstest"
)

func spfIdentity(domain, result string) SPFResult {
	return SPFResult{MailFrom: SPFCheck{Domain: domain, Result: result}, Helo: SPFCheck{Result: SPFNone}}
}

func dkimSig(domain, result string) []DKIMCheck {
	return []DKIMCheck{{Domain: domain, Result: result}}
}

// TestDMARCDecisionTable runs RFC 7489 evaluation over a fake zone: policy
// discovery (§6.6.3), alignment in both modes (§3.1), pct (§6.6.4), and the
// disposition with and without enforcement.
func TestDMARCDecisionTable(t *testing.T) {
	tests := []struct {
		name    string
		records map[string][]string // _dmarc TXT records by domain
		fail    string              // a name whose lookups fail
		from    string
		spf     SPFResult
		dkim    []DKIMCheck
		enforce bool
		rand    int // what the pct draw returns
		result  string
		applied string
		action  Action
	}{
		{name: "no record", from: "example.org", spf: spfIdentity("other.test", SPFPass),
			result: DMARCNone, action: Deliver},
		{name: "aligned DKIM pass", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			dkim: dkimSig("example.org", DKIMPass), result: DMARCPass, action: Deliver},
		{name: "aligned SPF pass", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			spf: spfIdentity("example.org", SPFPass), result: DMARCPass, action: Deliver},
		{name: "relaxed: DKIM of a subdomain aligns", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			dkim: dkimSig("mail.example.org", DKIMPass), result: DMARCPass, action: Deliver},
		{name: "strict: DKIM of a subdomain does not align", records: map[string][]string{"example.org": {"v=DMARC1; p=reject; adkim=s"}}, from: "example.org",
			dkim: dkimSig("mail.example.org", DKIMPass), result: DMARCFail, applied: PolicyReject, action: Junk},
		{name: "relaxed: SPF of a bounce subdomain aligns", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			spf: spfIdentity("bounce.example.org", SPFPass), result: DMARCPass, action: Deliver},
		{name: "strict SPF: subdomain does not align", records: map[string][]string{"example.org": {"v=DMARC1; p=reject; aspf=s"}}, from: "example.org",
			spf: spfIdentity("bounce.example.org", SPFPass), result: DMARCFail, applied: PolicyReject, action: Junk},
		{name: "relaxed across a public suffix: co.uk", records: map[string][]string{"example.co.uk": {"v=DMARC1; p=reject"}}, from: "example.co.uk",
			dkim: dkimSig("other.co.uk", DKIMPass), result: DMARCFail, applied: PolicyReject, action: Junk},
		{name: "unaligned passes, p=reject, not enforced: Junk", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			spf: spfIdentity("other.test", SPFPass), dkim: dkimSig("other.test", DKIMPass), result: DMARCFail, applied: PolicyReject, action: Junk},
		{name: "unaligned passes, p=reject, enforced: Reject", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			spf: spfIdentity("other.test", SPFPass), dkim: dkimSig("other.test", DKIMPass), enforce: true, result: DMARCFail, applied: PolicyReject, action: Reject},
		{name: "aligned but failing", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			spf: spfIdentity("example.org", SPFFail), dkim: dkimSig("example.org", DKIMFail), enforce: true, result: DMARCFail, applied: PolicyReject, action: Reject},
		{name: "softfail and neutral do not pass", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			spf: spfIdentity("example.org", SPFSoftFail), dkim: dkimSig("example.org", DKIMPermError), enforce: true, result: DMARCFail, applied: PolicyReject, action: Reject},
		{name: "p=quarantine: Junk even when enforcing", records: map[string][]string{"example.org": {"v=DMARC1; p=quarantine"}}, from: "example.org",
			enforce: true, result: DMARCFail, applied: PolicyQuarantine, action: Junk},
		{name: "p=none: delivered", records: map[string][]string{"example.org": {"v=DMARC1; p=none"}}, from: "example.org",
			enforce: true, result: DMARCFail, applied: PolicyNone, action: Deliver},
		{name: "subdomain uses the organizational sp=", records: map[string][]string{"example.org": {"v=DMARC1; p=none; sp=reject"}}, from: "news.example.org",
			enforce: true, result: DMARCFail, applied: PolicyReject, action: Reject},
		{name: "subdomain without sp= uses p=", records: map[string][]string{"example.org": {"v=DMARC1; p=quarantine"}}, from: "news.example.org",
			enforce: true, result: DMARCFail, applied: PolicyQuarantine, action: Junk},
		{name: "the subdomain's own record wins", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}, "news.example.org": {"v=DMARC1; p=none"}},
			from: "news.example.org", enforce: true, result: DMARCFail, applied: PolicyNone, action: Deliver},
		{name: "pct=50, sampled", records: map[string][]string{"example.org": {"v=DMARC1; p=reject; pct=50"}}, from: "example.org",
			enforce: true, rand: 49, result: DMARCFail, applied: PolicyReject, action: Reject},
		{name: "pct=50, not sampled: next weaker policy", records: map[string][]string{"example.org": {"v=DMARC1; p=reject; pct=50"}}, from: "example.org",
			enforce: true, rand: 50, result: DMARCFail, applied: PolicyQuarantine, action: Junk},
		{name: "pct=0 quarantine becomes none", records: map[string][]string{"example.org": {"v=DMARC1; p=quarantine; pct=0"}}, from: "example.org",
			enforce: true, result: DMARCFail, applied: PolicyNone, action: Deliver},
		{name: "temperror looking up the policy", fail: "_dmarc.example.org", from: "example.org",
			enforce: true, result: DMARCTempError, action: Deliver},
		{name: "temperror of an aligned DKIM signature", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			dkim: dkimSig("example.org", DKIMTempError), enforce: true, result: DMARCTempError, action: Deliver},
		{name: "temperror of aligned SPF", records: map[string][]string{"example.org": {"v=DMARC1; p=reject"}}, from: "example.org",
			spf: spfIdentity("example.org", SPFTempError), enforce: true, result: DMARCTempError, action: Deliver},
		{name: "permerror: invalid p=", records: map[string][]string{"example.org": {"v=DMARC1; p=bogus"}}, from: "example.org",
			enforce: true, result: DMARCPermError, action: Deliver},
		{name: "two records count as none", records: map[string][]string{"example.org": {"v=DMARC1; p=reject", "v=DMARC1; p=none"}}, from: "example.org",
			enforce: true, result: DMARCNone, action: Deliver},
		{name: "other TXT records are ignored", records: map[string][]string{"example.org": {"hello", "v=DMARC1; p=reject"}}, from: "example.org",
			enforce: true, result: DMARCFail, applied: PolicyReject, action: Reject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := dnstest.NewZone()
			for d, recs := range tt.records {
				z.AddTXT("_dmarc."+d, recs...)
			}
			if tt.fail != "" {
				z.Fail(tt.fail)
			}
			c := newChecker(z, func(o *Options) {
				o.DMARCEnforce = tt.enforce
				o.Rand = func(int) int { return tt.rand }
			})
			spf := tt.spf
			if spf.MailFrom.Result == "" {
				spf = spfIdentity("", SPFNone)
			}
			r := c.evalDMARC(context.Background(), tt.from, spf, tt.dkim)
			action, err := c.decide(Verdict{SPF: spf, DKIM: tt.dkim, DMARC: r})
			if r.Result != tt.result || r.Applied != tt.applied || action != tt.action {
				t.Fatalf("got %s applied %q action %s (%s); want %s %q %s", r.Result, r.Applied, action, r.Detail, tt.result, tt.applied, tt.action)
			}
			if (action == Reject) != (err == ErrDMARCReject) {
				t.Fatalf("action %s with error %v", action, err)
			}
		})
	}
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"mail.example.org":     "example.org",
		"Example.ORG.":         "example.org",
		"a.b.example.co.uk":    "example.co.uk",
		"co.uk":                "co.uk",
		"football.example.com": "example.com",
		"x.example.test":       "example.test",
	} {
		if got := OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestFromDomain(t *testing.T) {
	for _, tt := range []struct{ head, want string }{
		{"From: A <a@Example.ORG>\r\n\r\n", "example.org"},
		{"From: a@x.test, b@x.test\r\n\r\n", "x.test"},
		{"From: a@x.test, b@y.test\r\n\r\n", ""},
		{"From: a@x.test\r\nFrom: b@x.test\r\n\r\n", ""},
		{"Subject: none\r\n\r\n", ""},
		{"From: undisclosed\r\n\r\n", ""},
		{"From: Group: a@x.test;\r\n\r\n", "x.test"},
	} {
		if got, why := fromDomain([]byte(tt.head)); got != tt.want || (got == "") == (why == "") {
			t.Errorf("fromDomain(%q) = %q (%s), want %q", tt.head, got, why, tt.want)
		}
	}
}
