package mailbox

import (
	"sync"

	"posthorn/internal/store"
)

// Hub fans committed changes out to the sessions watching each account.
// Changes come from the store's feed (after commit; with PostgreSQL also
// from other nodes), so a watcher never sees a change that could still be
// rolled back.
type Hub struct {
	mu     sync.RWMutex
	subs   map[store.AccountID]map[int]func([]store.Change)
	next   int
	cancel func()
}

func newHub() *Hub {
	return &Hub{subs: make(map[store.AccountID]map[int]func([]store.Change)), cancel: func() {}}
}

func (h *Hub) publish(cs []store.Change) {
	byAcct := map[store.AccountID][]store.Change{}
	for _, c := range cs {
		if c.AccountID != 0 {
			byAcct[c.AccountID] = append(byAcct[c.AccountID], c)
		}
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for a, list := range byAcct {
		for _, fn := range h.subs[a] {
			fn(list)
		}
	}
}

// Watch calls fn with the changes of every committed transaction that
// touched the account. fn runs on the feed's goroutine and must not block:
// hand off to a channel (see Watcher).
func (s *Service) Watch(acct store.AccountID, fn func([]store.Change)) (cancel func()) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.next
	h.next++
	if h.subs[acct] == nil {
		h.subs[acct] = make(map[int]func([]store.Change))
	}
	h.subs[acct][id] = fn
	return func() {
		h.mu.Lock()
		delete(h.subs[acct], id)
		if len(h.subs[acct]) == 0 {
			delete(h.subs, acct)
		}
		h.mu.Unlock()
	}
}

// Watcher is a session's view of the Hub: C receives a value whenever the
// account changed since the last receive (changes merge; a session then
// asks the store what changed, using its MODSEQ as bookmark).
type Watcher struct {
	C      <-chan struct{}
	c      chan struct{}
	mu     sync.Mutex
	kinds  map[store.MailboxID]store.ModSeq
	cancel func()
}

// NewWatcher watches an account. Close it when the session ends.
func (s *Service) NewWatcher(acct store.AccountID) *Watcher {
	c := make(chan struct{}, 1)
	w := &Watcher{C: c, c: c, kinds: map[store.MailboxID]store.ModSeq{}}
	w.cancel = s.Watch(acct, func(cs []store.Change) {
		w.mu.Lock()
		for _, ch := range cs {
			if ch.ModSeq > w.kinds[ch.MailboxID] {
				w.kinds[ch.MailboxID] = ch.ModSeq
			}
		}
		w.mu.Unlock()
		select {
		case c <- struct{}{}:
		default:
		}
	})
	return w
}

// Take returns the mailboxes that changed since the last Take, with the
// highest MODSEQ seen for each (mailbox 0: account-level changes).
func (w *Watcher) Take() map[store.MailboxID]store.ModSeq {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.kinds
	w.kinds = map[store.MailboxID]store.ModSeq{}
	return out
}

// Close stops watching.
func (w *Watcher) Close() { w.cancel() }
