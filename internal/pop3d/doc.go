// Package pop3d is the POP3 server (RFC 1939) with the extensions of RFC
// 2449 (CAPA, TOP, UIDL, RESP-CODES, PIPELINING), RFC 2595 (STLS), RFC
// 3206 (AUTH-RESP-CODE) and RFC 5034 (AUTH with SASL PLAIN). It serves an
// account's INBOX over the mailbox service and authenticates through the
// account service; it never touches the store, and it has no APOP (that
// needs passwords the server could recover; Posthorn keeps only argon2id
// hashes).
//
// A session runs the three phases of RFC 1939 §3:
//
//	AUTHORIZATION  USER/PASS or AUTH PLAIN; STLS; CAPA; QUIT
//	TRANSACTION    STAT LIST RETR TOP UIDL DELE RSET NOOP CAPA QUIT
//	UPDATE         after QUIT only: expunge what DELE marked
//
// Where the rules live:
//   - auth.go: plaintext credentials (USER/PASS, AUTH PLAIN) only over TLS,
//     or from 127.0.0.1/::1 when AllowPlaintextOnLoopback is set (RFC 2595
//     §2.1); the account service's back-off throttles failed logins; the
//     maildrop lock (mailbox.Maildrops, RFC 1939 §4) makes a second session
//     of the same account fail with -ERR [IN-USE] (RFC 2449 §8.1.2).
//   - transaction.go: the maildrop is INBOX as it was at login, numbered 1..n
//     in UID order for the whole session; DELE only marks, RSET unmarks;
//     only QUIT in the TRANSACTION state removes the marked messages (one
//     mailbox.Service.Expunge, so IMAP sessions see EXPUNGE/VANISHED) and
//     sets \Seen on the messages RETR sent. A dropped connection, a timeout
//     or a server shutdown changes nothing (RFC 1939 §6).
//   - stuff.go: RETR and TOP send the message with CRLF line ends and
//     dot-stuffing (RFC 1939 §3).
//   - errors.go: service errors become -ERR replies with RFC 2449/3206
//     response codes; the detail goes to the log.
//
// Sizes: LIST, STAT and the RETR reply give the stored size of a message,
// the octets of the message with CRLF line ends before dot-stuffing, as
// Dovecot does (RFC 1939 §11 lets the count differ from the octets on the
// wire). Delivery refuses bare CR and LF, so for every message that came in
// over SMTP this is exactly what RETR sends before stuffing; a message
// appended elsewhere with bare line ends is sent with them turned into
// CRLF and may run a few octets over its announced size.
//
// UIDL values are 16 hex digits, UIDVALIDITY then UID (8 each): unique in
// the maildrop and stable across sessions and restarts, and new ones
// whenever the mailbox's UIDVALIDITY changes (when UIDs could repeat).
//
// Limits: command lines of MaxLineLength octets (RFC 2449 §4 caps clients
// at 255; more is accepted so that AUTH PLAIN with an initial response and
// long passwords fit), the RFC 1939 §3 autologout timer (IdleTimeout, at
// least 10 minutes by default), MaxErrors bad commands per connection, and
// MaxConnectionsPerIP simultaneous connections.
//
// Every log line of a session carries its session id; one Info line is
// written per session event (login, login refused, maildrop in use, quit
// with what it deleted, connection lost with nothing deleted).
package pop3d
