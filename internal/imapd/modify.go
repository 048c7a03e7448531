package imapd

import (
	"posthorn/internal/mailbox"
	"slices"
	"strings"
)

// Commands that change messages of the selected mailbox: STORE with
// UNCHANGEDSINCE (RFC 9051 §6.4.6, RFC 7162 §3.1.3), COPY and MOVE with
// COPYUID (RFC 9051 §6.4.7, RFC 6851, RFC 4315), EXPUNGE and UID EXPUNGE
// (RFC 9051 §6.4.3, RFC 4315 §2.1).

var errReadOnly = no("", "Mailbox is read-only")

// maxKeywordLen bounds one keyword; maxKeywords the keywords of a STORE.
const (
	maxKeywordLen = 100
	maxKeywords   = 100
)

// flagList parses a flag list or, for STORE, flags separated by spaces.
// \Recent is ignored (it cannot be stored, RFC 3501 §2.3.2).
func (p *parser) flags(parens bool) (mailbox.Flags, []string) {
	var f mailbox.Flags
	var kw []string
	item := func() {
		if p.consume('\\') {
			name := `\` + p.atom()
			for _, fn := range mailbox.FlagNames {
				if strings.EqualFold(fn.Name, name) {
					f |= fn.Flag
					return
				}
			}
			if !strings.EqualFold(name, `\Recent`) {
				p.failf("Unknown system flag %q", truncate(name, 30))
			}
			return
		}
		k := p.atom()
		if len(k) > maxKeywordLen {
			p.failf("Keyword too long")
		}
		if len(kw) >= maxKeywords {
			p.failf("Too many keywords")
		}
		kw = append(kw, k)
	}
	if parens {
		p.list(true, item)
		return f, kw
	}
	for p.ok() {
		item()
		if !p.consume(' ') {
			break
		}
	}
	return f, kw
}

func cmdStore(s *session, c *command) error {
	p := &s.p
	p.sp()
	set := p.numSet()
	p.sp()
	var unchanged *mailbox.ModSeq
	if p.peek() == '(' {
		p.list(false, func() {
			if !strings.EqualFold(p.atom(), "UNCHANGEDSINCE") {
				p.failf("Unknown STORE modifier")
			}
			p.sp()
			v := mailbox.ModSeq(p.number64())
			unchanged = &v
		})
		p.sp()
	}
	op := mailbox.FlagsReplace
	switch {
	case p.consume('+'):
		op = mailbox.FlagsAdd
	case p.consume('-'):
		op = mailbox.FlagsRemove
	}
	item := strings.ToUpper(p.atom())
	silent := item == "FLAGS.SILENT"
	if item != "FLAGS" && !silent {
		p.failf("Expected FLAGS")
	}
	p.sp()
	flags, kw := p.flags(p.peek() == '(')
	p.end()
	if !p.ok() {
		return nil
	}
	if s.sel.readOnly {
		return errReadOnly
	}
	uids, err := s.sel.resolve(set, c.uid)
	if err != nil || len(uids) == 0 {
		return err
	}
	return s.store(c, uids, op, flags, kw, unchanged, silent)
}

// store applies a flag change and reports it.
func (s *session) store(c *command, uids []mailbox.UID, op mailbox.FlagOp, flags mailbox.Flags, kw []string, unchanged *mailbox.ModSeq, silent bool) error {
	sel := s.sel
	var modified []mailbox.UID
	var updated map[mailbox.UID]bool
	if unchanged != nil {
		s.useCondstore()
	}
	if unchanged != nil && *unchanged == 0 {
		// RFC 7162 §3.1.3: UNCHANGEDSINCE 0 fails for every message.
		modified = uids
	} else {
		updated = map[mailbox.UID]bool{}
		for _, set := range sel.storeSets(uids) {
			u := mailbox.FlagUpdate{MailboxID: sel.mb.ID, UIDs: set, Op: op, Flags: flags, Keywords: kw}
			if unchanged != nil {
				u.UnchangedSince = *unchanged
			}
			res, err := s.srv.opts.Mailboxes.UpdateFlags(s.ctx(), s.acct.ID, u)
			if err != nil {
				return err
			}
			modified = append(modified, res.Modified...)
			for _, m := range res.Updated {
				updated[m.UID] = true
			}
		}
		slices.Sort(modified)
	}
	snap, err := sel.ix.Refresh(s.ctx())
	if err != nil {
		return err
	}
	sel.announceKeywords(s, snap) // new keywords before the FETCHes that carry them
	failed := make(map[mailbox.UID]bool, len(modified))
	for _, u := range modified {
		failed[u] = true
	}
	s.reported = updated
	for _, uid := range uids {
		i, ok := snap.Find(uid)
		seq := sel.seqOf(uid)
		if !ok || seq == 0 || failed[uid] || (silent && !(sel.condstore && updated[uid])) {
			continue
		}
		r := &s.r
		r.reset()
		r.raw("* ").num32(seq).raw(" FETCH (")
		if c.uid || sel.condstore {
			r.raw("UID ").num32(uint32(uid)).sp()
		}
		if !silent {
			r.raw("FLAGS ")
			writeFlags(r, snap.Flags(i), snap.Keywords(i))
			if sel.condstore {
				r.sp()
			}
		}
		if sel.condstore {
			r.raw("MODSEQ (").num(uint64(snap.ModSeq(i))).byte(')')
		}
		s.write(r.raw(")").crlf().b)
	}
	if len(modified) > 0 {
		s.r.reset()
		s.r.raw("MODIFIED ")
		if c.uid {
			writeUIDSet(&s.r, modified)
		} else {
			writeSeqSet(&s.r, sel, modified)
		}
		s.code, s.text = string(s.r.b), "Conditional STORE failed for some messages"
	}
	return nil
}

// writeSeqSet writes the sequence numbers of UIDs as a compact set.
func writeSeqSet(r *resp, sel *selection, uids []mailbox.UID) {
	seqs := make([]mailbox.UID, 0, len(uids))
	for _, u := range uids {
		if n := sel.seqOf(u); n != 0 {
			seqs = append(seqs, mailbox.UID(n))
		}
	}
	writeUIDSet(r, seqs)
}

// cmdCopy is COPY and MOVE.
func cmdCopy(s *session, c *command) error {
	p := &s.p
	p.sp()
	set := p.numSet()
	p.sp()
	dest := s.mailboxName()
	p.end()
	if !p.ok() {
		return nil
	}
	sel := s.sel
	if c.name == "MOVE" && sel.readOnly {
		return errReadOnly
	}
	uids, err := sel.resolve(set, c.uid)
	if err != nil {
		return err
	}
	dst, err := s.srv.opts.Mailboxes.Get(s.ctx(), s.acct.ID, dest)
	if err != nil {
		// RFC 9051 §6.4.7: TRYCREATE tells the client to create it first.
		return no("TRYCREATE", "No such destination mailbox")
	}
	if len(uids) == 0 {
		return nil
	}
	var maps []mailbox.UIDMapping
	for _, set := range sel.storeSets(uids) {
		var m []mailbox.UIDMapping
		if c.name == "MOVE" {
			m, err = s.srv.opts.Mailboxes.Move(s.ctx(), s.acct.ID, sel.mb.ID, set, dst.ID)
		} else {
			m, err = s.srv.opts.Mailboxes.Copy(s.ctx(), s.acct.ID, sel.mb.ID, set, dst.ID)
		}
		if err != nil {
			return err
		}
		maps = append(maps, m...)
	}
	if len(maps) == 0 {
		return nil
	}
	src, dstUIDs := make([]mailbox.UID, len(maps)), make([]mailbox.UID, len(maps))
	for i, m := range maps {
		src[i], dstUIDs[i] = m.Src, m.Dst
	}
	s.r.reset()
	s.r.raw("COPYUID ").num32(dst.UIDValidity).sp()
	writeUIDSet(&s.r, src)
	s.r.sp()
	writeUIDSet(&s.r, dstUIDs)
	code := string(s.r.b)
	if c.name == "MOVE" {
		// RFC 6851 §4.3: COPYUID comes in an untagged OK before the
		// expunges, which the sync after the command sends.
		s.writeLine("* OK [" + code + "] Moved")
		_, err := sel.ix.Refresh(s.ctx())
		return err
	}
	s.code = code
	return nil
}

// cmdExpunge is EXPUNGE and UID EXPUNGE; the EXPUNGE (or VANISHED)
// responses come from the sync after the command.
func cmdExpunge(s *session, c *command) error {
	p := &s.p
	sets := []mailbox.UIDSet{mailbox.AllUIDs}
	if c.uid {
		p.sp()
		ns := p.numSet()
		p.end()
		if !p.ok() {
			return nil
		}
		uids, err := s.sel.resolve(ns, true)
		if err != nil || len(uids) == 0 {
			return err
		}
		sets = s.sel.storeSets(uids)
	} else {
		p.end()
		if !p.ok() {
			return nil
		}
	}
	if s.sel.readOnly {
		return errReadOnly
	}
	for _, set := range sets {
		if _, _, err := s.srv.opts.Mailboxes.Expunge(s.ctx(), s.acct.ID, s.sel.mb.ID, set, true); err != nil {
			return err
		}
	}
	_, err := s.sel.ix.Refresh(s.ctx())
	return err
}
