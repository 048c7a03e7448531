package imapd

import (
	"slices"
	"strings"
	"time"

	"posthorn/internal/mailbox"
)

// SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4) with every
// search key of both, MODSEQ (RFC 7162 §3.1.5), ESEARCH result options
// (RFC 4731), SEARCHRES "$" (RFC 5182) and CHARSET. The criteria are
// evaluated by the mailbox service (mailbox/search.go).

// searchOpts are the RETURN options of an extended SEARCH.
type searchOpts struct {
	extended             bool // RETURN given (or IMAP4rev2): answer with ESEARCH
	min, max, all, count bool
	save                 bool
}

// maxSearchKeys bounds the keys of one search program.
const maxSearchKeys = 1000

// searchParser parses a search program into a mailbox.Criterion.
type searchParser struct {
	s          *session
	p          *parser
	uid        bool // UID SEARCH: the response is in UIDs
	keys       int
	usesModSeq bool
}

func cmdSearch(s *session, c *command) error {
	p := &s.p
	p.sp()
	var o searchOpts
	if strings.EqualFold(p.peekAtom(), "RETURN") {
		o = p.searchReturn()
		p.sp()
	}
	crit, usesModSeq := s.searchProgram(c.uid)
	p.end()
	if !p.ok() {
		return nil
	}
	if s.enabled.rev2 && !o.extended {
		o = searchOpts{extended: true, all: true}
	}
	uids, err := s.runSearch(crit)
	if err != nil {
		if o.save {
			s.sel.saved = nil // RFC 5182 §2.1: a failed SEARCH empties "$"
		}
		return err
	}
	if usesModSeq {
		s.useCondstore()
	}
	s.writeSearchResult(c, o, uids, usesModSeq)
	return nil
}

// searchReturn parses RETURN (...).
func (p *parser) searchReturn() searchOpts {
	o := searchOpts{extended: true}
	if !strings.EqualFold(p.atom(), "RETURN") {
		p.failf("Expected RETURN")
	}
	p.sp()
	p.list(true, func() {
		switch strings.ToUpper(p.atom()) {
		case "MIN":
			o.min = true
		case "MAX":
			o.max = true
		case "ALL":
			o.all = true
		case "COUNT":
			o.count = true
		case "SAVE":
			o.save = true
		default:
			p.failf("Unknown SEARCH return option")
		}
	})
	if !o.min && !o.max && !o.count && !o.save {
		o.all = true // RFC 4731 §3.1: RETURN () means RETURN (ALL)
	}
	return o
}

// searchProgram parses [CHARSET x] key *(SP key) (and for SORT and THREAD
// the charset is given by the caller).
func (s *session) searchProgram(uid bool) (*mailbox.Criterion, bool) {
	p := &s.p
	sp := &searchParser{s: s, p: p, uid: uid}
	if a := p.peekAtom(); strings.EqualFold(a, "CHARSET") {
		p.atom()
		p.sp()
		sp.charset(p.astring())
		p.sp()
	}
	return sp.program(), sp.usesModSeq
}

// programWithCharset parses charset SP key *(SP key) (SORT, THREAD).
func (s *session) programWithCharset(uid bool) (*mailbox.Criterion, bool) {
	p := &s.p
	sp := &searchParser{s: s, p: p, uid: uid}
	sp.charset(p.astring())
	p.sp()
	return sp.program(), sp.usesModSeq
}

// charset accepts the charsets search strings may use (RFC 9051 §6.4.4:
// US-ASCII and UTF-8 must be supported; we support just those).
func (sp *searchParser) charset(cs string) {
	switch strings.ToUpper(cs) {
	case "UTF-8", "US-ASCII":
	default:
		sp.p.fail(no("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset"))
	}
}

// peekAtom returns the atom at the current position without consuming it.
func (p *parser) peekAtom() string {
	if p.err != nil {
		return ""
	}
	end := p.pos
	for end < len(p.line) && isAtomChar(p.line[end]) {
		end++
	}
	return string(p.line[p.pos:end])
}

// program parses key *(SP key): an implicit AND.
func (sp *searchParser) program() *mailbox.Criterion {
	and := &mailbox.Criterion{Kind: mailbox.CritAnd}
	for sp.p.ok() {
		and.Sub = append(and.Sub, sp.key())
		if !sp.p.consume(' ') {
			break
		}
	}
	if len(and.Sub) == 1 {
		return and.Sub[0]
	}
	return and
}

