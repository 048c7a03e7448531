// Package queue delivers mail to other servers. Its entries live in the
// store (one per destination domain, with a state per recipient), so a
// restart loses nothing; a lease on each entry lets several nodes share
// one queue and returns the entry when a node dies mid-delivery (at least
// once: a message may be sent twice, never lost).
//
// The flow: the scheduler (Run) sleeps until the earliest entry falls due
// or delivery wakes it; it claims due entries, groups them by domain and
// gives each domain to a worker. A worker finds the domain's servers
// (static route, smarthost, else MX with A/AAAA fallback, RFC 5321 §5),
// opens one connection, and sends message after message over it with our
// own client (package smtpclient: PIPELINING, CHUNKING, STARTTLS, 8BITMIME
// downgrade), claiming more entries for the same domain while the
// connection lasts. Each recipient ends delivered (2xx), failed (5xx, or
// too old), or deferred (4xx, no connection) to the next step of the retry
// schedule. Failed recipients of a non-null sender get a DSN (RFC 3464),
// and a delay notice goes out once after DelayNotice.
//
// The queue defines what it consumes — Resolver, Bouncer, Clock — and the
// server wires them; it never imports a protocol package.
package queue
