package mailauth

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dmarc"

	"posthorn/internal/store"
)

// Record is one DNS record a local domain should publish.
type Record struct {
	Name  string // owner name, without the final dot
	Type  string // MX, TXT, CNAME or SRV
	Value string // as in a zone file, without quotes for TXT
	// Purpose says what the record is for, with its RFC.
	Purpose string
	// Optional records may be absent: the "not offered" SRV records of
	// RFC 6186 §4 only make clients stop looking.
	Optional bool
	check    checkFunc
}

// Service is one mail service for the SRV records of RFC 6186 and RFC
// 8314 §5.1: its SRV name ("submission", "imaps", ...) and port (0: not
// offered, published with the target ".").
type Service struct {
	Name string
	Port int
}

// RecordOptions describe what a domain's records point at.
type RecordOptions struct {
	// Hostname is the MX, and the target of the SRV records and of the
	// MTA-STS policy host.
	Hostname string
	// Keys are the domain's DKIM keys: each gets its record (staged keys
	// must be published before activation, retired ones until removed).
	Keys []store.DKIMKey
	// MTASTSID is the id of the MTA-STS policy served for the domain
	// (RFC 8461 §3.1); empty leaves the MTA-STS records out.
	MTASTSID string
	// Services get SRV records; empty leaves them out.
	Services []Service
	// ReportTo receives DMARC aggregate and TLS reports (default
	// postmaster@domain, which every local domain has).
	ReportTo string
}

