package imapd

import (
	"errors"
	"strings"
	"unicode/utf8"

	"posthorn/internal/mailbox"
)

// Mailbox commands of the authenticated state (RFC 9051 §6.3): SELECT and
// EXAMINE with the CONDSTORE and QRESYNC parameters (RFC 7162), CREATE
// with USE (RFC 6154), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS with
// SIZE (RFC 8438), HIGHESTMODSEQ and DELETED; CLOSE and UNSELECT (RFC 3691)
// of the selected state. LIST and LSUB are in list.go.

// mailboxName reads a mailbox argument and returns its UTF-8 name:
// modified UTF-7 is decoded for IMAP4rev1 clients (RFC 3501 §5.1.3), but a
// valid UTF-8 name is taken as it is from anyone (RFC 9051 §5.1); INBOX is
// spelled canonically.
func (s *session) mailboxName() string {
	raw := s.p.astring()
	if !s.p.ok() {
		return ""
	}
	return s.decodeName(raw)
}

func (s *session) decodeName(raw string) string {
	name := raw
	if !s.enabled.rev2 || isPlainASCII(raw) {
		if dec, err := decodeMUTF7(raw); err == nil {
			name = dec
		} else if isPlainASCII(raw) || !utf8.ValidString(raw) {
			s.p.fail(no("CANNOT", "Invalid mailbox name encoding"))
			return ""
		}
	}
	// RFC 9051 §6.3.4: a trailing separator names the same mailbox.
	if len(name) > 1 {
		name = strings.TrimSuffix(name, mailbox.HierarchySeparator)
	}
	return mailbox.CanonicalMailboxName(name)
}

// cmdSelect is SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3).
func cmdSelect(s *session, c *command) error {
	p := &s.p
	p.sp()
	name := s.mailboxName()
	var qr *qresyncParams
	condstore := false
	if p.consume(' ') {
		p.list(false, func() {
			switch strings.ToUpper(p.atom()) {
			case "CONDSTORE":
				condstore = true
			case "QRESYNC":
				if !s.enabled.qresync {
					p.failf("QRESYNC must be enabled first")
				}
				p.sp()
				qr = p.qresyncParams()
			default:
				p.failf("Unknown SELECT parameter")
			}
		})
	}
	p.end()
	if !p.ok() {
		return nil
	}
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
		s.state = authenticated
		if s.enabled.qresync || s.enabled.rev2 {
			s.writeLine("* OK [CLOSED] Previous mailbox closed")
		}
	}
	if condstore {
		s.enabled.condstore = true
	}
	mb, err := s.srv.opts.Mailboxes.Get(s.ctx(), s.acct.ID, name)
	if err != nil {
		return err
	}
	ix, err := s.srv.opts.Mailboxes.OpenIndex(s.ctx(), s.acct.ID, mb.ID)
	if err != nil {
		return err
	}
	snap, err := ix.Snapshot(s.ctx())
	if err != nil {
		ix.Close()
		return err
	}
	sel := newSelection(ix, snap, c.name == "EXAMINE")
	sel.condstore, sel.qresync = s.enabled.condstore, s.enabled.qresync
	s.writeSelectResponses(sel, snap)
	if qr != nil && qr.uidValidity == snap.Mailbox.UIDValidity {
		if err := s.qresyncSelect(sel, qr); err != nil {
			ix.Close()
			return err
		}
	}
	s.sel, s.state = sel, selected
	s.code = "READ-WRITE"
	if sel.readOnly {
		s.code = "READ-ONLY"
	}
	return nil
}

