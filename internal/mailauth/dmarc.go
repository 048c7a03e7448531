package mailauth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"posthorn/internal/message"
)

// DMARC results (RFC 7489 §11.2).
const (
	DMARCNone      = "none"
	DMARCPass      = "pass"
	DMARCFail      = "fail"
	DMARCTempError = "temperror"
	DMARCPermError = "permerror"
)

// Policies of a DMARC record (RFC 7489 §6.3 p= and sp=).
const (
	PolicyNone       = string(dmarc.PolicyNone)
	PolicyQuarantine = string(dmarc.PolicyQuarantine)
	PolicyReject     = string(dmarc.PolicyReject)
)

// DMARCResult is the outcome of DMARC for a message.
type DMARCResult struct {
	Result string // one of the DMARC* constants
	// From is the RFC5322.From domain, the one DMARC protects.
	From string
	// Policy is the policy the domain asks for: p=, or sp= when the
	// record was found at the organizational domain (RFC 7489 §6.6.3).
	Policy string
	// Applied is the policy to apply to this message: Policy, or the next
	// weaker one when the message fell outside pct= (§6.6.4); "" unless
	// Result is fail.
	Applied string
	Detail  string
}

// OrgDomain returns the organizational domain of a domain (RFC 7489 §3.2):
// the public suffix plus one label, from the public suffix list. A domain
// that is itself a public suffix is its own organizational domain.
func OrgDomain(domain string) string {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	od, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return od
}

// aligned reports whether an authenticated domain is aligned with the
// From domain (RFC 7489 §3.1.1, §3.1.2): equal in strict mode, of one
// organizational domain in relaxed mode.
func aligned(authDomain, fromDomain string, mode dmarc.AlignmentMode) bool {
	a, f := strings.ToLower(authDomain), strings.ToLower(fromDomain)
	if a == "" || f == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return a == f
	}
	return OrgDomain(a) == OrgDomain(f)
}

// fromDomain returns the single author domain of a header section (RFC
// 7489 §6.6.1), or an error result when there is none or several.
func fromDomain(head []byte) (string, string) {
	h, _ := message.ParseHeader(head)
	froms := h.Values("From")
	if len(froms) != 1 {
		return "", "message has " + strconv.Itoa(len(froms)) + " From fields"
	}
	domains := map[string]bool{}
	var domain string
	for _, a := range message.ParseAddressList(froms[0]) {
		if a.GroupStart || a.GroupEnd {
			continue
		}
		domain = strings.ToLower(strings.TrimSuffix(a.Host, "."))
		domains[domain] = true
	}
	switch {
	case len(domains) == 0 || domain == "":
		return "", "From has no address with a domain"
	case len(domains) > 1:
		return "", "From names several domains"
	}
	return domain, ""
}

// errDMARCSyntax marks a record that does not parse.
var errDMARCSyntax = errors.New("invalid DMARC record")

// lookupDMARC finds the policy record of a domain (RFC 7489 §6.6.3):
// TXT records at _dmarc.domain that start with v=DMARC1; exactly one must
// remain. It returns nil without error when there is none, and an error
// wrapping errDMARCSyntax when the one record does not parse.
func (c *Checker) lookupDMARC(ctx context.Context, domain string) (*dmarc.Record, error) {
	txts, err := c.o.Resolver.LookupTXT(ctx, "_dmarc."+domain)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(strings.TrimLeft(t, " \t"), "v=DMARC1") {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return nil, nil // §6.6.3: several records count as none
	}
	rec, err := dmarc.Parse(recs[0])
	if err != nil {
		return nil, fmt.Errorf("%w at _dmarc.%s: %v", errDMARCSyntax, domain, err)
	}
	return rec, nil
}

// discoverPolicy applies §6.6.3: the From domain's record, else the
// organizational domain's, whose sp= then applies to the subdomain.
func (c *Checker) discoverPolicy(ctx context.Context, from string) (*dmarc.Record, string, error) {
	rec, err := c.lookupDMARC(ctx, from)
	if err != nil {
		return nil, "", err
	}
	if rec != nil {
		return rec, string(rec.Policy), nil
	}
	org := OrgDomain(from)
	if org == from {
		return nil, "", nil
	}
	rec, err = c.lookupDMARC(ctx, org)
	if err != nil || rec == nil {
		return nil, "", err
	}
	if rec.SubdomainPolicy != "" {
		return rec, string(rec.SubdomainPolicy), nil
	}
	return rec, string(rec.Policy), nil
}

// evalDMARC decides DMARC for a message whose author domain is from.
func (c *Checker) evalDMARC(ctx context.Context, from string, spfRes SPFResult, dkims []DKIMCheck) DMARCResult {
	r := DMARCResult{From: from}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	rec, policy, err := c.discoverPolicy(ctx, from)
	switch {
	case errors.Is(err, errDMARCSyntax):
		// §6.6.3: a record without a valid p= means no DMARC processing.
		r.Result, r.Detail = DMARCPermError, err.Error()
		return r
	case err != nil:
		r.Result, r.Detail = DMARCTempError, err.Error()
		return r
	case rec == nil:
		r.Result, r.Detail = DMARCNone, "no DMARC record"
		return r
	}
	r.Policy = policy
	tempfail := false
	for _, d := range dkims {
		if !aligned(d.Domain, from, rec.DKIMAlignment) {
			continue
		}
		switch d.Result {
		case DKIMPass:
			r.Result = DMARCPass
			return r
		case DKIMTempError:
			tempfail = true
		}
	}
	id := spfRes.Identity()
	if aligned(id.Domain, from, rec.SPFAlignment) {
		switch id.Result {
		case SPFPass:
			r.Result = DMARCPass
			return r
		case SPFTempError:
			tempfail = true
		}
	}
	if tempfail {
		// An aligned identifier could not be checked: do not punish the
		// sender for a DNS hiccup.
		r.Result, r.Detail = DMARCTempError, "an aligned identifier could not be verified"
		return r
	}
	r.Result, r.Detail = DMARCFail, "no aligned SPF or DKIM pass"
	r.Applied = policy
	if rec.Percent != nil && *rec.Percent < 100 && c.o.Rand(100) >= *rec.Percent {
		// §6.6.4: outside the sampled percentage, the next weaker policy.
		switch policy {
		case PolicyReject:
			r.Applied = PolicyQuarantine
		case PolicyQuarantine:
			r.Applied = PolicyNone
		}
	}
	return r
}