// Records returns what domain should publish, in the order of `posthorn
// dns`: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV.
func Records(domain string, o RecordOptions) ([]Record, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	host := strings.ToLower(strings.TrimSuffix(o.Hostname, "."))
	report := o.ReportTo
	if report == "" {
		report = "postmaster@" + d
	}
	recs := []Record{
		{Name: d, Type: "MX", Value: "10 " + host + ".", Purpose: "mail for the domain goes to this server (RFC 5321 §5.1)", check: checkMX},
		// RFC 7208: our outgoing mail leaves from the host its MX names.
		{Name: d, Type: "TXT", Value: "v=spf1 mx -all", Purpose: "SPF: only the MX may send as the domain (RFC 7208)", check: checkSPF},
	}
	for _, k := range o.Keys {
		signer, _, err := ParseKey(k.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("DKIM key %s: %w", k.Selector, err)
		}
		rec, err := KeyRecord(signer)
		if err != nil {
			return nil, err
		}
		recs = append(recs, Record{Name: RecordName(d, k.Selector), Type: "TXT", Value: rec,
			Purpose: "DKIM public key " + k.Selector + " (" + k.Algorithm + ", RFC 6376 §3.6)", check: checkDKIM})
	}
	recs = append(recs, Record{Name: "_dmarc." + d, Type: "TXT", Value: "v=DMARC1; p=reject; rua=mailto:" + report,
		Purpose: "DMARC: receivers refuse mail that fails SPF and DKIM alignment (RFC 7489)", check: checkDMARC})
	if o.MTASTSID != "" {
		recs = append(recs,
			Record{Name: "_mta-sts." + d, Type: "TXT", Value: "v=STSv1; id=" + o.MTASTSID,
				Purpose: "MTA-STS: senders must use verified TLS (RFC 8461 §3.1)", check: checkMTASTS},
			Record{Name: "mta-sts." + d, Type: "CNAME", Value: host + ".",
				Purpose: "MTA-STS policy host, served over HTTPS by this server (RFC 8461 §3.3)", check: checkPolicyHost})
	}
	recs = append(recs, Record{Name: "_smtp._tls." + d, Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:" + report,
		Purpose: "TLS reporting address (RFC 8460 §3)", check: checkTLSRPT})
	for _, s := range o.Services {
		r := Record{Name: "_" + s.Name + "._tcp." + d, Type: "SRV", Purpose: "mail client autoconfiguration (RFC 6186, RFC 8314 §5.1)", check: checkSRV}
		if s.Port == 0 {
			r.Value, r.Optional = "0 0 0 .", true
			r.Purpose = "service not offered (RFC 6186 §4)"
		} else {
			r.Value = "0 1 " + strconv.Itoa(s.Port) + " " + host + "."
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// ZoneLine renders the record as a zone file line (RFC 1035 §5.1); a long
// TXT value is split into 255-octet strings (§3.3.14).
func (r Record) ZoneLine() string {
	v := r.Value
	if r.Type == "TXT" {
		var parts []string
		for len(v) > 255 {
			parts = append(parts, strconv.Quote(v[:255]))
			v = v[255:]
		}
		v = strings.Join(append(parts, strconv.Quote(v)), " ")
	}
	return fmt.Sprintf("%s. 3600 IN %s %s", r.Name, r.Type, v)
}

// Finding is what DNS holds for one record.
type Finding struct {
	Record Record
	Status Status
	Found  []string // what DNS returned, for the operator
	Detail string
}

// Status of a checked record.
type Status string

// Statuses.
const (
	StatusOK      Status = "ok"
	StatusMissing Status = "missing"
	StatusWrong   Status = "wrong"
	StatusError   Status = "error" // the lookup failed
)

// Problem reports whether the finding needs the operator's attention.
func (f Finding) Problem() bool {
	return f.Status != StatusOK && !(f.Record.Optional && f.Status == StatusMissing)
}

type checkFunc func(ctx context.Context, r RecordResolver, host string, rec Record) Finding

// CheckRecords looks each record up and compares it with what it should
// be. host is our host name; its addresses are what SPF must allow.
func CheckRecords(ctx context.Context, r RecordResolver, host string, recs []Record) []Finding {
	out := make([]Finding, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.check(ctx, r, strings.ToLower(strings.TrimSuffix(host, ".")), rec))
	}
	return out
}

// lookupFailed turns a lookup error into a finding.
func lookupFailed(rec Record, err error) Finding {
	if isNotFound(err) {
		return Finding{Record: rec, Status: StatusMissing}
	}
	return Finding{Record: rec, Status: StatusError, Detail: err.Error()}
}

func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

func checkMX(ctx context.Context, r RecordResolver, host string, rec Record) Finding {
	mxs, err := r.LookupMX(ctx, rec.Name)
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Status: StatusWrong, Detail: "no MX names " + host}
	for _, mx := range mxs {
		f.Found = append(f.Found, fmt.Sprintf("%d %s", mx.Pref, mx.Host))
		if sameHost(mx.Host, host) {
			f.Status, f.Detail = StatusOK, ""
		}
	}
	return f
}

// txtWith returns the TXT records at name that start with prefix.
func txtWith(ctx context.Context, r RecordResolver, name, prefix string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), strings.ToLower(prefix)) {
			out = append(out, t)
		}
	}
	return out, nil
}

// checkSPF passes when the one SPF record of the domain authorizes every
// address of our host, whatever its text (RFC 7208 §4).
func checkSPF(ctx context.Context, r RecordResolver, host string, rec Record) Finding {
	recs, err := txtWith(ctx, r, rec.Name, "v=spf1")
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Found: recs}
	switch len(recs) {
	case 0:
		f.Status = StatusMissing
		return f
	case 1:
	default:
		f.Status, f.Detail = StatusWrong, "several SPF records: receivers treat that as permerror (RFC 7208 §4.5)"
		return f
	}
	ips, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		f.Status, f.Detail = StatusError, "cannot look up "+host+": "+err.Error()
		return f
	}
	f.Status = StatusOK
	for _, ip := range ips {
		res, _ := spf.CheckHostWithSender(ip.IP, host, "postmaster@"+rec.Name, spf.WithContext(ctx), spf.WithResolver(r))
		if res != spf.Pass {
			f.Status, f.Detail = StatusWrong, fmt.Sprintf("SPF gives %s for %s (%s)", res, ip.IP, host)
			return f
		}
	}
	return f
}

