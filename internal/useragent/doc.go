// Package useragent is `posthorn mail`: a command-line mail user agent for
// one account. It talks to a mail server the way any client does, over
// IMAP (its own client, package imapclient) and SMTP submission (go-smtp's
// client with go-sasl), so it works against Posthorn, Dovecot, Postfix
// and the rest alike.
//
// What it owns:
//
//   - Config (config.go): the per-user file $XDG_CONFIG_HOME/posthorn/mail.toml
//     (server, ports, user, insecure). It never holds the password.
//   - Compose (compose.go, mimeparam.go): an RFC 5322 message from a Draft:
//     RFC 2047 encoded Subject and display names, RFC 2231 file names,
//     the UTF-8 body quoted-printable or base64 whenever it is not plain
//     ASCII, attachments in base64 with detected types (RFC 2045-2047).
//     The result is 7-bit with CRLF line ends and lines under 998 octets.
//   - Send (send.go): submission with STARTTLS and AUTH PLAIN (RFC 6409,
//     RFC 3207, RFC 4954), Bcc only in the envelope, then a copy in the
//     \Sent mailbox (RFC 6154) by APPEND.
//   - Reading (mailbox.go, read.go, modify.go): folders, list, search,
//     read (text part shown, attachments listed and saved), move, delete
//     (to \Trash, or \Deleted and expunge), flag. Message IDs are IMAP
//     UIDs in the chosen folder.
//   - Output for a person (format.go) and $EDITOR (editor.go).
//
// What it must not do: import server-side packages (store, services,
// protocols, config, server): it is a client and knows the server only
// through the wire. It never sends a password without TLS, never accepts
// an unverified certificate unless Account.Insecure is set, and never
// writes the password anywhere.
//
// Invariants:
//
//   - Every operation opens its own connections and closes them before it
//     returns; an Agent holds no connection between calls.
//   - Nothing is submitted unless every recipient was accepted: the first
//     refused RCPT ends the transaction before DATA.
//   - Saving attachments never overwrites a file and never writes outside
//     the chosen directory.
package useragent
