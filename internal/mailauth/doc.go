// Package mailauth owns message authentication: DKIM signing of outgoing
// mail (RFC 6376, RFC 8463) with per-domain keys, and the checks of
// incoming mail on the MX — SPF for MAIL FROM and HELO (RFC 7208), DKIM
// verification of every signature, DMARC with alignment and the
// organizational domain (RFC 7489) — summed up in one
// Authentication-Results header field (RFC 8601) and a disposition
// (deliver, Junk, reject). It also knows the DNS records a local domain
// must publish for all this, and checks them against what DNS returns.
//
// Files: resolver.go (the DNS it needs), keys.go (key generation, storage,
// rotation, the DKIM TXT record), sign.go (Signer), spf.go, dkim.go
// (verification), dmarc.go (policy discovery, alignment, pct), authres.go
// (rendering A-R and removing forged ones), check.go (Checker, the one
// call the MX makes), records.go (what `posthorn dns` prints and checks).
//
// It is a service: it may use the store's key storage (store.KeyStore) and
// package message, and must not import a protocol package, open sockets
// other than through its Resolver, or decide SMTP replies (it returns
// sentinel errors and dispositions; smtpd maps them).
//
// Invariants:
//   - Every DNS lookup goes through the Resolver given in Options; tests
//     use dnstest.Zone and never touch real DNS.
//   - Check never fails because of DNS: lookup failures become temperror
//     or permerror results (RFC 7208 §2.6, RFC 8601 §2.7), and only an
//     error reading the message is returned as an error.
//   - A DMARC failure rejects a message only when Options.DMARCEnforce is
//     set and the sender's effective policy (after pct) is p=reject;
//     otherwise the disposition is Junk (reject or quarantine) or Deliver.
//   - Sign signs with the newest active key of each algorithm of the
//     domain, relaxed/relaxed, the RFC 6376 §5.4.1 header fields present
//     plus one more instance of From, To and Subject (oversigning), so
//     that a field added in transit breaks the signature.
//   - Private keys never leave the store except into the signer's memory;
//     they are never logged.
package mailauth
