package mailbox

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"posthorn/internal/store"
)

// Snapshot is one immutable state of a mailbox's messages: their UIDs in
// ascending order with flags, keywords and MODSEQ, and the mailbox row read
// in the same store snapshot. It is what IMAP SELECT, FETCH FLAGS, SEARCH
// on flags and the IDLE diff read, without a store query.
//
// Snapshots share their arrays with their successors (copy on write), so
// holding one costs nothing; a holder must never modify what it reads.
type Snapshot struct {
	// Mailbox is the mailbox row; Mailbox.HighestModSeq is the MODSEQ up to
	// which the snapshot is complete.
	Mailbox store.Mailbox
	uids    []store.UID
	flags   []store.Flags
	kw      []uint32 // keyword set ids in kwt; 0 is the empty set
	modseq  []store.ModSeq
	kwt     *keywordTable
	gen     uint64 // the Index generation this snapshot answers

	// Computed on first use, once per snapshot.
	kwOnce      sync.Once
	allKW       []string
	seenOnce    sync.Once
	unseen      int
	firstUnseen int
}

// Len returns the number of messages.
func (s *Snapshot) Len() int { return len(s.uids) }

// UIDs returns the UIDs in ascending order. The slice is shared: read only.
func (s *Snapshot) UIDs() []store.UID { return s.uids[:len(s.uids):len(s.uids)] }

// UID returns the UID of the i-th message (0-based).
func (s *Snapshot) UID(i int) store.UID { return s.uids[i] }

// Find returns the position of uid, and whether it is present.
func (s *Snapshot) Find(uid store.UID) (int, bool) {
	return slices.BinarySearch(s.uids, uid)
}

// Flags returns the system flags of the i-th message.
func (s *Snapshot) Flags(i int) store.Flags { return s.flags[i] }

// ModSeq returns the MODSEQ of the i-th message.
func (s *Snapshot) ModSeq(i int) store.ModSeq { return s.modseq[i] }

// Keywords returns the keywords of the i-th message (shared; read only).
func (s *Snapshot) Keywords(i int) []string { return s.kwt.get(s.kw[i]) }

// HasKeyword reports whether the i-th message has keyword k (compared
// case-insensitively, RFC 9051 §2.3.2).
func (s *Snapshot) HasKeyword(i int, k string) bool {
	for _, x := range s.kwt.get(s.kw[i]) {
		if strings.EqualFold(x, k) {
			return true
		}
	}
	return false
}

// AllKeywords returns every keyword some message of the mailbox carries,
// sorted (IMAP FLAGS response). The slice is shared: read only.
func (s *Snapshot) AllKeywords() []string {
	s.kwOnce.Do(func() { s.allKW = s.allKeywords() })
	return s.allKW
}

func (s *Snapshot) allKeywords() []string {
	seen := map[uint32]bool{}
	var out []string
	for _, id := range s.kw {
		if id == 0 || seen[id] {
			continue
		}
		seen[id] = true
		for _, k := range s.kwt.get(id) {
			if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, k) }) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Unseen counts the messages without \Seen.
func (s *Snapshot) Unseen() int {
	s.countSeen()
	return s.unseen
}

// FirstUnseen returns the position of the first message without \Seen, or
// -1 (IMAP4rev1 SELECT's UNSEEN response code).
func (s *Snapshot) FirstUnseen() int {
	s.countSeen()
	return s.firstUnseen
}

func (s *Snapshot) countSeen() {
	s.seenOnce.Do(func() {
		s.firstUnseen = -1
		for i, f := range s.flags {
			if f&store.FlagSeen == 0 {
				if s.unseen == 0 {
					s.firstUnseen = i
				}
				s.unseen++
			}
		}
	})
}

// keywordTable interns keyword sets: most messages carry none or one of a
// few sets, so each message stores a small id instead of a slice. The
// table only grows; readers load the current slice without a lock.
type keywordTable struct {
	mu    sync.Mutex
	sets  atomic.Pointer[[][]string]
	index map[string]uint32
}

func newKeywordTable() *keywordTable {
	t := &keywordTable{index: map[string]uint32{"": 0}}
	sets := [][]string{nil}
	t.sets.Store(&sets)
	return t
}

func (t *keywordTable) get(id uint32) []string {
	if id == 0 {
		return nil
	}
	return (*t.sets.Load())[id]
}

