package imapd

import (
	"strconv"
	"strings"

	"posthorn/internal/mailbox"
)

// FETCH and UID FETCH (RFC 9051 §6.4.5) with BINARY (RFC 3516) and the
// CONDSTORE/QRESYNC modifiers CHANGEDSINCE and VANISHED (RFC 7162 §3.1.4,
// §3.2.6). Flags and MODSEQ come from the mailbox index; envelope and
// structure from the Meta stored at delivery; body sections are cut from
// the stored message by the offsets in that structure (section.go).

type itemKind uint8

const (
	itemUID itemKind = iota
	itemFlags
	itemInternalDate
	itemSize
	itemEnvelope
	itemBody          // BODY: structure without extension data
	itemBodyStructure // BODYSTRUCTURE
	itemModSeq
	itemSection // BODY[...], BINARY[...], BINARY.SIZE[...], RFC822*
)

// fetchItem is one data item asked for.
type fetchItem struct {
	kind itemKind
	sec  section
}

// fetchReq is a parsed FETCH command.
type fetchReq struct {
	set          numSet
	items        []fetchItem
	changedSince mailbox.ModSeq
	vanished     bool
	setsSeen     bool // a non-PEEK body item: mark messages \Seen
	needRow      bool // internal date, size, envelope, structure or sections
}

func cmdFetch(s *session, c *command) error {
	p := &s.p
	p.sp()
	req := &fetchReq{set: p.numSet()}
	p.sp()
	req.parseItems(p)
	if p.consume(' ') {
		p.list(false, func() {
			switch strings.ToUpper(p.atom()) {
			case "CHANGEDSINCE":
				p.sp()
				req.changedSince = mailbox.ModSeq(p.number64())
			case "VANISHED":
				req.vanished = true
			default:
				p.failf("Unknown FETCH modifier")
			}
		})
	}
	p.end()
	if !p.ok() {
		return nil
	}
	if req.vanished && (!c.uid || !s.enabled.qresync || req.changedSince == 0) {
		return bad("VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE")
	}
	return s.fetch(c, req)
}

// parseItems reads a macro, one item, or a parenthesised list.
func (req *fetchReq) parseItems(p *parser) {
	if p.peek() == '(' {
		p.list(false, func() { req.parseItem(p) })
		return
	}
	switch a := strings.ToUpper(p.span(isAtomChar)); a {
	case "ALL", "FAST", "FULL":
		req.add(itemFlags)
		req.add(itemInternalDate)
		req.add(itemSize)
		if a != "FAST" {
			req.add(itemEnvelope)
		}
		if a == "FULL" {
			req.add(itemBody)
		}
	default:
		p.pos -= len(a)
		req.parseItem(p)
	}
}

func (req *fetchReq) add(k itemKind) { req.addItem(fetchItem{kind: k}) }

// addItem adds an item and notes what answering it needs.
func (req *fetchReq) addItem(it fetchItem) {
	req.items = append(req.items, it)
	if it.kind != itemUID && it.kind != itemFlags && it.kind != itemModSeq {
		req.needRow = true
	}
	if it.kind == itemSection && !it.sec.peek {
		req.setsSeen = true
	}
}

// parseItem reads one fetch-att.
func (req *fetchReq) parseItem(p *parser) {
	name := strings.ToUpper(p.span(func(c byte) bool { return isAtomChar(c) && c != '[' && c != '<' }))
	switch name {
	case "UID":
		req.add(itemUID)
	case "FLAGS":
		req.add(itemFlags)
	case "INTERNALDATE":
		req.add(itemInternalDate)
	case "RFC822.SIZE":
		req.add(itemSize)
	case "ENVELOPE":
		req.add(itemEnvelope)
	case "BODYSTRUCTURE":
		req.add(itemBodyStructure)
	case "MODSEQ":
		req.add(itemModSeq)
	case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
		sec := section{name: name, peek: name == "RFC822.HEADER"}
		switch name {
		case "RFC822.HEADER":
			sec.text = "HEADER"
		case "RFC822.TEXT":
			sec.text = "TEXT"
		}
		req.addItem(fetchItem{kind: itemSection, sec: sec})
	case "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		if name == "BODY" && p.peek() != '[' {
			req.add(itemBody)
			break
		}
		req.addItem(fetchItem{kind: itemSection, sec: p.section(name)})
	default:
		p.failf("Unknown FETCH item %q", truncate(name, 30))
	}
}

