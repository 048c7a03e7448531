// Package smtpd is the SMTP server (RFC 5321) for both roles: the MX,
// which takes mail for local domains from anyone, and submission (RFC
// 6409, ports 587 and 465), which takes mail from authenticated users for
// anywhere. It is a go-smtp Backend/Session pair (our patched copy in
// third_party/go-smtp) over the delivery and account services.
//
// Files: server.go (Options, listener setup, go-smtp limits), conn.go
// (per-connection id, error count, graceful Shutdown), session.go (MAIL,
// RCPT, DATA/BDAT), auth.go (AUTH PLAIN and LOGIN), errors.go (the one
// place where errors become replies).
//
// Where DATA becomes a stored message: session.Data hands the
// dot-decoded stream to delivery.Service.Deliver, which answers only after
// the store commit is durable; errors.go turns the result into the reply.
//
// Rules kept here:
//   - AUTH is offered on submission only, and without TLS only to loopback
//     clients when AllowPlaintextOnLoopback is set (RFC 4954 §4); asked
//     for anyway it gets 538 5.7.11.
//   - MAIL on submission needs AUTH (530 5.7.0), and its address must
//     belong to the user (553 5.7.1).
//   - Recipients are checked at RCPT, so unknown users are refused then
//     (550 5.1.1) and no bounce is ever sent for them (no backscatter).
//   - Every error a session returns is an *smtp.SMTPError made in
//     errors.go; go-smtp would otherwise turn it into a permanent 554 with
//     the raw text. Unknown errors are 451 4.3.0 and logged at Error.
//   - Command lines are at most 1000 octets (500 5.5.2, connection
//     closed, the line never buffered); more than MaxErrors refused
//     commands without a delivered message end the session (421 4.7.0); a
//     panic in a session is logged with its stack and ends only that
//     connection (421 4.3.0). Any 421 closes the connection.
//   - TLS session tickets are off on every listener.
//   - One Info line per accepted or rejected message, and every line of a
//     connection carries the same session id, across STARTTLS too.
//
// It must not touch the store (delivery and account do), and must not
// answer 250 to DATA/BDAT before Deliver has returned.
package smtpd
