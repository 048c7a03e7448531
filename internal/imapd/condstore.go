package imapd

import (
	"posthorn/internal/mailbox"
	"slices"
)

// CONDSTORE and QRESYNC (RFC 7162) pieces shared by SELECT and FETCH:
// the QRESYNC select parameter and the resynchronisation it asks for.
// MODSEQ values come from the store's per-account counter; tombstones of
// expunged messages make VANISHED (EARLIER) exact.

// qresyncParams is the QRESYNC parameter of SELECT (RFC 7162 §3.2.5).
type qresyncParams struct {
	uidValidity uint32
	modSeq      mailbox.ModSeq
	knownUIDs   *numSet // nil: all
}

func (p *parser) qresyncParams() *qresyncParams {
	q := &qresyncParams{}
	p.list(false, func() {
		q.uidValidity = p.nzNumber()
		p.sp()
		q.modSeq = mailbox.ModSeq(p.number64())
		if p.consume(' ') {
			if p.peek() != '(' {
				set := p.numSet()
				q.knownUIDs = &set
				if !p.consume(' ') {
					return
				}
			}
			// seq-match-data: we keep every tombstone, so it is not needed.
			p.list(false, func() {
				p.numSet()
				p.sp()
				p.numSet()
			})
		}
	})
	return q
}

// inSet reports whether uid is in a parsed UID set (no "*" resolution
// beyond the largest UID given).
func (set *numSet) contains(uid mailbox.UID, star mailbox.UID) bool {
	for _, r := range set.ranges {
		lo, hi := mailbox.UID(r.lo), mailbox.UID(r.hi)
		if r.lo == 0 {
			lo = star
		}
		if r.hi == 0 {
			hi = star
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if uid >= lo && uid <= hi {
			return true
		}
	}
	return false
}

// qresyncSelect sends what changed since the client's MODSEQ (RFC 7162
// §3.2.5.1): VANISHED (EARLIER) for messages that left, then FETCH for
// those whose flags changed.
func (s *session) qresyncSelect(sel *selection, q *qresyncParams) error {
	_, changed, gone, err := s.srv.opts.Mailboxes.Changes(s.ctx(), s.acct.ID, sel.mb.ID, q.modSeq)
	if err != nil {
		return err
	}
	s.writeVanishedEarlier(sel, gone, q.knownUIDs)
	return s.writeChangedFlags(sel, changed, q.modSeq)
}

// writeVanishedEarlier reports tombstones the client may still hold.
func (s *session) writeVanishedEarlier(sel *selection, gone []mailbox.Tombstone, known *numSet) {
	var uids []mailbox.UID
	star := sel.maxUID()
	for _, t := range gone {
		if t.UID >= sel.mb.UIDNext && sel.mb.UIDNext != 0 {
			continue
		}
		if known != nil && !known.contains(t.UID, max(star, t.UID)) {
			continue
		}
		if sel.seqOf(t.UID) == 0 {
			uids = append(uids, t.UID)
		}
	}
	if len(uids) == 0 {
		return
	}
	slices.Sort(uids)
	uids = slices.Compact(uids)
	s.r.reset()
	s.r.raw("* VANISHED (EARLIER) ")
	writeUIDSet(&s.r, uids)
	s.write(s.r.crlf().b)
}

// writeChangedFlags sends FETCH (UID FLAGS MODSEQ) for the messages of the
// view whose MODSEQ is above since, from the current snapshot.
func (s *session) writeChangedFlags(sel *selection, changed []mailbox.MessageFlags, since mailbox.ModSeq) error {
	snap := sel.synced
	uids := make([]mailbox.UID, 0, len(changed))
	for _, m := range changed {
		uids = append(uids, m.UID)
	}
	slices.Sort(uids)
	for _, uid := range slices.Compact(uids) {
		i, ok := snap.Find(uid)
		seq := sel.seqOf(uid)
		if !ok || seq == 0 || snap.ModSeq(i) <= since {
			continue
		}
		s.r.reset()
		s.r.raw("* ").num32(seq).raw(" FETCH (UID ").num32(uint32(uid)).raw(" FLAGS ")
		writeFlags(&s.r, snap.Flags(i), snap.Keywords(i))
		s.write(s.r.raw(" MODSEQ (").num(uint64(snap.ModSeq(i))).raw("))").crlf().b)
	}
	return nil
}