// writeSelectResponses sends what SELECT must (RFC 9051 §6.3.2; RFC 3501
// §6.3.1 for IMAP4rev1 clients, which also get RECENT and UNSEEN).
func (s *session) writeSelectResponses(sel *selection, snap *mailbox.Snapshot) {
	mb := snap.Mailbox
	s.writeFlagsResponses(sel)
	s.r.reset()
	s.write(s.r.raw("* ").int(snap.Len()).raw(" EXISTS").crlf().b)
	if !s.enabled.rev2 {
		// \Recent is not kept: every message is seen as not recent.
		s.writeLine("* 0 RECENT")
		if i := snap.FirstUnseen(); i >= 0 {
			s.r.reset()
			s.write(s.r.raw("* OK [UNSEEN ").int(i + 1).raw("] First unseen").crlf().b)
		}
	}
	s.r.reset()
	s.write(s.r.raw("* OK [UIDVALIDITY ").num32(mb.UIDValidity).raw("] UIDs valid").crlf().b)
	s.r.reset()
	s.write(s.r.raw("* OK [UIDNEXT ").num32(uint32(mb.UIDNext)).raw("] Predicted next UID").crlf().b)
	s.r.reset()
	s.write(s.r.raw("* OK [HIGHESTMODSEQ ").num(uint64(mb.HighestModSeq)).raw("] Highest").crlf().b)
	if s.enabled.rev2 {
		s.r.reset()
		s.r.raw("* LIST (")
		if mb.SpecialUse != "" {
			s.r.raw(mb.SpecialUse)
		}
		s.write(s.r.raw(") \"/\" ").mailbox(mb.Name).crlf().b)
	}
}

// cmdClose is CLOSE (expunge \Deleted messages silently, RFC 9051
// §6.4.1) and UNSELECT (RFC 3691: without expunging).
func cmdClose(s *session, c *command) error {
	s.p.end()
	if !s.p.ok() {
		return nil
	}
	sel := s.sel
	s.sel = nil
	s.state = authenticated
	defer sel.close()
	if c.name == "CLOSE" && !sel.readOnly {
		if _, _, err := s.srv.opts.Mailboxes.Expunge(s.ctx(), s.acct.ID, sel.mb.ID, mailbox.AllUIDs, true); err != nil && !errors.Is(err, mailbox.ErrNotFound) {
			return err
		}
	}
	return nil
}