// id returns the id of a normalized keyword set, adding it when new.
func (t *keywordTable) id(kw []string) uint32 {
	if len(kw) == 0 {
		return 0
	}
	key := strings.Join(kw, " ")
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.index[key]; ok {
		return id
	}
	old := *t.sets.Load()
	sets := make([][]string, len(old)+1)
	copy(sets, old)
	id := uint32(len(old))
	sets[id] = slices.Clone(kw)
	t.sets.Store(&sets)
	t.index[key] = id
	return id
}

// Index keeps the current Snapshot of one mailbox, shared by every session
// that has it open. It learns of changes from the store's change feed (a
// generation counter bumps on each change to the mailbox) and catches up
// lazily, with one ChangesSince query, when a session next asks: so a
// SELECT of a large mailbox costs no store query when nothing changed.
type Index struct {
	svc  *Service
	acct store.AccountID
	id   store.MailboxID

	gen atomic.Uint64 // bumped for every committed change to the mailbox
	cur atomic.Pointer[Snapshot]
	mu  sync.Mutex // serializes catching up and the summaries

	lmu       sync.Mutex
	listeners map[int]func()
	nextL     int

	sum   *summaries // guarded by mu; loaded on first search or sort
	cache fetchCache // recently fetched messages (fetchcache.go)

	// guarded by the registry's mutex
	refs    int
	lastUse int64
	cancel  func()
}

// OpenIndex returns the shared index of one of the account's mailboxes.
// Close it when done (on UNSELECT or logout).
func (s *Service) OpenIndex(ctx context.Context, acct store.AccountID, id store.MailboxID) (*Index, error) {
	ix := s.indexes.acquireCached(acct, id)
	if ix == nil {
		// Not cached: check that the mailbox is the account's first.
		if _, err := s.ByID(ctx, acct, id); err != nil {
			return nil, err
		}
		ix = s.indexes.acquire(s, acct, id)
	}
	if _, err := ix.Snapshot(ctx); err != nil {
		ix.Close()
		return nil, err
	}
	return ix, nil
}

// Close releases the index; unused indexes stay cached until evicted.
func (ix *Index) Close() { ix.svc.indexes.release(ix) }

// ID returns the mailbox's id.
func (ix *Index) ID() store.MailboxID { return ix.id }

// Notify calls fn, which must not block, after every committed change to
// the mailbox (from the feed's goroutine). IMAP IDLE uses it.
func (ix *Index) Notify(fn func()) (cancel func()) {
	ix.lmu.Lock()
	defer ix.lmu.Unlock()
	if ix.listeners == nil {
		ix.listeners = map[int]func(){}
	}
	id := ix.nextL
	ix.nextL++
	ix.listeners[id] = fn
	return func() {
		ix.lmu.Lock()
		delete(ix.listeners, id)
		ix.lmu.Unlock()
	}
}

// changed is called by the feed for changes that touch the mailbox.
func (ix *Index) changed() {
	ix.gen.Add(1)
	ix.lmu.Lock()
	for _, fn := range ix.listeners {
		fn()
	}
	ix.lmu.Unlock()
}

// Current returns the latest snapshot without catching up (nil before the
// first load).
func (ix *Index) Current() *Snapshot { return ix.cur.Load() }

// Fresh reports whether the current snapshot has every committed change
// the feed has announced.
func (ix *Index) Fresh() bool {
	cur := ix.cur.Load()
	return cur != nil && cur.gen == ix.gen.Load()
}

// Refresh catches up even if the feed has not yet announced a change: a
// session calls it after its own writes, whose changes the asynchronous
// feed may not have delivered yet.
func (ix *Index) Refresh(ctx context.Context) (*Snapshot, error) {
	ix.gen.Add(1)
	return ix.Snapshot(ctx)
}

