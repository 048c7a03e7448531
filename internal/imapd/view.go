package imapd

import (
	"errors"
	"slices"

	"posthorn/internal/mailbox"
)

// selection is the session's view of its selected mailbox (RFC 9051 §2.3.1):
// the message sequence as the client knows it, which changes only when the
// session tells the client (EXPUNGE or VANISHED, EXISTS), and what flag
// changes it has reported. The messages themselves come from the shared
// mailbox.Index; uids is usually one of its snapshots' UID arrays, shared.
type selection struct {
	ix       *mailbox.Index
	mb       mailbox.Mailbox // at SELECT: id, name, UIDVALIDITY
	readOnly bool
	// condstore: FETCH responses carry MODSEQ (RFC 7162 §3.1); qresync:
	// expunges are reported as VANISHED (§3.2.10).
	condstore, qresync bool

	uids     []mailbox.UID     // message n is uids[n-1]
	synced   *mailbox.Snapshot // the snapshot uids was taken from
	flagsTo  mailbox.ModSeq    // flag changes up to here have been reported
	keywords []string          // keywords announced in FLAGS
	saved    []mailbox.UID     // SEARCHRES "$" (RFC 5182)
}

func newSelection(ix *mailbox.Index, snap *mailbox.Snapshot, readOnly bool) *selection {
	return &selection{ix: ix, mb: snap.Mailbox, readOnly: readOnly, uids: snap.UIDs(), synced: snap,
		flagsTo: snap.Mailbox.HighestModSeq, keywords: snap.AllKeywords()}
}

func (sel *selection) close() { sel.ix.Close() }

// seqOf returns the sequence number of uid, or 0.
func (sel *selection) seqOf(uid mailbox.UID) uint32 {
	if i, ok := slices.BinarySearch(sel.uids, uid); ok {
		return uint32(i + 1)
	}
	return 0
}

func (sel *selection) maxUID() mailbox.UID {
	if n := len(sel.uids); n > 0 {
		return sel.uids[n-1]
	}
	return 0
}

var errMailboxGone = &protoError{msg: "Selected mailbox was deleted", fatal: true}

// sync tells the client what changed since it was last told (RFC 9051
// §7.4, §7.5.1): expunged messages (only when expunge is set, since
// sequence numbers must not move during FETCH, STORE and SEARCH), new
// messages (EXISTS), flag changes (FETCH), and new keywords (FLAGS).
// Messages in reported already had their new flags sent by the command.
func (sel *selection) sync(s *session, expunge bool, reported map[mailbox.UID]bool) error {
	snap, err := sel.ix.Snapshot(s.ctx())
	if errors.Is(err, mailbox.ErrNotFound) {
		return errMailboxGone
	}
	if err != nil {
		return err
	}
	if snap == sel.synced && snap.Mailbox.HighestModSeq <= sel.flagsTo {
		return nil
	}
	oldMax := sel.maxUID()
	sel.announceKeywords(s, snap)
	if expunge && snap != sel.synced {
		sel.reportExpunges(s, snap)
	}
	sel.reportFlags(s, snap, oldMax, reported)
	sel.flagsTo = max(sel.flagsTo, snap.Mailbox.HighestModSeq)
	return nil
}

// announceKeywords sends FLAGS and PERMANENTFLAGS when the keywords in
// use changed.
func (sel *selection) announceKeywords(s *session, snap *mailbox.Snapshot) {
	if kw := snap.AllKeywords(); !slices.Equal(kw, sel.keywords) {
		sel.keywords = kw
		s.writeFlagsResponses(sel)
	}
}

