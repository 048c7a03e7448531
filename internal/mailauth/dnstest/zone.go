// Package dnstest is a fake DNS for tests: a Zone of records in memory
// that implements the resolver interfaces of mailauth, mtasts and queue
// directly, and Serve, which answers real DNS queries for a Zone on
// 127.0.0.1 so that code taking a *net.Resolver (the CLI's `dns check`)
// can be tested over a socket. It is used by tests only; nothing in it
// ever queries a real name server.
//
// Names are compared case-insensitively and without the final dot. A name
// with no records of the asked type gives a *net.DNSError with IsNotFound,
// as Go's resolver does for NXDOMAIN and for empty answers; a name marked
// with Fail gives IsTemporary (SERVFAIL) for every lookup.
package dnstest

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
)

// Zone is a set of DNS records. The zero value is not ready: use NewZone.
// It is safe for concurrent use.
type Zone struct {
	mu    sync.Mutex
	txt   map[string][]string
	mx    map[string][]*net.MX
	ip    map[string][]net.IP
	ptr   map[string][]string // by IP address string
	cname map[string]string
	srv   map[string][]*net.SRV // by "_service._proto.name"
	fail  map[string]bool
	// queries counts lookups by "TYPE name", for tests of caching.
	queries map[string]int
}

// NewZone returns an empty zone.
func NewZone() *Zone {
	return &Zone{
		txt: map[string][]string{}, mx: map[string][]*net.MX{}, ip: map[string][]net.IP{},
		ptr: map[string][]string{}, cname: map[string]string{}, srv: map[string][]*net.SRV{},
		fail: map[string]bool{}, queries: map[string]int{},
	}
}

func norm(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// AddTXT adds TXT records (each string one record).
func (z *Zone) AddTXT(name string, txt ...string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[norm(name)] = append(z.txt[norm(name)], txt...)
	return z
}

// SetTXT replaces the TXT records of a name (none removes them).
func (z *Zone) SetTXT(name string, txt ...string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(txt) == 0 {
		delete(z.txt, norm(name))
	} else {
		z.txt[norm(name)] = slices.Clone(txt)
	}
	return z
}

// AddMX adds an MX record.
func (z *Zone) AddMX(name string, pref uint16, host string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.mx[norm(name)] = append(z.mx[norm(name)], &net.MX{Host: host, Pref: pref})
	return z
}

// AddIP adds A or AAAA records.
func (z *Zone) AddIP(name string, ips ...string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			panic("dnstest: bad IP " + s)
		}
		z.ip[norm(name)] = append(z.ip[norm(name)], ip)
	}
	return z
}

// AddPTR adds reverse names for an IP address.
func (z *Zone) AddPTR(ip string, names ...string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	key := net.ParseIP(ip).String()
	z.ptr[key] = append(z.ptr[key], names...)
	return z
}

// AddCNAME makes name an alias of target.
func (z *Zone) AddCNAME(name, target string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.cname[norm(name)] = norm(target)
	return z
}

// AddSRV adds an SRV record for _service._proto.name (RFC 2782).
func (z *Zone) AddSRV(service, proto, name string, prio, weight, port uint16, target string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	key := srvName(service, proto, name)
	z.srv[key] = append(z.srv[key], &net.SRV{Target: target, Port: port, Priority: prio, Weight: weight})
	return z
}

// Fail makes every lookup of name fail temporarily (SERVFAIL).
func (z *Zone) Fail(name string) *Zone {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.fail[norm(name)] = true
	return z
}

// Queries returns how many lookups of this type ("TXT", "MX", "IP",
// "PTR", "CNAME", "SRV") and name the zone answered.
func (z *Zone) Queries(typ, name string) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[typ+" "+norm(name)]
}

func srvName(service, proto, name string) string {
	return norm("_" + service + "._" + proto + "." + name)
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func servfail(name string) error {
	return &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
}

// begin counts a query and reports a configured failure.
func (z *Zone) begin(ctx context.Context, typ, name string) error {
	if err := ctx.Err(); err != nil {
		return &net.DNSError{Err: err.Error(), Name: name, IsTimeout: true, IsTemporary: true}
	}
	z.queries[typ+" "+norm(name)]++
	if z.fail[norm(name)] {
		return servfail(name)
	}
	return nil
}

// LookupTXT implements the TXT lookup of the resolver interfaces.
func (z *Zone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := z.begin(ctx, "TXT", name); err != nil {
		return nil, err
	}
	if txt, ok := z.txt[norm(name)]; ok {
		return slices.Clone(txt), nil
	}
	return nil, notFound(name)
}

// LookupMX returns the MX records of name.
func (z *Zone) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := z.begin(ctx, "MX", name); err != nil {
		return nil, err
	}
	mx, ok := z.mx[norm(name)]
	if !ok {
		return nil, notFound(name)
	}
	out := make([]*net.MX, len(mx))
	for i, m := range mx {
		c := *m
		out[i] = &c
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// LookupIPAddr returns the A and AAAA records of host, following a CNAME.
func (z *Zone) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := z.begin(ctx, "IP", host); err != nil {
		return nil, err
	}
	name := norm(host)
	for range 8 {
		if t, ok := z.cname[name]; ok {
			name = t
		}
	}
	ips, ok := z.ip[name]
	if !ok {
		return nil, notFound(host)
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: ip}
	}
	return out, nil
}

// LookupAddr returns the PTR names of an IP address.
func (z *Zone) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := z.begin(ctx, "PTR", addr); err != nil {
		return nil, err
	}
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	names, ok := z.ptr[ip.String()]
	if !ok {
		return nil, notFound(addr)
	}
	return slices.Clone(names), nil
}

// LookupCNAME returns the canonical name of host, as Go's resolver does:
// the CNAME target, or the name itself when it has addresses.
func (z *Zone) LookupCNAME(ctx context.Context, host string) (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := z.begin(ctx, "CNAME", host); err != nil {
		return "", err
	}
	if t, ok := z.cname[norm(host)]; ok {
		return t + ".", nil
	}
	if _, ok := z.ip[norm(host)]; ok {
		return norm(host) + ".", nil
	}
	return "", notFound(host)
}

// LookupSRV returns the SRV records of _service._proto.name.
func (z *Zone) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	key := srvName(service, proto, name)
	if err := z.begin(ctx, "SRV", key); err != nil {
		return "", nil, err
	}
	srvs, ok := z.srv[key]
	if !ok {
		return "", nil, notFound(key)
	}
	out := make([]*net.SRV, len(srvs))
	for i, s := range srvs {
		c := *s
		out[i] = &c
	}
	return key + ".", out, nil
}
