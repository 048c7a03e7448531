// Package smtpclient is the SMTP client the outbound queue delivers with
// (RFC 5321). go-smtp's client lacks what a queue needs, so this one is
// ours: PIPELINING (RFC 2920) of MAIL, RCPT and DATA in one round trip;
// CHUNKING (RFC 3030) with BDAT when offered; opportunistic STARTTLS
// (RFC 3207) that discards anything the server sent before the TLS
// handshake (a man in the middle injecting replies); the SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and DSN (RFC 3461) extensions;
// and a reply per recipient, so one refused recipient does not fail the
// others.
//
// Invariant: what goes on the wire as message data never holds a bare CR
// or LF — line ends are normalised to CRLF before dot-stuffing (Go's
// textproto dot writer passes a bare CR through).
package smtpclient
