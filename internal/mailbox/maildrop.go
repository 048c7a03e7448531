package mailbox

import "sync"

// Maildrops is the table of POP3 maildrop locks of this process. RFC 1939
// §4: once a client is authenticated, the server "acquires an
// exclusive-access lock on the maildrop" so that no other POP3 session
// renumbers or removes its messages before the first one's UPDATE state.
//
// The lock is advisory and binds POP3 sessions only: IMAP and JMAP keep
// working on the same INBOX (a POP3 session copes with a message that
// vanished under it), which is what Dovecot does too.
//
// The table is in-process. Every POP3 listener of a process must share one
// (the composition root makes it); with a PostgreSQL store shared by
// several nodes, a lock that holds across nodes needs the store's help (a
// session-level pg_try_advisory_lock keyed by the account id, held on one
// pooled connection for the length of the POP3 session), which this type
// does not provide.
//
// The zero value is ready to use; a Maildrops must not be copied.
type Maildrops struct {
	mu   sync.Mutex
	held map[AccountID]struct{}
}

// Lock takes the maildrop of an account. ok is false when another session
// holds it; otherwise unlock releases it (calling it again does nothing).
func (m *Maildrops) Lock(acct AccountID) (unlock func(), ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, busy := m.held[acct]; busy {
		return func() {}, false
	}
	if m.held == nil {
		m.held = make(map[AccountID]struct{})
	}
	m.held[acct] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.held, acct)
			m.mu.Unlock()
		})
	}, true
}

// Locked reports whether an account's maildrop is held.
func (m *Maildrops) Locked(acct AccountID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, busy := m.held[acct]
	return busy
}