// fetch runs a parsed FETCH.
func (s *session) fetch(c *command, req *fetchReq) error {
	sel := s.sel
	uids, err := sel.resolve(req.set, c.uid)
	if err != nil {
		return err
	}
	if c.uid {
		req.items = append([]fetchItem{{kind: itemUID}}, req.items...)
	}
	if req.changedSince > 0 {
		s.useCondstore()
		req.add(itemModSeq)
	}
	for _, it := range req.items {
		if it.kind == itemModSeq {
			s.useCondstore()
		}
	}
	snap, err := sel.ix.Snapshot(s.ctx())
	if err != nil {
		return err
	}
	if req.vanished {
		if err := s.fetchVanished(req); err != nil {
			return err
		}
	}
	if req.changedSince > 0 {
		uids = changedAfter(snap, uids, req.changedSince)
	}
	if req.setsSeen && !sel.readOnly {
		if snap, err = s.markSeen(snap, uids); err != nil {
			return err
		}
		// RFC 9051 §6.4.5: the flags changed, so they are sent with the data.
		req.add(itemFlags)
	}
	req.dedupe()
	f := &fetcher{s: s, req: req, snap: snap}
	for start := 0; start < len(uids); start += fetchChunk {
		if err := f.chunk(uids[start:min(start+fetchChunk, len(uids))]); err != nil {
			return err
		}
	}
	if f.missing {
		s.code, s.text = "EXPUNGEISSUED", "Some messages were expunged meanwhile"
	}
	return nil
}

// fetchChunk is how many messages one store query reads.
const fetchChunk = 200

// useCondstore turns CONDSTORE on by use (RFC 7162 §3.1: a CONDSTORE-
// enabling command).
func (s *session) useCondstore() {
	s.enabled.condstore = true
	if s.sel != nil {
		s.sel.condstore = true
	}
}

// changedAfter keeps the UIDs whose MODSEQ is above since.
func changedAfter(snap *mailbox.Snapshot, uids []mailbox.UID, since mailbox.ModSeq) []mailbox.UID {
	out := uids[:0:0]
	for _, u := range uids {
		if i, ok := snap.Find(u); ok && snap.ModSeq(i) > since {
			out = append(out, u)
		}
	}
	return out
}

// markSeen sets \Seen on the messages a non-PEEK body fetch reads (RFC
// 9051 §6.4.5); their FETCH responses then carry the new flags.
func (s *session) markSeen(snap *mailbox.Snapshot, uids []mailbox.UID) (*mailbox.Snapshot, error) {
	var unseen []mailbox.UID
	for _, u := range uids {
		if i, ok := snap.Find(u); ok && snap.Flags(i)&mailbox.FlagSeen == 0 {
			unseen = append(unseen, u)
		}
	}
	if len(unseen) == 0 {
		return snap, nil
	}
	if s.reported == nil {
		s.reported = map[mailbox.UID]bool{}
	}
	for _, u := range unseen {
		s.reported[u] = true
	}
	for _, set := range s.sel.storeSets(unseen) {
		_, err := s.srv.opts.Mailboxes.UpdateFlags(s.ctx(), s.acct.ID, mailbox.FlagUpdate{
			MailboxID: s.sel.mb.ID, UIDs: set, Op: mailbox.FlagsAdd, Flags: mailbox.FlagSeen})
		if err != nil {
			return nil, err
		}
	}
	return s.sel.ix.Refresh(s.ctx())
}

// fetchVanished sends VANISHED (EARLIER) for the UIDs of the set that were
// expunged after CHANGEDSINCE (RFC 7162 §3.2.6).
func (s *session) fetchVanished(req *fetchReq) error {
	_, _, gone, err := s.srv.opts.Mailboxes.Changes(s.ctx(), s.acct.ID, s.sel.mb.ID, req.changedSince)
	if err != nil {
		return err
	}
	var keep []mailbox.Tombstone
	for _, t := range gone {
		if req.set.contains(t.UID, max(s.sel.maxUID(), t.UID)) {
			keep = append(keep, t)
		}
	}
	s.writeVanishedEarlier(s.sel, keep, nil)
	return nil
}

// fetcher writes the FETCH responses of one command.
type fetcher struct {
	s       *session
	req     *fetchReq
	snap    *mailbox.Snapshot
	missing bool
}

// chunk answers for some UIDs, reading their rows in one query.
func (f *fetcher) chunk(uids []mailbox.UID) error {
	s := f.s
	var rows []*mailbox.Cached
	if f.req.needRow {
		var err error
		if rows, err = s.sel.ix.Fetch(s.ctx(), uids, s.sel.storeSets); err != nil {
			return err
		}
	}
	ri := 0
	for _, uid := range uids {
		var row *mailbox.Cached
		if f.req.needRow {
			for ri < len(rows) && rows[ri].Msg.UID < uid {
				ri++
			}
			if ri >= len(rows) || rows[ri].Msg.UID != uid {
				f.missing = true
				continue
			}
			row = rows[ri]
		}
		i, ok := f.snap.Find(uid)
		if !ok {
			f.missing = true
			continue
		}
		if err := f.message(uid, i, row); err != nil {
			return err
		}
	}
	return nil
}