// keyData returns the p= tag of a DKIM key record without white space.
func keyData(rec string) string {
	for _, tag := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(tag, "=")
		if ok && strings.TrimSpace(k) == "p" {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

func checkDKIM(ctx context.Context, r RecordResolver, _ string, rec Record) Finding {
	txts, err := r.LookupTXT(ctx, rec.Name)
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Found: txts, Status: StatusWrong, Detail: "the published key is not this server's"}
	for _, t := range txts {
		if keyData(t) == keyData(rec.Value) {
			f.Status, f.Detail = StatusOK, ""
		}
	}
	return f
}

func checkDMARC(ctx context.Context, r RecordResolver, _ string, rec Record) Finding {
	recs, err := txtWith(ctx, r, rec.Name, "v=DMARC1")
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Found: recs}
	switch len(recs) {
	case 0:
		f.Status = StatusMissing
	case 1:
		if d, err := dmarc.Parse(recs[0]); err != nil {
			f.Status, f.Detail = StatusWrong, err.Error()
		} else {
			f.Status, f.Detail = StatusOK, "policy "+string(d.Policy)
		}
	default:
		f.Status, f.Detail = StatusWrong, "several DMARC records: receivers ignore them all (RFC 7489 §6.6.3)"
	}
	return f
}

func checkMTASTS(ctx context.Context, r RecordResolver, _ string, rec Record) Finding {
	recs, err := txtWith(ctx, r, rec.Name, "v=STSv1")
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Found: recs}
	want := strings.TrimPrefix(rec.Value, "v=STSv1; id=")
	switch {
	case len(recs) == 0:
		f.Status = StatusMissing
	case len(recs) > 1:
		f.Status, f.Detail = StatusWrong, "several records: senders ignore them (RFC 8461 §3.1)"
	case stsID(recs[0]) != want:
		f.Status, f.Detail = StatusWrong, "id "+stsID(recs[0])+" is not the current policy's: senders keep their cached copy"
	default:
		f.Status = StatusOK
	}
	return f
}

// stsID returns the id= of an MTA-STS TXT record.
func stsID(rec string) string {
	for _, tag := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(tag, "=")
		if ok && strings.TrimSpace(k) == "id" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// checkPolicyHost accepts a CNAME to our host or addresses that are ours.
func checkPolicyHost(ctx context.Context, r RecordResolver, host string, rec Record) Finding {
	cname, err := r.LookupCNAME(ctx, rec.Name)
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Found: []string{cname}}
	if sameHost(cname, host) {
		f.Status = StatusOK
		return f
	}
	theirs, err1 := r.LookupIPAddr(ctx, rec.Name)
	ours, err2 := r.LookupIPAddr(ctx, host)
	if err1 != nil || err2 != nil {
		f.Status, f.Detail = StatusWrong, "points at "+cname+", not "+host
		return f
	}
	for _, ip := range theirs {
		if !slices.ContainsFunc(ours, func(o net.IPAddr) bool { return o.IP.Equal(ip.IP) }) {
			f.Status, f.Detail = StatusWrong, ip.IP.String()+" is not an address of "+host
			return f
		}
	}
	f.Status = StatusOK
	return f
}

func checkTLSRPT(ctx context.Context, r RecordResolver, _ string, rec Record) Finding {
	recs, err := txtWith(ctx, r, rec.Name, "v=TLSRPTv1")
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Found: recs, Status: StatusOK}
	switch len(recs) {
	case 0:
		f.Status = StatusMissing
	case 1:
	default:
		f.Status, f.Detail = StatusWrong, "several TLS-RPT records (RFC 8460 §3)"
	}
	return f
}

func checkSRV(ctx context.Context, r RecordResolver, _ string, rec Record) Finding {
	labels := strings.SplitN(rec.Name, ".", 3)
	_, srvs, err := r.LookupSRV(ctx, strings.TrimPrefix(labels[0], "_"), strings.TrimPrefix(labels[1], "_"), labels[2])
	if err != nil {
		return lookupFailed(rec, err)
	}
	f := Finding{Record: rec, Status: StatusWrong, Detail: "no record names this server and port"}
	for _, s := range srvs {
		got := fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target)
		f.Found = append(f.Found, got)
		want := strings.Fields(rec.Value)
		if strconv.Itoa(int(s.Port)) == want[2] && sameHost(s.Target, want[3]) {
			f.Status, f.Detail = StatusOK, ""
		}
	}
	return f
}