// cmdCreate is CREATE with the optional USE list (RFC 6154 §3).
func cmdCreate(s *session, c *command) error {
	p := &s.p
	p.sp()
	name := s.mailboxName()
	var uses []string
	if p.consume(' ') {
		p.list(false, func() {
			if !strings.EqualFold(p.atom(), "USE") {
				p.failf("Unknown CREATE parameter")
			}
			p.sp()
			p.list(true, func() {
				p.expect('\\')
				uses = append(uses, `\`+p.atom())
			})
		})
	}
	p.end()
	if !p.ok() {
		return nil
	}
	use := ""
	if len(uses) > 1 {
		return no("USEATTR", "Only one special use per mailbox")
	}
	if len(uses) == 1 {
		use = canonicalUse(uses[0])
		if use == "" {
			return no("USEATTR", "Unsupported special use")
		}
	}
	if mailbox.IsInbox(name) {
		return no("ALREADYEXISTS", "INBOX always exists")
	}
	_, err := s.srv.opts.Mailboxes.Create(s.ctx(), s.acct.ID, name, use)
	if errors.Is(err, mailbox.ErrInvalid) && use != "" {
		return no("USEATTR", "Unsupported special use")
	}
	return err
}

// canonicalUse spells a special-use attribute as RFC 6154 does, or "".
func canonicalUse(u string) string {
	for _, v := range []string{mailbox.SpecialAll, mailbox.SpecialArchive, mailbox.SpecialDrafts, mailbox.SpecialFlagged, mailbox.SpecialJunk, mailbox.SpecialSent, mailbox.SpecialTrash} {
		if strings.EqualFold(u, v) {
			return v
		}
	}
	return ""
}

func cmdDelete(s *session, c *command) error {
	p := &s.p
	p.sp()
	name := s.mailboxName()
	p.end()
	if !p.ok() {
		return nil
	}
	if err := s.srv.opts.Mailboxes.Delete(s.ctx(), s.acct.ID, name); err != nil {
		return err
	}
	if s.sel != nil {
		// If it was the selected mailbox, the sync after the command finds
		// out now rather than after the change feed has caught up.
		s.sel.ix.Refresh(s.ctx())
	}
	return nil
}

// cmdRename is RENAME (RFC 9051 §6.3.6): children follow; renaming INBOX
// moves its messages to the new mailbox.
func cmdRename(s *session, c *command) error {
	p := &s.p
	p.sp()
	from := s.mailboxName()
	p.sp()
	to := s.mailboxName()
	p.end()
	if !p.ok() {
		return nil
	}
	return s.srv.opts.Mailboxes.Rename(s.ctx(), s.acct.ID, from, to)
}

func cmdSubscribe(s *session, c *command) error {
	p := &s.p
	p.sp()
	name := s.mailboxName()
	p.end()
	if !p.ok() {
		return nil
	}
	return s.srv.opts.Mailboxes.Subscribe(s.ctx(), s.acct.ID, name, c.name == "SUBSCRIBE")
}

// statusItems are the STATUS data items asked for.
type statusItems []string

// statusAtts parses "(" status-att *(SP status-att) ")".
func (p *parser) statusAtts() statusItems {
	var items statusItems
	p.list(false, func() {
		a := strings.ToUpper(p.atom())
		switch a {
		case "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "SIZE", "HIGHESTMODSEQ", "DELETED":
			items = append(items, a)
		default:
			p.failf("Unknown STATUS item %q", truncate(a, 20))
		}
	})
	return items
}

// cmdStatus is STATUS (RFC 9051 §6.3.11).
func cmdStatus(s *session, c *command) error {
	p := &s.p
	p.sp()
	name := s.mailboxName()
	p.sp()
	items := p.statusAtts()
	p.end()
	if !p.ok() {
		return nil
	}
	mb, err := s.srv.opts.Mailboxes.Get(s.ctx(), s.acct.ID, name)
	if err != nil {
		return err
	}
	return s.writeStatus(mb, items)
}

// writeStatus sends one STATUS response from the mailbox row's counters;
// DELETED needs the flags, from the mailbox index.
func (s *session) writeStatus(mb mailbox.Mailbox, items statusItems) error {
	deleted := -1
	for _, it := range items {
		if it == "DELETED" {
			n, err := s.countDeleted(mb.ID)
			if err != nil {
				return err
			}
			deleted = n
		}
	}
	s.r.reset()
	s.r.raw("* STATUS ").mailbox(mb.Name).raw(" (")
	for i, it := range items {
		if i > 0 {
			s.r.sp()
		}
		s.r.raw(it).sp()
		switch it {
		case "MESSAGES":
			s.r.int(mb.Total)
		case "UIDNEXT":
			s.r.num32(uint32(mb.UIDNext))
		case "UIDVALIDITY":
			s.r.num32(mb.UIDValidity)
		case "UNSEEN":
			s.r.int(mb.Unseen)
		case "RECENT":
			s.r.int(0)
		case "SIZE":
			s.r.num(uint64(mb.Size))
		case "HIGHESTMODSEQ":
			s.r.num(uint64(mb.HighestModSeq))
		case "DELETED":
			s.r.int(deleted)
		}
	}
	s.write(s.r.raw(")").crlf().b)
	return nil
}

func (s *session) countDeleted(id mailbox.MailboxID) (int, error) {
	ix, err := s.srv.opts.Mailboxes.OpenIndex(s.ctx(), s.acct.ID, id)
	if err != nil {
		return 0, err
	}
	defer ix.Close()
	snap, err := ix.Snapshot(s.ctx())
	if err != nil {
		return 0, err
	}
	n := 0
	for i := 0; i < snap.Len(); i++ {
		if snap.Flags(i)&mailbox.FlagDeleted != 0 {
			n++
		}
	}
	return n, nil
}
