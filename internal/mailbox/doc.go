// Package mailbox is the service behind every mail-access protocol (IMAP,
// POP3, JMAP): folders and the messages in them, for one account at a
// time. It validates names and creates missing parents, appends messages
// (analysed once, at append, by package message), reads them back (the
// per-message prefix followed by the shared body), changes flags, copies,
// moves, expunges — and it fans committed changes out to the sessions that
// watch an account (the Hub: IMAP IDLE, JMAP push).
//
// Invariants: every operation names the account it acts for, and the
// service refuses a mailbox or message of another account (ErrNotFound, so
// as not to reveal that it exists). Names are stored in UTF-8 with "/"
// between levels; protocol encodings (IMAP's modified UTF-7) belong to the
// protocol packages.
package mailbox
