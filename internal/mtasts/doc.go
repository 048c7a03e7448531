// Package mtasts implements SMTP MTA Strict Transport Security (RFC 8461)
// for both sides: it serves our own policy for local domains (Handler, at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt), and it discovers,
// fetches, validates and caches the policies of other domains (Client),
// which the queue consults before delivering (enforce: only MX hosts the
// policy names, only over TLS with a certificate valid for the MX name).
//
// Files: policy.go (the policy format of §3.2, MX patterns of §4.1, the
// policy id), record.go (the _mta-sts TXT record of §3.1), client.go
// (discovery, HTTPS fetch, cache of §5.1), handler.go (serving ours).
//
// It knows no other Posthorn package: DNS comes through a Resolver, HTTPS
// through an http.RoundTripper, both injected; tests use a fake zone and
// an httptest server on 127.0.0.1.
//
// Invariants:
//   - A policy is only ever fetched over HTTPS with a verified certificate
//     for mta-sts.DOMAIN, without following redirects, and only a 200
//     text/plain answer of at most 64 KiB is parsed (§3.3).
//   - A cached policy is used until its max_age ends, even when the TXT
//     record or the policy host is gone or failing (§5.1), so that an
//     attacker who blocks DNS or HTTPS cannot downgrade delivery.
//   - Several v=STSv1 TXT records mean no policy (§3.1).
package mtasts
