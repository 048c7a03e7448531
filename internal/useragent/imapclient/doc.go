// Package imapclient is Posthorn's own minimal IMAP client (RFC 3501
// IMAP4rev1, with the parts of RFC 9051 IMAP4rev2 a rev1 client meets):
// what a command-line user agent needs and nothing more.
//
// What it owns:
//
//   - The response reader (reader.go): one server response at a time from
//     the wire into a Response whose data is a tree of Values (atoms,
//     strings, literals, NIL, parenthesized lists), RFC 3501 §7 and §9.
//     It never panics and its memory is bounded by Limits, whatever the
//     server sends; FuzzReadResponse holds it to that.
//   - Interpretation of FETCH data (fetch.go, bodystructure.go): FLAGS,
//     INTERNALDATE, RFC822.SIZE, ENVELOPE (as message.Envelope), BODYSTRUCTURE
//     (as a message.Part tree, parameters RFC 2231-decoded) and BODY[...]
//     sections (RFC 3501 §7.4.2).
//   - The client (client.go, commands.go): CAPABILITY, STARTTLS (§6.2.1),
//     AUTHENTICATE PLAIN (RFC 4959 SASL-IR when offered) or LOGIN, LIST (with
//     RETURN (SPECIAL-USE), RFC 6154), CREATE, STATUS, SELECT/EXAMINE, UID
//     SEARCH (SEARCH or ESEARCH replies), UID FETCH, UID STORE, UID MOVE (RFC
//     6851) with the COPY + STORE \Deleted + UID EXPUNGE fallback (RFC 4315),
//     APPEND, LOGOUT. Literals are sent non-synchronizing when the server
//     offers LITERAL+ or LITERAL- (RFC 7888), else after the continuation.
//   - Modified UTF-7 mailbox names (utf7.go, RFC 3501 §5.1.3).
//
// What it must not do: import any other Posthorn package than message,
// keep state beyond one connection, log, or send a password in the clear:
// there is no plaintext mode, Dial returns a Client only once TLS is up
// (STARTTLS or implicit), so Login always runs encrypted.
//
// Invariants:
//
//   - A Client runs one command at a time; it is not safe for concurrent
//     use. Untagged responses that arrive during a command are given to
//     that command's handler or dropped; capabilities announced anywhere
//     (CAPABILITY response or response code) replace the known set.
//   - After STARTTLS nothing read before the handshake is trusted: bytes
//     buffered after the tagged OK end the connection (the STARTTLS
//     command-injection defence), and capabilities are asked again
//     (RFC 3501 §6.2.1).
//   - Every command has a deadline: the context's, else Options.Timeout.
package imapclient