// key parses one search-key.
func (sp *searchParser) key() *mailbox.Criterion {
	p := sp.p
	if sp.keys++; sp.keys > maxSearchKeys {
		p.failf("Search program too long")
		return &mailbox.Criterion{}
	}
	switch c := p.peek(); {
	case c == '(':
		and := &mailbox.Criterion{Kind: mailbox.CritAnd}
		p.list(false, func() { and.Sub = append(and.Sub, sp.key()) })
		return and
	case c == '*' || c == '$' || (c >= '0' && c <= '9'):
		return sp.uidCrit(p.numSet(), false)
	}
	name := strings.ToUpper(p.atom())
	if k, ok := flagKeys[name]; ok {
		return &mailbox.Criterion{Kind: k.kind, Flag: k.flag}
	}
	switch name {
	case "ALL", "OLD":
		return &mailbox.Criterion{Kind: mailbox.CritAll}
	case "RECENT", "NEW":
		// \Recent is not kept (no message is recent), so NEW (= RECENT
		// UNSEEN) matches nothing either.
		return &mailbox.Criterion{Kind: mailbox.CritNone}
	case "KEYWORD", "UNKEYWORD":
		p.sp()
		k := mailbox.CritKeyword
		if name == "UNKEYWORD" {
			k = mailbox.CritNoKeyword
		}
		return &mailbox.Criterion{Kind: k, Keyword: p.atom()}
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		p.sp()
		return &mailbox.Criterion{Kind: mailbox.CritHeader, Header: strings.ToLower(name), Text: p.astring()}
	case "HEADER":
		p.sp()
		field := p.astring()
		p.sp()
		return &mailbox.Criterion{Kind: mailbox.CritHeader, Header: field, Text: p.astring()}
	case "BODY", "TEXT":
		p.sp()
		k := mailbox.CritBody
		if name == "TEXT" {
			k = mailbox.CritText
		}
		return &mailbox.Criterion{Kind: k, Text: p.astring()}
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		p.sp()
		return &mailbox.Criterion{Kind: dateKeys[name], Day: p.searchDate()}
	case "LARGER", "SMALLER":
		p.sp()
		k := mailbox.CritLarger
		if name == "SMALLER" {
			k = mailbox.CritSmaller
		}
		return &mailbox.Criterion{Kind: k, Size: int64(p.number64())}
	case "UID":
		p.sp()
		return sp.uidCrit(p.numSet(), true)
	case "NOT":
		p.sp()
		return &mailbox.Criterion{Kind: mailbox.CritNot, Sub: []*mailbox.Criterion{sp.key()}}
	case "OR":
		p.sp()
		a := sp.key()
		p.sp()
		return &mailbox.Criterion{Kind: mailbox.CritOr, Sub: []*mailbox.Criterion{a, sp.key()}}
	case "MODSEQ":
		return sp.modseq()
	}
	p.failf("Unknown search key %q", truncate(name, 30))
	return &mailbox.Criterion{}
}

var flagKeys = map[string]struct {
	kind mailbox.CritKind
	flag mailbox.Flags
}{
	"ANSWERED": {mailbox.CritFlag, mailbox.FlagAnswered}, "UNANSWERED": {mailbox.CritNoFlag, mailbox.FlagAnswered},
	"DELETED": {mailbox.CritFlag, mailbox.FlagDeleted}, "UNDELETED": {mailbox.CritNoFlag, mailbox.FlagDeleted},
	"DRAFT": {mailbox.CritFlag, mailbox.FlagDraft}, "UNDRAFT": {mailbox.CritNoFlag, mailbox.FlagDraft},
	"FLAGGED": {mailbox.CritFlag, mailbox.FlagFlagged}, "UNFLAGGED": {mailbox.CritNoFlag, mailbox.FlagFlagged},
	"SEEN": {mailbox.CritFlag, mailbox.FlagSeen}, "UNSEEN": {mailbox.CritNoFlag, mailbox.FlagSeen},
}

var dateKeys = map[string]mailbox.CritKind{
	"BEFORE": mailbox.CritBefore, "ON": mailbox.CritOn, "SINCE": mailbox.CritSince,
	"SENTBEFORE": mailbox.CritSentBefore, "SENTON": mailbox.CritSentOn, "SENTSINCE": mailbox.CritSentSince,
}

// modseq parses MODSEQ [entry-name entry-type] value (RFC 7162 §3.1.5);
// we keep one MODSEQ per message, so the entry is accepted and ignored.
func (sp *searchParser) modseq() *mailbox.Criterion {
	p := sp.p
	p.sp()
	if p.peek() == '"' {
		p.quoted()
		p.sp()
		switch strings.ToLower(p.atom()) {
		case "priv", "shared", "all":
		default:
			p.failf("Invalid MODSEQ entry type")
		}
		p.sp()
	}
	sp.usesModSeq = true
	return &mailbox.Criterion{Kind: mailbox.CritModSeq, ModSeq: mailbox.ModSeq(p.number64())}
}

