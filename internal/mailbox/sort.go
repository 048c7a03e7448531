package mailbox

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"posthorn/internal/store"
)

// SORT (RFC 5256 §3) over the summaries cache.

// SortField is a sort criterion of RFC 5256 §3.
type SortField uint8

// Sort fields.
const (
	SortArrival SortField = iota // internal date
	SortCc                       // first Cc address's mailbox
	SortDate                     // Date header, internal date when absent
	SortFrom                     // first From address's mailbox
	SortSize                     // RFC822.SIZE
	SortSubject                  // base subject
	SortTo                       // first To address's mailbox
)

// SortKey is one criterion with its direction.
type SortKey struct {
	Field   SortField
	Reverse bool
}

// sentDate is the SORT DATE key: the Date header, or the internal date
// when the message has none (RFC 5256 §3 DATE).
func (m *msgSummary) sentDate() int64 {
	if m.date != 0 {
		return m.date
	}
	return m.idate
}

func compareBy(f SortField, a, b *msgSummary) int {
	switch f {
	case SortArrival:
		return cmp.Compare(a.idate, b.idate)
	case SortCc:
		return strings.Compare(a.sortCc, b.sortCc)
	case SortDate:
		return cmp.Compare(a.sentDate(), b.sentDate())
	case SortFrom:
		return strings.Compare(a.sortFrom, b.sortFrom)
	case SortSize:
		return cmp.Compare(a.size, b.size)
	case SortSubject:
		return strings.Compare(a.baseSubject, b.baseSubject)
	case SortTo:
		return strings.Compare(a.sortTo, b.sortTo)
	}
	return 0
}

// Sort orders ascending UIDs by the keys; messages equal by every key keep
// their UID (sequence) order, whatever the direction (RFC 5256 §3).
func (ix *Index) Sort(ctx context.Context, snap *Snapshot, uids []store.UID, keys []SortKey) ([]store.UID, error) {
	sum, err := ix.summariesOf(ctx, snap)
	if err != nil {
		return nil, err
	}
	type item struct {
		uid store.UID
		m   *msgSummary
	}
	items := make([]item, 0, len(uids))
	for _, u := range uids {
		if m := sum.find(u); m != nil {
			items = append(items, item{u, m})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		for _, k := range keys {
			c := compareBy(k.Field, a.m, b.m)
			if k.Reverse {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.uid, b.uid)
	})
	out := make([]store.UID, len(items))
	for i, it := range items {
		out[i] = it.uid
	}
	return out, nil
}
