package imapd

import (
	"strings"

	"posthorn/internal/mailbox"
)

// SORT and THREAD (RFC 5256) and their UID forms. The orderings are
// computed by the mailbox service (mailbox/sort.go, mailbox/thread.go).

var sortFields = map[string]mailbox.SortField{
	"ARRIVAL": mailbox.SortArrival, "CC": mailbox.SortCc, "DATE": mailbox.SortDate, "FROM": mailbox.SortFrom,
	"SIZE": mailbox.SortSize, "SUBJECT": mailbox.SortSubject, "TO": mailbox.SortTo,
}

func cmdSort(s *session, c *command) error {
	p := &s.p
	p.sp()
	var keys []mailbox.SortKey
	p.list(false, func() {
		k := mailbox.SortKey{}
		name := strings.ToUpper(p.atom())
		if name == "REVERSE" {
			k.Reverse = true
			p.sp()
			name = strings.ToUpper(p.atom())
		}
		f, ok := sortFields[name]
		if !ok && p.ok() {
			p.failf("Unknown sort criterion %q", truncate(name, 30))
		}
		k.Field = f
		keys = append(keys, k)
	})
	p.sp()
	crit, usesModSeq := s.programWithCharset(c.uid)
	p.end()
	if !p.ok() {
		return nil
	}
	uids, err := s.runSearch(crit)
	if err != nil {
		return err
	}
	sel := s.sel
	snap, err := sel.ix.Snapshot(s.ctx())
	if err != nil {
		return err
	}
	sorted, err := sel.ix.Sort(s.ctx(), snap, uids, keys)
	if err != nil {
		return err
	}
	r := &s.r
	r.reset()
	r.raw("* SORT")
	for _, u := range sorted {
		r.sp()
		s.writeNumber(c, u)
	}
	if usesModSeq && len(sorted) > 0 {
		// RFC 7162 §3.1.5: the highest MODSEQ of the messages found.
		s.useCondstore()
		r.raw(" (MODSEQ ").num(uint64(highestModSeq(snap, sorted))).byte(')')
	}
	s.write(r.crlf().b)
	return nil
}

// writeNumber writes a UID, or its sequence number for the non-UID form.
func (s *session) writeNumber(c *command, u mailbox.UID) {
	if c.uid {
		s.r.num32(uint32(u))
	} else {
		s.r.num32(s.sel.seqOf(u))
	}
}

func cmdThread(s *session, c *command) error {
	p := &s.p
	p.sp()
	alg := strings.ToUpper(p.atom())
	p.sp()
	crit, _ := s.programWithCharset(c.uid)
	p.end()
	if !p.ok() {
		return nil
	}
	if alg != "REFERENCES" && alg != "ORDEREDSUBJECT" {
		return bad("Unknown threading algorithm")
	}
	uids, err := s.runSearch(crit)
	if err != nil {
		return err
	}
	sel := s.sel
	snap, err := sel.ix.Snapshot(s.ctx())
	if err != nil {
		return err
	}
	var threads []*mailbox.Thread
	if alg == "REFERENCES" {
		threads, err = sel.ix.ThreadReferences(s.ctx(), snap, uids)
	} else {
		threads, err = sel.ix.ThreadOrderedSubject(s.ctx(), snap, uids)
	}
	if err != nil {
		return err
	}
	r := &s.r
	r.reset()
	r.raw("* THREAD")
	if len(threads) > 0 {
		r.sp()
	}
	for _, t := range threads {
		s.writeThread(c, t)
	}
	s.write(r.crlf().b)
	return nil
}

// writeThread writes one thread-list (RFC 5256 §4): "(" members ")",
// where a chain of single children is written flat, several children
// each in parentheses, and a placeholder as a bare "(" ... ")".
func (s *session) writeThread(c *command, t *mailbox.Thread) {
	r := &s.r
	r.byte('(')
	s.writeThreadMembers(c, t)
	r.byte(')')
}

func (s *session) writeThreadMembers(c *command, t *mailbox.Thread) {
	r := &s.r
	for {
		if t.UID != 0 {
			s.writeNumber(c, t.UID)
		}
		switch len(t.Children) {
		case 0:
			return
		case 1:
			if t.UID != 0 {
				r.sp()
			}
			t = t.Children[0]
			continue
		}
		if t.UID != 0 {
			r.sp()
		}
		for _, k := range t.Children {
			s.writeThread(c, k)
		}
		return
	}
}