// uidCrit turns a message set into a UID criterion on the current view.
func (sp *searchParser) uidCrit(set numSet, uid bool) *mailbox.Criterion {
	if !sp.p.ok() {
		return &mailbox.Criterion{}
	}
	uids := sp.s.sel.resolveLenient(set, uid)
	return &mailbox.Criterion{Kind: mailbox.CritUIDs, UIDs: uids}
}

// searchDate parses date = date-text / DQUOTE date-text DQUOTE, with
// date-text = date-day "-" date-month "-" date-year.
func (p *parser) searchDate() time.Time {
	var s string
	if p.peek() == '"' {
		s = p.quoted()
	} else {
		s = p.span(func(c byte) bool { return isAtomChar(c) })
	}
	if !p.ok() {
		return time.Time{}
	}
	t, err := time.Parse("2-Jan-2006", s)
	if err != nil {
		p.failf("Invalid date %q", truncate(s, 30))
	}
	return t
}

// resolveLenient is resolve for search keys: numbers beyond the mailbox
// match nothing instead of failing the command.
func (sel *selection) resolveLenient(set numSet, uid bool) []mailbox.UID {
	if !uid && !set.saved {
		n := uint32(len(sel.uids))
		clamped := numSet{}
		for _, r := range set.ranges {
			lo, hi := r.lo, r.hi
			if lo == 0 {
				lo = n
			}
			if hi == 0 {
				hi = n
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			if lo == 0 || lo > n {
				continue
			}
			clamped.ranges = append(clamped.ranges, numRange{lo, min(hi, n)})
		}
		set = clamped
	}
	uids, _ := sel.resolve(set, uid)
	return uids
}

// runSearch evaluates a criterion over the messages of the view.
func (s *session) runSearch(crit *mailbox.Criterion) ([]mailbox.UID, error) {
	sel := s.sel
	snap, err := sel.ix.Snapshot(s.ctx())
	if err != nil {
		return nil, err
	}
	return sel.ix.Search(s.ctx(), snap, sel.uids, crit)
}

// highestModSeq is the highest MODSEQ of some messages.
func highestModSeq(snap *mailbox.Snapshot, uids []mailbox.UID) mailbox.ModSeq {
	var h mailbox.ModSeq
	for _, u := range uids {
		if i, ok := snap.Find(u); ok {
			h = max(h, snap.ModSeq(i))
		}
	}
	return h
}

// writeSearchResult answers with SEARCH (IMAP4rev1) or ESEARCH (RFC 4731,
// RFC 9051 §7.3.4) and saves the result for "$" when asked.
func (s *session) writeSearchResult(c *command, o searchOpts, uids []mailbox.UID, withModSeq bool) {
	sel := s.sel
	if o.save {
		switch {
		case o.all || o.count || (!o.min && !o.max):
			sel.saved = slices.Clone(uids)
		case len(uids) == 0:
			sel.saved = nil
		default:
			// RFC 5182 §2.4: with only MIN and/or MAX, those are saved.
			var keep []mailbox.UID
			if o.min {
				keep = append(keep, uids[0])
			}
			if o.max && (!o.min || len(uids) > 1) {
				keep = append(keep, uids[len(uids)-1])
			}
			sel.saved = keep
		}
	}
	var highest mailbox.ModSeq
	if withModSeq && len(uids) > 0 {
		snap := sel.synced
		if cur := sel.ix.Current(); cur != nil {
			snap = cur
		}
		highest = highestModSeq(snap, uids)
	}
	nums := uids
	if !c.uid {
		nums = make([]mailbox.UID, 0, len(uids))
		for _, u := range uids {
			nums = append(nums, mailbox.UID(sel.seqOf(u)))
		}
	}
	r := &s.r
	r.reset()
	if !o.extended {
		r.raw("* SEARCH")
		for _, n := range nums {
			r.sp().num32(uint32(n))
		}
		if highest > 0 {
			r.raw(" (MODSEQ ").num(uint64(highest)).byte(')')
		}
		s.write(r.crlf().b)
		return
	}
	if o.save && !o.min && !o.max && !o.count && !o.all {
		return // RFC 5182 §2.1: RETURN (SAVE) alone sends no ESEARCH
	}
	r.raw("* ESEARCH (TAG ").str(c.tag).byte(')')
	if c.uid {
		r.raw(" UID")
	}
	if len(nums) > 0 {
		if o.min {
			r.raw(" MIN ").num32(uint32(nums[0]))
		}
		if o.max {
			r.raw(" MAX ").num32(uint32(nums[len(nums)-1]))
		}
		if o.all {
			r.raw(" ALL ")
			writeUIDSet(r, nums)
		}
	}
	if o.count {
		r.raw(" COUNT ").int(len(nums))
	}
	if highest > 0 {
		r.raw(" MODSEQ ").num(uint64(highest))
	}
	s.write(r.crlf().b)
}
