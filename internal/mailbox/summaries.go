package mailbox

import (
	"context"
	"slices"
	"strings"

	"posthorn/internal/store"
)

// msgSummary is what SEARCH, SORT and THREAD read of one message: the
// immutable facts (a message's header never changes), so the cache only
// grows with new messages and drops expunged ones.
type msgSummary struct {
	uid   store.UID
	idate int64 // internal date, Unix seconds (UTC)
	date  int64 // Date header, Unix seconds (UTC); 0 when absent
	size  int64
	blob  store.BlobID
	// Lower-cased decoded header text for case-insensitive matching
	// (RFC 9051 §6.4.4: "case-insensitive").
	subject, from, to, cc, bcc string
	// RFC 5256 sort and thread keys.
	baseSubject              string // lower-cased
	sortFrom, sortTo, sortCc string
	messageID, inReplyTo     string
	refs                     []string
}

// summaries caches the msgSummary of every message of an index, in UID
// order. It may hold expunged messages until compacted.
type summaries struct {
	recs   []msgSummary
	byBlob map[store.BlobID][]store.UID // built on the first text search
}

func summaryOf(s store.Summary) msgSummary {
	ix := s.Index
	m := msgSummary{
		uid: s.UID, idate: s.InternalDate.Unix(), size: s.Size, blob: s.BlobID,
		subject: strings.ToLower(ix.Subject), from: strings.ToLower(ix.From), to: strings.ToLower(ix.To),
		cc: strings.ToLower(ix.Cc), bcc: strings.ToLower(ix.Bcc),
		baseSubject: strings.ToLower(ix.BaseSubject), sortFrom: ix.SortFrom, sortTo: ix.SortTo, sortCc: ix.SortCc,
		messageID: ix.MessageID, inReplyTo: ix.InReplyTo, refs: ix.References,
	}
	if !ix.Date.IsZero() {
		m.date = ix.Date.Unix()
	}
	return m
}

// loadSummaries reads the summaries of the messages in a UID set, from the
// store's Searcher when it has one, else from the full message rows.
func (s *Service) loadSummaries(ctx context.Context, id store.MailboxID, uids store.UIDSet) ([]msgSummary, error) {
	var out []msgSummary
	if se, ok := s.st.(store.Searcher); ok {
		sums, err := se.Summaries(ctx, id, uids)
		if err != nil {
			return nil, mapErr(err)
		}
		out = make([]msgSummary, len(sums))
		for i, sm := range sums {
			out[i] = summaryOf(sm)
		}
		return out, nil
	}
	for _, chunk := range chunkUIDSet(uids, 500) {
		ms, err := s.st.Messages(ctx, id, chunk)
		if err != nil {
			return nil, mapErr(err)
		}
		for _, m := range ms {
			out = append(out, summaryOf(store.Summary{UID: m.UID, InternalDate: m.InternalDate, Size: m.Size, BlobID: m.BlobID, Index: m.Index}))
		}
	}
	return out, nil
}

// chunkUIDSet splits a set into sets of at most n ranges, so that stores
// that turn ranges into query parameters stay within their limits.
func chunkUIDSet(set store.UIDSet, n int) []store.UIDSet {
	var out []store.UIDSet
	for len(set) > n {
		out = append(out, set[:n])
		set = set[n:]
	}
	if len(set) > 0 {
		out = append(out, set)
	}
	return out
}

// summariesFor returns the summaries cache brought up to date with snap:
// new messages are loaded, and the cache is compacted when expunged
// entries make up more than half of it. Callers hold ix.mu.
func (ix *Index) summariesFor(ctx context.Context, snap *Snapshot) (*summaries, error) {
	sum := ix.sum
	if sum == nil {
		sum = &summaries{}
	}
	last := store.UID(0)
	if n := len(sum.recs); n > 0 {
		last = sum.recs[n-1].uid
	}
	if n := snap.Len(); n > 0 && snap.UID(n-1) > last {
		more, err := ix.svc.loadSummaries(ctx, ix.id, store.UIDSet{{First: last + 1, Last: snap.UID(n - 1)}})
		if err != nil {
			return nil, err
		}
		if len(more) > 0 {
			sum = &summaries{recs: append(sum.recs[:len(sum.recs):len(sum.recs)], more...)}
		}
	}
	if len(sum.recs) > 2*snap.Len()+64 {
		keep := make([]msgSummary, 0, snap.Len())
		for _, r := range sum.recs {
			if _, ok := snap.Find(r.uid); ok {
				keep = append(keep, r)
			}
		}
		sum = &summaries{recs: keep}
	}
	ix.sum = sum
	return sum, nil
}

// find returns the summary of uid, or nil.
func (sum *summaries) find(uid store.UID) *msgSummary {
	i, ok := slices.BinarySearchFunc(sum.recs, uid, func(r msgSummary, u store.UID) int {
		switch {
		case r.uid < u:
			return -1
		case r.uid > u:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &sum.recs[i]
}

// blobUIDs returns the UIDs by blob, built once per cache generation.
func (sum *summaries) blobUIDs() map[store.BlobID][]store.UID {
	if sum.byBlob == nil {
		m := make(map[store.BlobID][]store.UID, len(sum.recs))
		for _, r := range sum.recs {
			m[r.blob] = append(m[r.blob], r.uid)
		}
		sum.byBlob = m
	}
	return sum.byBlob
}