// reportExpunges moves the view to snap: EXPUNGE (or VANISHED) for what
// left, EXISTS when messages arrived.
func (sel *selection) reportExpunges(s *session, snap *mailbox.Snapshot) {
	old, cur := sel.uids, snap.UIDs()
	var gone []mailbox.UID
	var goneAt []int
	j := 0
	for i, u := range old {
		for j < len(cur) && cur[j] < u {
			j++
		}
		if j >= len(cur) || cur[j] != u {
			gone = append(gone, u)
			goneAt = append(goneAt, i)
		}
	}
	if len(gone) > 0 {
		if sel.qresync {
			s.r.reset()
			s.r.raw("* VANISHED ")
			writeUIDSet(&s.r, gone)
			s.write(s.r.crlf().b)
		} else {
			for k, at := range goneAt {
				s.r.reset()
				s.r.raw("* ").int(at + 1 - k).raw(" EXPUNGE").crlf()
				s.write(s.r.b)
			}
		}
	}
	if len(cur) != len(old)-len(gone) {
		s.r.reset()
		s.write(s.r.raw("* ").int(len(cur)).raw(" EXISTS").crlf().b)
	}
	sel.uids, sel.synced = cur, snap
}

// reportFlags sends FETCH FLAGS for messages the client knows whose
// MODSEQ rose above what was reported.
func (sel *selection) reportFlags(s *session, snap *mailbox.Snapshot, oldMax mailbox.UID, reported map[mailbox.UID]bool) {
	for i := 0; i < snap.Len(); i++ {
		if snap.ModSeq(i) <= sel.flagsTo {
			continue
		}
		uid := snap.UID(i)
		if uid > oldMax || reported[uid] {
			continue
		}
		seq := sel.seqOf(uid)
		if seq == 0 {
			continue
		}
		s.r.reset()
		s.r.raw("* ").num32(seq).raw(" FETCH (UID ").num32(uint32(uid)).raw(" FLAGS ")
		writeFlags(&s.r, snap.Flags(i), snap.Keywords(i))
		if sel.condstore {
			s.r.raw(" MODSEQ (").num(uint64(snap.ModSeq(i))).byte(')')
		}
		s.write(s.r.raw(")").crlf().b)
	}
}

// writeFlagsResponses sends FLAGS and PERMANENTFLAGS (RFC 9051 §7.3.5,
// §7.1) with the keywords in use.
func (s *session) writeFlagsResponses(sel *selection) {
	s.r.reset()
	s.r.raw("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft")
	for _, k := range sel.keywords {
		s.r.sp().raw(k)
	}
	s.write(s.r.raw(")").crlf().b)
	s.r.reset()
	if sel.readOnly {
		s.write(s.r.raw("* OK [PERMANENTFLAGS ()] Read-only mailbox").crlf().b)
		return
	}
	s.r.raw("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft")
	for _, k := range sel.keywords {
		s.r.sp().raw(k)
	}
	s.write(s.r.raw(" \\*)] Flags permitted").crlf().b)
}

// writeFlags writes a flag list: system flags in bit order, then keywords.
func writeFlags(r *resp, f mailbox.Flags, kw []string) {
	r.byte('(')
	first := true
	for _, fn := range mailbox.FlagNames {
		if f&fn.Flag != 0 {
			if !first {
				r.sp()
			}
			r.raw(fn.Name)
			first = false
		}
	}
	for _, k := range kw {
		if !first {
			r.sp()
		}
		r.raw(k)
		first = false
	}
	r.byte(')')
}

// writeUIDSet writes UIDs as a sequence set in their order, joining
// ascending runs into ranges (so COPYUID's two sets still pair up element
// by element, RFC 4315 §3).
func writeUIDSet(r *resp, uids []mailbox.UID) {
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if i > 0 {
			r.byte(',')
		}
		r.num32(uint32(uids[i]))
		if j > i {
			r.byte(':').num32(uint32(uids[j]))
		}
		i = j + 1
	}
}

// numRange is a range of a sequence set; 0 stands for "*".
type numRange struct{ lo, hi uint32 }

// numSet is a parsed sequence-set (RFC 9051 §9) or "$" (RFC 5182).
type numSet struct {
	ranges []numRange
	saved  bool
}

