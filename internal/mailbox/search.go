package mailbox

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"

	"posthorn/internal/message"
	"posthorn/internal/store"
)

// Search evaluation for IMAP SEARCH (RFC 9051 §6.4.4), SORT and THREAD
// (RFC 5256): flags and MODSEQ from the index snapshot, header fields,
// dates and sizes from the summaries cache, body text from the store's
// full-text index when it has one (store.Searcher) and by reading and
// decoding the messages otherwise.

// CritKind says what a Criterion tests.
type CritKind uint8

// Criterion kinds.
const (
	CritAll        CritKind = iota // every message
	CritNone                       // no message (IMAP RECENT, NEW: \Recent is not kept)
	CritAnd                        // every Sub matches
	CritOr                         // some Sub matches
	CritNot                        // Sub[0] does not match
	CritUIDs                       // UID in UIDs (sorted)
	CritFlag                       // has every flag in Flag
	CritNoFlag                     // has none of the flags in Flag
	CritKeyword                    // has Keyword
	CritNoKeyword                  // lacks Keyword
	CritBefore                     // internal date before Day
	CritOn                         // internal date on Day
	CritSince                      // internal date on or after Day
	CritSentBefore                 // Date header before Day
	CritSentOn                     // Date header on Day
	CritSentSince                  // Date header on or after Day
	CritLarger                     // size above Size
	CritSmaller                    // size below Size
	CritHeader                     // header field Header contains Text ("" : has the field)
	CritBody                       // body text contains Text
	CritText                       // header or body contains Text
	CritModSeq                     // MODSEQ at least ModSeq (RFC 7162 §3.1.5)
)

// Criterion is one node of a search program.
type Criterion struct {
	Kind    CritKind
	Sub     []*Criterion
	UIDs    []store.UID
	Flag    store.Flags
	Keyword string
	Day     time.Time // a date; only year, month and day count
	Size    int64
	Header  string // field name, for CritHeader
	Text    string
	ModSeq  store.ModSeq
}

