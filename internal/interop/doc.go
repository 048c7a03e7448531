// Package interop is the interoperability suite of issue 7: a whole
// Posthorn on 127.0.0.1 (package servertest) driven by the real mail
// programs people use, each run as a subprocess with its configuration
// written into a temporary directory, and Postfix and Dovecot as real peer
// servers. The package holds no production code; everything is in its
// _test.go files, and `go test ./...` (the README's test command, so CI)
// runs it.
//
// What is driven, and what each case checks (content, never just an exit
// status: the message arrives byte-exact below the trace fields, flags
// survive, counts agree):
//
//   - swaks: MX delivery, submission with STARTTLS and AUTH PLAIN and
//     LOGIN, an 8-bit body over 8BITMIME, a refused relay attempt
//     (swaks_test.go).
//   - curl: SMTP send, IMAP fetch and search, POP3 list and retr, each over
//     STARTTLS and over implicit TLS (curl_test.go).
//   - python3's smtplib, imaplib and poplib (python_test.go).
//   - mbsync: a two-way sync of messages and flags with a local Maildir
//     (mbsync_test.go).
//   - fetchmail: POP3 and IMAP retrieval, one local file per message
//     (fetchmail_test.go).
//   - neomutt in batch mode sending through submission (neomutt_test.go).
//   - Postfix as a real peer MTA both ways: Posthorn's queue delivers to
//     Postfix (which hands the message to Dovecot over LMTP), and Postfix
//     relays to Posthorn's MX (postfix_test.go).
//   - `posthorn mail`, the binary built from this tree, against Posthorn and
//     against Postfix (submission) and Dovecot (IMAP) (mailcli_test.go).
//
// TLS is real and verified where the client can verify: the suite makes a
// throwaway certificate authority and one server certificate (for
// 127.0.0.1, ::1, localhost, mx.example.test and mail.peer.test) that
// Posthorn, Postfix and Dovecot all present, and hands the authority to the
// clients (pki_test.go).
//
// Peers (peer_test.go): the suite configures its own private Postfix
// (`postfix -c DIR`, its own queue directory) and Dovecot (`dovecot -c
// FILE`, its own base and state directories, passwd-file users) under one
// temporary directory, on free ports of 127.0.0.1, started once per test
// binary when the first case needs them and stopped by TestMain (by the
// process ids they record). It needs root, as Postfix and Dovecot do. It
// does not use ../shared/peers, so a checkout without it runs the suite.
//
// Missing tools: outside CI a case whose program is not installed skips and
// says which Debian package provides it; with CI=true a missing program, or
// missing root for the peers, fails the run (need, needRoot). .ci/run
// installs the packages.
//
// Nothing leaves the machine: every address is 127.0.0.1; Posthorn asks a
// fake DNS zone (servertest) with [mx] checks and [queue] mta_sts off; every
// external program, peers included, runs (when root) in a private mount
// namespace whose /etc/resolv.conf names 127.0.53.53, where nothing answers
// or only the loopback test resolver does (jail, in tools_test.go), so not
// one of them can send a DNS query off the host.
//
// POSTHORN_TEST_LOG=1 shows Posthorn's log; a failing case prints the
// transcript of the client and, for the peers, the tail of their logs.
package interop
