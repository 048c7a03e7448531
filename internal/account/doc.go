// Package account owns who may log in and where an address leads: local
// domains, accounts with argon2id password hashes, aliases (one address to
// several, catch-all "@domain"), subaddressing (user+tag@domain reaches
// user), and postmaster@ every local domain (RFC 5321 §4.5.1).
//
// It also owns login throttling: a failed login always takes at least a
// fixed minimum time (so timing tells nothing), and failures are counted per
// remote IP and per account with a growing back-off.
//
// Invariants: passwords are never stored or logged, only argon2id hashes in
// PHC form; verification is constant-time; address lookups are
// case-insensitive (domains are lower-case A-labels, local parts are
// compared lower-cased).
package account