// Snapshot returns the current snapshot, catching up with the store first
// when the feed announced changes since it was taken.
func (ix *Index) Snapshot(ctx context.Context) (*Snapshot, error) {
	if cur := ix.cur.Load(); cur != nil && cur.gen == ix.gen.Load() {
		return cur, nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	cur := ix.cur.Load()
	g := ix.gen.Load() // read before the query: a later change bumps it again
	if cur != nil && cur.gen == g {
		return cur, nil
	}
	var next *Snapshot
	if cur == nil {
		mb, msgs, err := ix.svc.State(ctx, ix.acct, ix.id)
		if err != nil {
			return nil, err
		}
		next = loadSnapshot(mb, msgs, newKeywordTable())
	} else {
		mb, changed, gone, err := ix.svc.Changes(ctx, ix.acct, ix.id, cur.Mailbox.HighestModSeq)
		if err != nil {
			return nil, err
		}
		next = cur.apply(mb, changed, gone)
	}
	next.gen = g
	ix.cur.Store(next)
	return next, nil
}

func loadSnapshot(mb store.Mailbox, msgs []store.MessageFlags, kwt *keywordTable) *Snapshot {
	n := len(msgs)
	s := &Snapshot{Mailbox: mb, kwt: kwt,
		uids: make([]store.UID, n), flags: make([]store.Flags, n), kw: make([]uint32, n), modseq: make([]store.ModSeq, n)}
	for i, m := range msgs {
		s.uids[i], s.flags[i], s.kw[i], s.modseq[i] = m.UID, m.Flags, kwt.id(m.Keywords), m.ModSeq
	}
	if !slices.IsSorted(s.uids) { // the store returns UID order; be safe
		return loadSnapshot(mb, sortedByUID(msgs), kwt)
	}
	return s
}

func sortedByUID(msgs []store.MessageFlags) []store.MessageFlags {
	c := slices.Clone(msgs)
	slices.SortFunc(c, func(a, b store.MessageFlags) int { return int(int64(a.UID) - int64(b.UID)) })
	return c
}

// apply makes the successor of s from what changed since s was taken.
// Arrays are shared when only new messages arrived; otherwise copied.
func (s *Snapshot) apply(mb store.Mailbox, changed []store.MessageFlags, gone []store.Tombstone) *Snapshot {
	next := &Snapshot{Mailbox: mb, kwt: s.kwt, uids: s.uids, flags: s.flags, kw: s.kw, modseq: s.modseq}
	var removed []int
	for _, t := range gone {
		if i, ok := s.Find(t.UID); ok {
			removed = append(removed, i)
		}
	}
	var updates []store.MessageFlags
	var added []store.MessageFlags
	for _, m := range changed {
		if _, ok := s.Find(m.UID); ok {
			updates = append(updates, m)
		} else {
			added = append(added, m)
		}
	}
	if len(removed) > 0 || len(updates) > 0 {
		next.copyArrays(removed)
		for _, m := range updates {
			if i, ok := next.Find(m.UID); ok {
				next.flags[i], next.kw[i], next.modseq[i] = m.Flags, s.kwt.id(m.Keywords), m.ModSeq
			}
		}
	}
	if len(added) > 0 {
		slices.SortFunc(added, func(a, b store.MessageFlags) int { return int(int64(a.UID) - int64(b.UID)) })
		last := store.UID(0)
		if n := len(next.uids); n > 0 {
			last = next.uids[n-1]
		}
		if added[0].UID <= last { // not in UID order after the end: rebuild (never seen with our stores)
			return next.rebuildWith(mb, added)
		}
		for _, m := range added {
			next.uids = append(next.uids, m.UID)
			next.flags = append(next.flags, m.Flags)
			next.kw = append(next.kw, s.kwt.id(m.Keywords))
			next.modseq = append(next.modseq, m.ModSeq)
		}
	}
	return next
}

// copyArrays gives next private copies of its arrays, without the
// messages at the (ascending or not) positions in removed.
func (s *Snapshot) copyArrays(removed []int) {
	slices.Sort(removed)
	removed = slices.Compact(removed)
	n := len(s.uids) - len(removed)
	uids, flags, kw, ms := make([]store.UID, 0, n), make([]store.Flags, 0, n), make([]uint32, 0, n), make([]store.ModSeq, 0, n)
	prev := 0
	for _, r := range append(removed, len(s.uids)) {
		uids = append(uids, s.uids[prev:r]...)
		flags = append(flags, s.flags[prev:r]...)
		kw = append(kw, s.kw[prev:r]...)
		ms = append(ms, s.modseq[prev:r]...)
		prev = r + 1
	}
	s.uids, s.flags, s.kw, s.modseq = uids, flags, kw, ms
}

func (s *Snapshot) rebuildWith(mb store.Mailbox, added []store.MessageFlags) *Snapshot {
	all := make([]store.MessageFlags, 0, len(s.uids)+len(added))
	for i := range s.uids {
		all = append(all, store.MessageFlags{UID: s.uids[i], Flags: s.flags[i], Keywords: s.Keywords(i), ModSeq: s.modseq[i]})
	}
	for _, m := range added {
		if _, ok := s.Find(m.UID); !ok {
			all = append(all, m)
		}
	}
	return loadSnapshot(mb, sortedByUID(all), s.kwt)
}