// numSet parses a sequence set: numbers, "*", ranges, commas, or "$".
func (p *parser) numSet() numSet {
	if p.consume('$') {
		return numSet{saved: true}
	}
	var set numSet
	for p.ok() {
		lo := p.seqNumber()
		hi := lo
		if p.consume(':') {
			hi = p.seqNumber()
		}
		set.ranges = append(set.ranges, numRange{lo, hi})
		if len(set.ranges) > 100000 {
			p.failf("Sequence set too long")
		}
		if !p.consume(',') {
			break
		}
	}
	return set
}

func (p *parser) seqNumber() uint32 {
	if p.consume('*') {
		return 0
	}
	return p.nzNumber()
}

// resolve turns a set into the UIDs of the messages it names, ascending.
// Message sequence numbers beyond the mailbox are an error (RFC 9051
// §9 seq-number); UIDs that do not exist are skipped.
func (sel *selection) resolve(set numSet, uid bool) ([]mailbox.UID, error) {
	if set.saved {
		var out []mailbox.UID
		for _, u := range sel.saved {
			if sel.seqOf(u) != 0 {
				out = append(out, u)
			}
		}
		return out, nil
	}
	n := uint32(len(sel.uids))
	var out []mailbox.UID
	for _, r := range set.ranges {
		lo, hi := r.lo, r.hi
		if uid {
			star := uint32(sel.maxUID())
			if lo == 0 {
				lo = star
			}
			if hi == 0 {
				hi = star
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			if n == 0 {
				continue
			}
			i, _ := slices.BinarySearch(sel.uids, mailbox.UID(lo))
			for ; i < len(sel.uids) && uint32(sel.uids[i]) <= hi; i++ {
				out = append(out, sel.uids[i])
			}
			continue
		}
		if lo == 0 {
			lo = n
		}
		if hi == 0 {
			hi = n
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if n == 0 && (r.lo == 0 || r.hi == 0) {
			continue
		}
		if hi > n || lo == 0 {
			return nil, bad("Invalid message sequence number")
		}
		out = append(out, sel.uids[lo-1:hi]...)
	}
	if len(set.ranges) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out, nil
}

// Limits of the UID sets handed to the service in one call. A store
// turns each range into a query term: a long run is one BETWEEN, short
// runs are sent as single UIDs (which SQL engines answer as one IN list),
// and one call carries at most maxSetUIDs of them.
const (
	longRun    = 32
	maxSetUIDs = 400
)

// storeSets turns ascending UIDs of the view into the UID sets to hand to
// the service: neighbours in the view form one run even across gaps (a
// UID missing between two known messages no longer exists); a run of at
// least longRun messages is a set of its own, shorter runs are spelled
// out UID by UID, at most maxSetUIDs per set.
func (sel *selection) storeSets(uids []mailbox.UID) []mailbox.UIDSet {
	var out []mailbox.UIDSet
	var singles mailbox.UIDSet
	flush := func() {
		if len(singles) > 0 {
			out = append(out, singles)
			singles = nil
		}
	}
	pos := 0
	for i := 0; i < len(uids); {
		// Extend the run while the next UID is the next message of the view.
		j := i
		at, ok := slices.BinarySearch(sel.uids[pos:], uids[i])
		at += pos
		for ok && j+1 < len(uids) && at+(j-i)+1 < len(sel.uids) && sel.uids[at+(j-i)+1] == uids[j+1] {
			j++
		}
		if ok {
			pos = at + (j - i)
		}
		if j-i+1 >= longRun {
			out = append(out, mailbox.UIDSet{{First: uids[i], Last: uids[j]}})
		} else {
			for _, u := range uids[i : j+1] {
				singles = append(singles, mailbox.UIDRange{First: u, Last: u})
				if len(singles) == maxSetUIDs {
					flush()
				}
			}
		}
		i = j + 1
	}
	flush()
	return out
}