// message writes one FETCH response.
func (f *fetcher) message(uid mailbox.UID, i int, row *mailbox.Cached) error {
	m := &fetchMsg{f: f, uid: uid, i: i, row: row}
	defer m.close()
	// RFC 3516 §4.2: an unknown encoding fails the command; find out
	// before any output for this message.
	for _, it := range f.req.items {
		if it.kind == itemSection && it.sec.binary {
			meta, err := row.Meta()
			if err != nil {
				return err
			}
			if !binaryOK(it.sec, meta) {
				return no("UNKNOWN-CTE", "Unknown content transfer encoding")
			}
		}
	}
	r := &f.s.r
	r.reset()
	r.raw("* ").num32(f.s.sel.seqOf(uid)).raw(" FETCH (")
	for k, it := range f.req.items {
		if k > 0 {
			r.sp()
		}
		if err := m.item(it); err != nil {
			return err
		}
	}
	f.s.write(r.raw(")").crlf().b)
	return nil
}

// fetchMsg is one message being answered; its content is opened on
// first need.
type fetchMsg struct {
	f       *fetcher
	uid     mailbox.UID
	i       int // position in the snapshot
	row     *mailbox.Cached
	content *mailbox.Content
}

func (m *fetchMsg) close() {
	if m.content != nil {
		m.content.Close()
	}
}

// item writes one data item.
func (m *fetchMsg) item(it fetchItem) error {
	r, snap := &m.f.s.r, m.f.snap
	switch it.kind {
	case itemUID:
		r.raw("UID ").num32(uint32(m.uid))
		return nil
	case itemFlags:
		r.raw("FLAGS ")
		writeFlags(r, snap.Flags(m.i), snap.Keywords(m.i))
		return nil
	case itemModSeq:
		r.raw("MODSEQ (").num(uint64(snap.ModSeq(m.i))).byte(')')
		return nil
	case itemInternalDate:
		r.raw("INTERNALDATE ").dateTime(m.row.Msg.InternalDate)
		return nil
	case itemSize:
		r.raw("RFC822.SIZE ").num(uint64(m.row.Msg.Size))
		return nil
	}
	meta, err := m.row.Meta()
	if err != nil {
		return err
	}
	switch it.kind {
	case itemEnvelope:
		r.raw("ENVELOPE ")
		writeEnvelope(r, meta.Envelope)
	case itemBody:
		r.raw("BODY ")
		writeBody(r, meta.Structure, false)
	case itemBodyStructure:
		r.raw("BODYSTRUCTURE ")
		writeBody(r, meta.Structure, true)
	case itemSection:
		if m.content == nil {
			if m.content, err = m.f.s.srv.opts.Mailboxes.Open(m.f.s.ctx(), m.row.Msg); err != nil {
				return err
			}
		}
		return m.f.writeSection(it.sec, meta, m.content)
	}
	return nil
}

// dedupe drops repeated UID, FLAGS and MODSEQ items (a UID FETCH asks for
// UID implicitly, CHANGEDSINCE for MODSEQ; each is answered once).
func (req *fetchReq) dedupe() {
	seen := map[itemKind]bool{}
	out := req.items[:0]
	for _, it := range req.items {
		if it.kind == itemUID || it.kind == itemFlags || it.kind == itemModSeq {
			if seen[it.kind] {
				continue
			}
			seen[it.kind] = true
		}
		out = append(out, it)
	}
	req.items = out
}

// sectionName renders how a section is echoed in the response: BODY.PEEK
// is answered as BODY, and a partial fetch shows only its origin.
func (sec *section) responseName() string {
	var b strings.Builder
	switch {
	case strings.HasPrefix(sec.name, "RFC822"):
		return sec.name
	case sec.binary && sec.sizeOnly:
		b.WriteString("BINARY.SIZE[")
	case sec.binary:
		b.WriteString("BINARY[")
	default:
		b.WriteString("BODY[")
	}
	for i, n := range sec.part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if sec.text != "" {
		if len(sec.part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(sec.text)
		if sec.fields != nil {
			b.WriteString(" (")
			b.WriteString(strings.Join(sec.fieldNames, " "))
			b.WriteByte(')')
		}
	}
	b.WriteByte(']')
	if sec.partial {
		b.WriteByte('<')
		b.WriteString(strconv.FormatUint(sec.start, 10))
		b.WriteByte('>')
	}
	return b.String()
}
