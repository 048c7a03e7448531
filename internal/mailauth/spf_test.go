package mailauth

import (
	"context"
	"net/netip"
	"testing"

	"posthorn/internal/mailauth/dnstest"
)

// spfZone has one domain per SPF result (RFC 7208 §2.6), for the client
// 192.0.2.1.
func spfZone() *dnstest.Zone {
	return dnstest.NewZone().
		AddTXT("pass.test", "v=spf1 ip4:192.0.2.0/24 -all").
		AddTXT("a.pass.test", "v=spf1 a -all").AddIP("a.pass.test", "192.0.2.1").
		AddTXT("mx.pass.test", "v=spf1 mx -all").AddMX("mx.pass.test", 10, "out.mx.pass.test").AddIP("out.mx.pass.test", "192.0.2.1").
		AddTXT("include.pass.test", "v=spf1 include:pass.test -all").
		AddTXT("fail.test", "v=spf1 ip4:198.51.100.0/24 -all").
		AddTXT("softfail.test", "v=spf1 ~all").
		AddTXT("neutral.test", "v=spf1 ?all").
		AddMX("none.test", 10, "mx.none.test").
		Fail("temperror.test").
		AddTXT("permerror.test", "v=spf1 frobnicate:x -all").
		AddTXT("twice.test", "v=spf1 -all", "v=spf1 +all").
		AddTXT("helo.pass.test", "v=spf1 ip4:192.0.2.1 -all").
		AddTXT("helo.fail.test", "v=spf1 -all")
}

func TestSPFDecisionTable(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name, helo, from string
		enforce          bool
		mailFrom, heloR  string
		reject           bool
	}{
		{"pass ip4", "helo.pass.test", "a@pass.test", false, SPFPass, SPFPass, false},
		{"pass a", "helo.pass.test", "a@a.pass.test", false, SPFPass, SPFPass, false},
		{"pass mx", "helo.pass.test", "a@mx.pass.test", false, SPFPass, SPFPass, false},
		{"pass include", "helo.pass.test", "a@include.pass.test", false, SPFPass, SPFPass, false},
		{"fail", "helo.pass.test", "a@fail.test", false, SPFFail, SPFPass, false},
		{"fail enforced", "helo.pass.test", "a@fail.test", true, SPFFail, SPFPass, true},
		{"softfail enforced is not rejected", "helo.pass.test", "a@softfail.test", true, SPFSoftFail, SPFPass, false},
		{"neutral", "helo.pass.test", "a@neutral.test", true, SPFNeutral, SPFPass, false},
		{"none", "helo.pass.test", "a@none.test", true, SPFNone, SPFPass, false},
		{"none, no such domain", "helo.pass.test", "a@nowhere.test", true, SPFNone, SPFPass, false},
		{"temperror", "helo.pass.test", "a@temperror.test", true, SPFTempError, SPFPass, false},
		{"permerror", "helo.pass.test", "a@permerror.test", true, SPFPermError, SPFPass, false},
		{"permerror: two records", "helo.pass.test", "a@twice.test", true, SPFPermError, SPFPass, false},
		{"HELO fails, MAIL FROM passes", "helo.fail.test", "a@pass.test", true, SPFPass, SPFFail, false},
		// RFC 7208 §2.4: for <> the HELO identity is what counts.
		{"null sender: HELO passes", "helo.pass.test", "", true, SPFPass, SPFPass, false},
		{"null sender: HELO fails, enforced", "helo.fail.test", "", true, SPFFail, SPFFail, true},
		{"null sender, literal HELO", "[192.0.2.1]", "", true, SPFNone, SPFNone, false},
		{"sender without a domain", "helo.pass.test", "postmaster", true, SPFNone, SPFPass, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(spfZone(), func(o *Options) { o.SPFEnforce = tt.enforce })
			r := c.CheckSPF(context.Background(), ip, tt.helo, tt.from)
			if r.MailFrom.Result != tt.mailFrom || r.Helo.Result != tt.heloR || r.Reject != tt.reject {
				t.Fatalf("MAIL FROM %+v, HELO %+v, reject %v; want %s, %s, %v", r.MailFrom, r.Helo, r.Reject, tt.mailFrom, tt.heloR, tt.reject)
			}
			if tt.from == "" && (!r.NullSender || r.Identity() != r.Helo) {
				t.Fatalf("null sender: identity %+v, HELO %+v", r.Identity(), r.Helo)
			}
		})
	}
}

func TestSPFIPv6AndMapped(t *testing.T) {
	z := dnstest.NewZone().AddTXT("v6.test", "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.1 -all")
	c := newChecker(z)
	for addr, want := range map[string]string{"2001:db8::25": SPFPass, "::ffff:192.0.2.1": SPFPass, "2001:db9::1": SPFFail} {
		if r := c.CheckSPF(context.Background(), netip.MustParseAddr(addr), "x", "a@v6.test"); r.MailFrom.Result != want {
			t.Errorf("%s: %s, want %s", addr, r.MailFrom.Result, want)
		}
	}
}

func TestHeloName(t *testing.T) {
	for in, want := range map[string]string{
		"Mail.Example.TEST.": "mail.example.test",
		"[192.0.2.1]":        "",
		"192.0.2.1":          "",
		"localhost":          "",
		"bad name.test":      "",
		"":                   "",
	} {
		if got := heloName(in); got != want {
			t.Errorf("heloName(%q) = %q, want %q", in, got, want)
		}
	}
}
