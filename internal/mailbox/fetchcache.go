package mailbox

import (
	"context"
	"slices"
	"sync"

	"posthorn/internal/message"
	"posthorn/internal/store"
)

// A small cache, per index, of what FETCH reads of recent messages and
// never changes: the row's internal date, size, body reference, and the
// parsed structure. Clients fetch the same first page of a large mailbox
// again and again (every new session, every refresh); with the cache that
// costs no store query and no parsing.

// fetchCacheSize bounds the messages cached per index.
const fetchCacheSize = 1024

// Cached is a message as FETCH needs it: the immutable part of its row
// (flags and MODSEQ are the snapshot's) and its structure, parsed on first
// use. It is shared between sessions: read only.
type Cached struct {
	Msg  store.Message // ID, UID, InternalDate, Size, BlobID, Prefix
	raw  []byte
	once sync.Once
	meta *message.Meta
	err  error
}

// Meta returns the message's parsed structure (envelope, MIME parts).
func (c *Cached) Meta() (*message.Meta, error) {
	c.once.Do(func() {
		c.meta, c.err = Meta(store.Message{MessageFlags: store.MessageFlags{ID: c.Msg.ID}, Meta: c.raw})
		c.raw = nil
	})
	return c.meta, c.err
}

type fetchCache struct {
	mu    sync.Mutex
	byUID map[store.UID]*Cached
	ring  []store.UID // insertion order, for eviction
	next  int
}

func (c *fetchCache) get(uid store.UID) *Cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byUID[uid]
}

func (c *fetchCache) put(e *Cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byUID == nil {
		c.byUID = make(map[store.UID]*Cached, fetchCacheSize)
		c.ring = make([]store.UID, fetchCacheSize)
	}
	if _, ok := c.byUID[e.Msg.UID]; ok {
		return
	}
	if old := c.ring[c.next]; old != 0 {
		delete(c.byUID, old)
	}
	c.ring[c.next] = e.Msg.UID
	c.next = (c.next + 1) % fetchCacheSize
	c.byUID[e.Msg.UID] = e
}

// Fetch returns the messages with the given UIDs (ascending), skipping
// those that no longer exist; sets splits the UIDs the cache lacks into
// the UID sets to ask the store for (see imapd's storeSets).
func (ix *Index) Fetch(ctx context.Context, uids []store.UID, sets func([]store.UID) []store.UIDSet) ([]*Cached, error) {
	out := make([]*Cached, 0, len(uids))
	var missing []store.UID
	for _, u := range uids {
		if e := ix.cache.get(u); e != nil {
			out = append(out, e)
		} else {
			missing = append(missing, u)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	for _, set := range sets(missing) {
		ms, err := ix.svc.Messages(ctx, ix.acct, ix.id, set)
		if err != nil {
			return nil, err
		}
		for i := range ms {
			m := &ms[i]
			e := &Cached{raw: m.Meta, Msg: store.Message{
				MessageFlags: store.MessageFlags{ID: m.ID, UID: m.UID}, AccountID: m.AccountID, MailboxID: m.MailboxID,
				InternalDate: m.InternalDate, Size: m.Size, BlobID: m.BlobID, Prefix: m.Prefix,
			}}
			if len(missing) <= fetchCacheSize/4 {
				ix.cache.put(e) // large fetches pass through without flushing the cache
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *Cached) int {
		switch {
		case a.Msg.UID < b.Msg.UID:
			return -1
		case a.Msg.UID > b.Msg.UID:
			return 1
		}
		return 0
	})
	return out, nil
}
