package mailauth

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
)

// SPF results (RFC 7208 §2.6), as Authentication-Results writes them.
const (
	SPFNone      = string(spf.None)
	SPFNeutral   = string(spf.Neutral)
	SPFPass      = string(spf.Pass)
	SPFFail      = string(spf.Fail)
	SPFSoftFail  = string(spf.SoftFail)
	SPFTempError = string(spf.TempError)
	SPFPermError = string(spf.PermError)
)

// SPFCheck is the result for one identity.
type SPFCheck struct {
	// Domain is the identity's domain ("" when there was none to check:
	// an address literal as HELO, a sender without a domain).
	Domain string
	Result string // one of the SPF* constants
	// Detail is why, for logs (the library's explanation); never shown to
	// the client.
	Detail string
}

// SPFResult holds the checks of both identities (RFC 7208 §2.3, §2.4).
type SPFResult struct {
	MailFrom SPFCheck // the MAIL FROM identity ("postmaster@HELO" for <>)
	Helo     SPFCheck
	// NullSender records that MAIL FROM was <>, so that MailFrom is the
	// HELO identity in disguise.
	NullSender bool
	// Reject is set when Options.SPFEnforce is on and the identity DMARC
	// uses failed (RFC 7208 §8.4: "fail" may be rejected with 550 5.7.23,
	// RFC 7372 §3.2).
	Reject bool
}

// Identity is the SPF result DMARC aligns with (RFC 7489 §3.1.2, §4.1):
// the MAIL FROM check, which for the null sender was made for the HELO
// domain.
func (r SPFResult) Identity() SPFCheck { return r.MailFrom }

// CheckSPF evaluates SPF for the client's address and both identities. It
// never fails: DNS trouble gives temperror or permerror. It may run at MAIL
// FROM, before any data; pass the result in Input.SPF.
func (c *Checker) CheckSPF(ctx context.Context, ip netip.Addr, helo, mailFrom string) SPFResult {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var r SPFResult
	heloDomain := heloName(helo)
	r.Helo = SPFCheck{Result: SPFNone, Detail: "HELO is not a domain name"}
	if heloDomain != "" {
		// RFC 7208 §2.3: the HELO identity is checked as postmaster@HELO.
		r.Helo = c.spfCheck(ctx, ip, helo, "postmaster@"+heloDomain, heloDomain)
	}
	_, domain, ok := strings.Cut(mailFrom, "@")
	switch {
	case mailFrom == "":
		// RFC 7208 §2.4: for the null sender the MAIL FROM check is made
		// for postmaster@HELO, i.e. it is the HELO check.
		r.NullSender = true
		r.MailFrom = r.Helo
	case !ok || domain == "":
		r.MailFrom = SPFCheck{Result: SPFNone, Detail: "sender has no domain"}
	default:
		r.MailFrom = c.spfCheck(ctx, ip, helo, mailFrom, strings.ToLower(domain))
	}
	r.Reject = c.o.SPFEnforce && r.MailFrom.Result == SPFFail
	return r
}

func (c *Checker) spfCheck(ctx context.Context, ip netip.Addr, helo, sender, domain string) SPFCheck {
	res, err := spf.CheckHostWithSender(net.IP(ip.Unmap().AsSlice()), helo, sender,
		spf.WithContext(ctx), spf.WithResolver(c.o.Resolver))
	chk := SPFCheck{Domain: domain, Result: string(res)}
	if err != nil {
		chk.Detail = err.Error()
	}
	return chk
}

// heloName returns the HELO argument as a domain to check, or "" when it
// is an address literal or not a plausible domain name (RFC 7208 §2.3:
// only a fully qualified domain name can be checked).
func heloName(helo string) string {
	h := strings.ToLower(strings.TrimSuffix(helo, "."))
	if h == "" || strings.HasPrefix(h, "[") || !strings.Contains(h, ".") {
		return ""
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return ""
		}
	}
	return h
}
