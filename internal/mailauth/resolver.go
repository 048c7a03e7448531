package mailauth

import (
	"context"
	"errors"
	"net"
)

// Resolver is the DNS the checks use: SPF needs all four lookups (RFC 7208
// §5: a, mx, ptr and exists mechanisms), DKIM and DMARC only TXT.
// *net.Resolver implements it; tests use dnstest.Zone. Errors should be
// *net.DNSError values: IsNotFound for NXDOMAIN and empty answers,
// IsTemporary for failures worth retrying (the SPF library tests the
// concrete type, not errors.As).
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// RecordResolver is what `posthorn dns check` needs on top: the MTA-STS
// host (a CNAME) and the autoconfiguration SRV records (RFC 6186).
type RecordResolver interface {
	Resolver
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

var (
	_ RecordResolver = (*net.Resolver)(nil)
)

// isNotFound reports whether err says the name or record does not exist.
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// isTemporary reports whether err is a DNS failure that may go away: a
// timeout, SERVFAIL, a context that ended.
func isTemporary(err error) bool {
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.IsTemporary || de.IsTimeout
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
