// Package mailbox is the service behind every mail-access protocol (IMAP,
// POP3, JMAP): folders and the messages in them, for one account at a
// time. It validates names and creates missing parents, appends messages
// (analysed once, at append, by package message), reads them back (the
// per-message prefix followed by the shared body), changes flags, copies,
// moves, expunges — and it fans committed changes out to the sessions that
// watch an account (the Hub: IMAP IDLE, JMAP push).
//
// For large mailboxes it keeps, per mailbox and shared by all sessions, an
// Index (index.go): immutable Snapshots of UIDs, flags and MODSEQs that
// catch up with the store's change feed by one ChangesSince query, a cache
// of the search and sort fields (summaries.go) and of recently fetched
// messages (fetchcache.go). Search, SORT and THREAD (RFC 5256) are
// evaluated over them (search.go, sort.go, thread.go), with the store's
// full-text index when it implements store.Searcher. Indexes nobody holds
// stay cached up to a budget (indexset.go).
//
// Invariants: every operation names the account it acts for, and the
// service refuses a mailbox or message of another account (ErrNotFound, so
// as not to reveal that it exists). Names are stored in UTF-8 with "/"
// between levels; protocol encodings (IMAP's modified UTF-7) belong to the
// protocol packages. A Snapshot never changes once made: readers share it
// without locks, and a new state is a new Snapshot.
package mailbox