// Search returns, in ascending order, the UIDs among candidates (which
// must be ascending) that match c, with flags read from snap.
func (ix *Index) Search(ctx context.Context, snap *Snapshot, candidates []store.UID, c *Criterion) ([]store.UID, error) {
	ev := &evaluator{ix: ix, snap: snap, ctx: ctx, text: map[*Criterion]*textSet{}}
	if err := ev.prepare(c); err != nil {
		return nil, err
	}
	var out []store.UID
	for start := 0; start < len(candidates); start += scanChunk {
		chunk := candidates[start:min(start+scanChunk, len(candidates))]
		ev.rows = nil
		ev.chunk = chunk
		for _, uid := range chunk {
			i, ok := snap.Find(uid)
			if !ok {
				continue
			}
			m, err := ev.match(c, uid, i)
			if err != nil {
				return nil, err
			}
			if m {
				out = append(out, uid)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scanChunk is how many messages one store query reads when a search must
// look into messages.
const scanChunk = 200

type evaluator struct {
	ix   *Index
	snap *Snapshot
	ctx  context.Context
	sum  *summaries
	text map[*Criterion]*textSet

	chunk []store.UID
	rows  map[store.UID]*store.Message
}

// textSet is what the full-text index says about one BODY or TEXT key:
// the messages it matched; verify says a match must be confirmed by
// reading the message (the index matches words, the key is a substring).
type textSet struct {
	uids   map[store.UID]bool
	verify bool
}

// prepare loads what the criteria need once: the summaries, and the
// full-text index results.
func (ev *evaluator) prepare(c *Criterion) error {
	switch c.Kind {
	case CritAnd, CritOr, CritNot:
		for _, s := range c.Sub {
			if err := ev.prepare(s); err != nil {
				return err
			}
		}
	case CritBefore, CritOn, CritSince, CritSentBefore, CritSentOn, CritSentSince, CritLarger, CritSmaller, CritHeader:
		return ev.loadSummaries()
	case CritBody, CritText:
		if err := ev.loadSummaries(); err != nil {
			return err
		}
		return ev.prepareText(c)
	}
	return nil
}

func (ev *evaluator) loadSummaries() error {
	if ev.sum != nil {
		return nil
	}
	sum, err := ev.ix.summariesOf(ev.ctx, ev.snap)
	ev.sum = sum
	return err
}

// summariesOf returns the summaries cache for snap, loading what it lacks.
func (ix *Index) summariesOf(ctx context.Context, snap *Snapshot) (*summaries, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.summariesFor(ctx, snap)
}

// prepareText asks the store's full-text index, when there is one.
func (ev *evaluator) prepareText(c *Criterion) error {
	se, ok := ev.ix.svc.st.(store.Searcher)
	if !ok {
		return nil
	}
	needle := strings.TrimSpace(c.Text)
	if needle == "" {
		return nil
	}
	blobs, err := se.MatchText(ev.ctx, needle)
	if errors.Is(err, store.ErrNotIndexable) {
		return nil
	}
	if err != nil {
		return mapErr(err)
	}
	ts := &textSet{uids: map[store.UID]bool{}, verify: !isOneWord(needle)}
	byBlob := ev.ix.blobUIDs(ev.sum)
	for _, b := range blobs {
		for _, u := range byBlob[b] {
			ts.uids[u] = true
		}
	}
	ev.text[c] = ts
	return nil
}

// blobUIDs returns the summaries' blob index, built once under the lock.
func (ix *Index) blobUIDs(sum *summaries) map[store.BlobID][]store.UID {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return sum.blobUIDs()
}

// isOneWord reports whether s is a single run of letters and digits: the
// full-text index answers such a key by itself (as a word or word prefix).
func isOneWord(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

// match evaluates c for the message uid at position i of the snapshot.
func (ev *evaluator) match(c *Criterion, uid store.UID, i int) (bool, error) {
	snap := ev.snap
	switch c.Kind {
	case CritAll:
		return true, nil
	case CritNone:
		return false, nil
	case CritAnd:
		for _, s := range c.Sub {
			if ok, err := ev.match(s, uid, i); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	case CritOr:
		for _, s := range c.Sub {
			if ok, err := ev.match(s, uid, i); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	case CritNot:
		ok, err := ev.match(c.Sub[0], uid, i)
		return !ok, err
	case CritUIDs:
		_, ok := slices.BinarySearch(c.UIDs, uid)
		return ok, nil
	case CritFlag:
		return snap.Flags(i)&c.Flag == c.Flag, nil
	case CritNoFlag:
		return snap.Flags(i)&c.Flag == 0, nil
	case CritKeyword:
		return snap.HasKeyword(i, c.Keyword), nil
	case CritNoKeyword:
		return !snap.HasKeyword(i, c.Keyword), nil
	case CritModSeq:
		return snap.ModSeq(i) >= c.ModSeq, nil
	case CritBody, CritText:
		return ev.matchText(c, uid)
	}
	m := ev.sum.find(uid)
	if m == nil {
		return false, nil
	}
	return ev.matchSummary(c, m)
}

// day returns the date of a Unix time as days since the epoch (UTC):
// searches by date disregard time and time zone (RFC 9051 §6.4.4).
func day(unix int64) int64 {
	if unix < 0 {
		return (unix - 86399) / 86400
	}
	return unix / 86400
}

func dayOf(t time.Time) int64 {
	return day(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix())
}

// matchSummary evaluates the keys answered by the summaries cache.
func (ev *evaluator) matchSummary(c *Criterion, m *msgSummary) (bool, error) {
	switch c.Kind {
	case CritBefore:
		return day(m.idate) < dayOf(c.Day), nil
	case CritOn:
		return day(m.idate) == dayOf(c.Day), nil
	case CritSince:
		return day(m.idate) >= dayOf(c.Day), nil
	case CritSentBefore:
		return m.date != 0 && day(m.date) < dayOf(c.Day), nil
	case CritSentOn:
		return m.date != 0 && day(m.date) == dayOf(c.Day), nil
	case CritSentSince:
		return m.date != 0 && day(m.date) >= dayOf(c.Day), nil
	case CritLarger:
		return m.size > c.Size, nil
	case CritSmaller:
		return m.size < c.Size, nil
	case CritHeader:
		return ev.matchHeader(c, m)
	}
	return false, nil
}

// cachedField returns the summary's text of a header field the cache
// keeps (decoded, lower case), and whether it keeps it.
func cachedField(m *msgSummary, name string) (string, bool) {
	switch strings.ToLower(name) {
	case "subject":
		return m.subject, true
	case "from":
		return m.from, true
	case "to":
		return m.to, true
	case "cc":
		return m.cc, true
	case "bcc":
		return m.bcc, true
	}
	return "", false
}

func (ev *evaluator) matchHeader(c *Criterion, m *msgSummary) (bool, error) {
	if v, ok := cachedField(m, c.Header); ok && c.Text != "" {
		return strings.Contains(v, strings.ToLower(c.Text)), nil
	}
	h, err := ev.header(m.uid)
	if err != nil || h == nil {
		return false, err
	}
	needle := strings.ToLower(c.Text)
	for _, f := range h {
		if f.Name != "" && strings.EqualFold(f.Name, c.Header) {
			if needle == "" || strings.Contains(strings.ToLower(message.DecodeHeader(f.Unfolded())), needle) {
				return true, nil
			}
		}
	}
	return false, nil
}

// matchText evaluates BODY and TEXT.
func (ev *evaluator) matchText(c *Criterion, uid store.UID) (bool, error) {
	needle := strings.ToLower(c.Text)
	m := ev.sum.find(uid)
	if ts := ev.text[c]; ts != nil {
		inHeader := m != nil && headerFieldsContain(m, needle)
		switch {
		case c.Kind == CritText && inHeader:
			return true, nil
		case !ts.uids[uid]:
			return false, nil
		case !ts.verify && !(c.Kind == CritBody && inHeader):
			return true, nil
		}
		// The index matched words, or the match may have come from the
		// subject or addresses it also indexes: read the message.
	}
	if c.Kind == CritText {
		if m != nil && headerFieldsContain(m, needle) {
			return true, nil
		}
		h, err := ev.header(uid)
		if err != nil {
			return false, err
		}
		for _, f := range h {
			if strings.Contains(strings.ToLower(message.DecodeHeader(f.Raw)), needle) {
				return true, nil
			}
		}
	}
	text, err := ev.bodyText(uid)
	if err != nil {
		return false, err
	}
	return strings.Contains(strings.ToLower(text), needle), nil
}

func headerFieldsContain(m *msgSummary, needle string) bool {
	for _, v := range []string{m.subject, m.from, m.to, m.cc, m.bcc} {
		if strings.Contains(v, needle) {
			return true
		}
	}
	return false
}

// row returns the stored message, reading the rows of the whole chunk at
// the first need.
func (ev *evaluator) row(uid store.UID) (*store.Message, error) {
	if ev.rows == nil {
		ms, err := ev.ix.svc.Messages(ev.ctx, ev.ix.acct, ev.ix.id, store.UIDSet{{First: ev.chunk[0], Last: ev.chunk[len(ev.chunk)-1]}})
		if err != nil {
			return nil, err
		}
		ev.rows = make(map[store.UID]*store.Message, len(ms))
		for i := range ms {
			ev.rows[ms[i].UID] = &ms[i]
		}
	}
	return ev.rows[uid], nil
}

// header reads and parses the header section of a message.
func (ev *evaluator) header(uid store.UID) (message.Header, error) {
	m, err := ev.row(uid)
	if err != nil || m == nil {
		return nil, err
	}
	meta, err := Meta(*m)
	if err != nil {
		return nil, err
	}
	c, err := ev.ix.svc.Open(ev.ctx, *m)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	end := min(meta.Structure.BodyStart, c.Size(), 1<<20)
	b := make([]byte, end)
	if _, err := c.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	h, _ := message.ParseHeader(b)
	return h, nil
}

// bodyText returns the decoded text of the text parts of a message (RFC
// 9051 §6.4.4: BODY and TEXT match the decoded content, in any charset).
func (ev *evaluator) bodyText(uid store.UID) (string, error) {
	m, err := ev.row(uid)
	if err != nil || m == nil {
		return "", err
	}
	meta, err := Meta(*m)
	if err != nil {
		return "", err
	}
	c, err := ev.ix.svc.Open(ev.ctx, *m)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var b strings.Builder
	var rerr error
	meta.Structure.Walk(func(p *message.Part) bool {
		if p.IsMultipart() || p.IsMessage() || rerr != nil {
			return rerr == nil
		}
		if p.Type != "text" || b.Len() > message.MaxText {
			return false
		}
		raw := make([]byte, max(p.BodyEnd-p.BodyStart, 0))
		if _, err := c.ReadAt(raw, p.BodyStart); err != nil && err != io.EOF {
			rerr = err
			return false
		}
		b.WriteString(message.PartText(p, raw))
		b.WriteByte('\n')
		return false
	})
	return b.String(), rerr
}
