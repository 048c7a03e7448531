// Package imapd is Posthorn's IMAP server: IMAP4rev1 (RFC 3501) and
// IMAP4rev2 (RFC 9051) over the mailbox service, on a plain listener with
// STARTTLS (port 143) or with implicit TLS (port 993).
//
// What it owns: the wire protocol — the command parser with literals
// (parser.go), the response writer (respond.go), the session state
// machine and command loop (session.go), one file per command group
// (auth, mailboxes, list, fetch with section and bodystructure, modify,
// append, search, sort, idle), the selected-mailbox view that maps
// message sequence numbers to UIDs (view.go), modified UTF-7 names
// (utf7.go), and the mapping of service errors to responses (errors.go).
//
// What it must not do: touch the store or parse messages. Mailboxes,
// messages, flags, searching, sorting and threading are the mailbox
// service's; ENVELOPE and BODYSTRUCTURE are rendered from the message.Meta
// stored at delivery, and body sections are cut by its offsets.
//
// Invariants:
//   - A session is one goroutine; its write lock is held while a command
//     runs. IDLE releases it, and committed changes are then pushed by a
//     short-lived goroutine (idle.go), so an idle session costs one
//     goroutine and a few kilobytes.
//   - Message sequence numbers change only when the client is told: EXPUNGE
//     (or VANISHED with QRESYNC) is never sent while FETCH, STORE, SEARCH,
//     SORT or THREAD run (RFC 9051 §7.5.1), and EXISTS never goes down.
//   - No command costs unbounded memory: lines and in-memory literals have
//     a budget (8 KiB before login, 256 KiB after), parentheses a depth,
//     APPEND literals stream into the service up to APPENDLIMIT, and a
//     non-synchronizing literal over the limit ends the session.
//   - Passwords are accepted only over TLS, or from loopback when
//     AllowPlaintextOnLoopback is set (LOGINDISABLED otherwise).
//   - Every refusal carries the RFC's response code (RFC 5530); unknown
//     errors are logged with the session id and answered NO [SERVERBUG].
//   - A panic ends only its session, with BYE, and is logged with its stack.
//
// \Recent is not kept (RFC 9051 dropped it): RECENT is always 0 and the
// RECENT and NEW search keys match nothing.
package imapd
