package mailbox

import (
	"slices"
	"sync"

	"posthorn/internal/store"
)

// Limits of the index cache: indexes no session holds are kept (they make
// the next SELECT of a large mailbox cheap) until there are more than
// maxIdleIndexes of them or they cover more than maxIdleMessages messages;
// then the least recently used go.
const (
	maxIdleIndexes  = 512
	maxIdleMessages = 2_000_000
)

// indexSet is the Service's registry of open and cached indexes. The zero
// value is ready to use.
type indexSet struct {
	mu    sync.Mutex
	byID  map[store.MailboxID]*Index
	clock int64
}

func (set *indexSet) acquire(s *Service, acct store.AccountID, id store.MailboxID) *Index {
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.byID == nil {
		set.byID = map[store.MailboxID]*Index{}
	}
	ix := set.byID[id]
	if ix == nil {
		ix = &Index{svc: s, acct: acct, id: id}
		ix.cancel = s.Watch(acct, func(cs []store.Change) {
			for _, c := range cs {
				if c.MailboxID == id {
					ix.changed()
					return
				}
			}
		})
		set.byID[id] = ix
	}
	ix.refs++
	set.clock++
	ix.lastUse = set.clock
	return ix
}

// acquireCached returns the cached index of the account's mailbox, or nil.
func (set *indexSet) acquireCached(acct store.AccountID, id store.MailboxID) *Index {
	set.mu.Lock()
	defer set.mu.Unlock()
	ix := set.byID[id]
	if ix == nil || ix.acct != acct {
		return nil
	}
	ix.refs++
	set.clock++
	ix.lastUse = set.clock
	return ix
}

func (set *indexSet) release(ix *Index) {
	set.mu.Lock()
	defer set.mu.Unlock()
	if ix.refs > 0 {
		ix.refs--
	}
	set.clock++
	ix.lastUse = set.clock
	set.evict()
}

// evict drops unused indexes beyond the limits, least recently used first.
func (set *indexSet) evict() {
	var idle []*Index
	msgs := 0
	for _, ix := range set.byID {
		if ix.refs == 0 {
			idle = append(idle, ix)
			if cur := ix.cur.Load(); cur != nil {
				msgs += cur.Len()
			}
		}
	}
	if len(idle) <= maxIdleIndexes && msgs <= maxIdleMessages {
		return
	}
	slices.SortFunc(idle, func(a, b *Index) int { return int(a.lastUse - b.lastUse) })
	for _, ix := range idle {
		if len(idle) <= maxIdleIndexes && msgs <= maxIdleMessages {
			break
		}
		if cur := ix.cur.Load(); cur != nil {
			msgs -= cur.Len()
		}
		idle = idle[1:]
		delete(set.byID, ix.id)
		ix.cancel()
	}
}

// CachedIndexes reports how many mailbox indexes are held and cached (for
// metrics and tests).
func (s *Service) CachedIndexes() (open, cached int) {
	set := &s.indexes
	set.mu.Lock()
	defer set.mu.Unlock()
	for _, ix := range set.byID {
		if ix.refs > 0 {
			open++
		}
		cached++
	}
	return open, cached
}
