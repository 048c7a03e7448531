package imapd

import (
	"posthorn/internal/mailbox"
	"slices"
	"strings"
)

// LIST (RFC 9051 §6.3.9) with LIST-EXTENDED selection and return options
// (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154) and CHILDREN
// (RFC 3348); LSUB (RFC 3501 §6.3.9) for IMAP4rev1 clients.

// listOpts are the parsed options of one LIST command.
type listOpts struct {
	lsub       bool
	subscribed bool // select only subscribed mailboxes
	recursive  bool // RECURSIVEMATCH
	specialUse bool // select only special-use mailboxes
	retSubs    bool // return \Subscribed
	status     statusItems
	extended   bool // any LIST-EXTENDED syntax used
}

// maxPattern bounds a LIST pattern (names are at most 1000 octets).
const maxPattern = 1024

func cmdList(s *session, c *command) error {
	p := &s.p
	o := listOpts{lsub: c.name == "LSUB"}
	p.sp()
	if !o.lsub && p.peek() == '(' {
		o.extended = true
		p.list(true, func() {
			switch strings.ToUpper(p.atom()) {
			case "SUBSCRIBED":
				o.subscribed = true
			case "RECURSIVEMATCH":
				o.recursive = true
			case "SPECIAL-USE":
				o.specialUse = true
			case "REMOTE":
			default:
				p.failf("Unknown LIST selection option")
			}
		})
		p.sp()
		if o.recursive && !o.subscribed {
			p.failf("RECURSIVEMATCH needs another selection option")
		}
	}
	ref := p.astring()
	p.sp()
	var pats []string
	if !o.lsub && p.peek() == '(' {
		o.extended = true
		p.list(false, func() { pats = append(pats, p.listMailbox()) })
	} else {
		pats = append(pats, p.listMailbox())
	}
	if !o.lsub && p.consume(' ') {
		o.extended = true
		if !strings.EqualFold(p.atom(), "RETURN") {
			p.failf("Expected RETURN")
		}
		p.sp()
		p.list(true, func() {
			switch strings.ToUpper(p.atom()) {
			case "SUBSCRIBED":
				o.retSubs = true
			case "CHILDREN", "SPECIAL-USE":
			case "STATUS":
				p.sp()
				o.status = p.statusAtts()
			default:
				p.failf("Unknown LIST return option")
			}
		})
	}
	p.end()
	if !p.ok() {
		return nil
	}
	if o.subscribed {
		o.retSubs = true
	}
	return s.list(c, o, ref, pats)
}

// listEntry is one name LIST may return: a mailbox, or an ancestor of
// mailboxes that does not exist itself.
type listEntry struct {
	name        string
	mb          *mailbox.Mailbox // nil: does not exist
	children    bool
	subChildren bool // some descendant is subscribed
}

func (s *session) list(c *command, o listOpts, ref string, pats []string) error {
	if len(pats) == 1 && pats[0] == "" && !o.extended {
		// RFC 9051 §6.3.9: an empty name asks for the hierarchy delimiter.
		s.writeLine(`* ` + c.name + ` (\Noselect) "/" ""`)
		return nil
	}
	var matchers []string
	for _, pat := range pats {
		full := ref + pat
		if len(full) > maxPattern {
			return bad("Pattern too long")
		}
		dec := s.decodeName(full)
		if !s.p.ok() {
			return s.p.err
		}
		matchers = append(matchers, canonicalPattern(dec))
	}
	all, err := s.srv.opts.Mailboxes.List(s.ctx(), s.acct.ID)
	if err != nil {
		return err
	}
	for _, e := range listEntries(all) {
		if !matchAny(matchers, e.name) {
			continue
		}
		if err := s.listOne(c, o, e); err != nil {
			return err
		}
	}
	return nil
}

// listEntries returns every mailbox and every missing ancestor, sorted,
// with their child information.
func listEntries(all []mailbox.Mailbox) []listEntry {
	byName := make(map[string]int, len(all))
	var out []listEntry
	add := func(name string) int {
		if i, ok := byName[name]; ok {
			return i
		}
		byName[name] = len(out)
		out = append(out, listEntry{name: name})
		return len(out) - 1
	}
	for i := range all {
		out[add(all[i].Name)].mb = &all[i]
	}
	for i := range all {
		for _, parent := range mailbox.ParentNames(all[i].Name) {
			j := add(parent)
			out[j].children = true
			if all[i].Subscribed {
				out[j].subChildren = true
			}
		}
	}
	sortEntries(out)
	return out
}

func sortEntries(es []listEntry) {
	// INBOX first, then by name (clients show the order they get).
	slices.SortFunc(es, func(a, b listEntry) int {
		ai, bi := a.name == mailbox.InboxName, b.name == mailbox.InboxName
		switch {
		case ai && !bi:
			return -1
		case bi && !ai:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
}

// listOne writes the LIST (or LSUB) response for one entry, or nothing
// when the selection options leave it out.
func (s *session) listOne(c *command, o listOpts, e listEntry) error {
	subscribed := e.mb != nil && e.mb.Subscribed
	childInfo := false
	switch {
	case o.lsub || o.subscribed:
		if !subscribed {
			if !(o.recursive && e.subChildren) && !(o.lsub && e.subChildren) {
				return nil
			}
			childInfo = o.recursive
		}
	case e.mb == nil && !e.children:
		return nil
	}
	if o.specialUse && (e.mb == nil || e.mb.SpecialUse == "") {
		return nil
	}
	var attrs []string
	switch {
	case e.mb == nil && (s.enabled.rev2 || o.extended):
		attrs = append(attrs, `\NonExistent`)
	case e.mb == nil, o.lsub && !subscribed:
		attrs = append(attrs, `\Noselect`)
	}
	if !o.lsub {
		if e.children {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
		if subscribed && o.retSubs {
			attrs = append(attrs, `\Subscribed`)
		}
	}
	if e.mb != nil && e.mb.SpecialUse != "" {
		attrs = append(attrs, e.mb.SpecialUse)
	}
	s.r.reset()
	s.r.raw("* ").raw(c.name).raw(" (").raw(strings.Join(attrs, " ")).raw(`) "/" `).mailbox(e.name)
	if childInfo {
		s.r.raw(` ("CHILDINFO" ("SUBSCRIBED"))`)
	}
	s.write(s.r.crlf().b)
	if o.status != nil && e.mb != nil {
		// RFC 5819: the STATUS response follows the LIST response.
		return s.writeStatus(*e.mb, o.status)
	}
	return nil
}

// canonicalPattern spells a leading INBOX of a pattern in upper case, as
// mailbox names store it (INBOX is case-insensitive, RFC 9051 §5.1).
func canonicalPattern(p string) string {
	if len(p) >= 5 && strings.EqualFold(p[:5], "INBOX") && (len(p) == 5 || strings.ContainsRune("/*%", rune(p[5]))) {
		return "INBOX" + p[5:]
	}
	return p
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if matchPattern(p, name) {
			return true
		}
	}
	return false
}

// matchPattern matches a LIST pattern: "*" matches anything, "%" anything
// but the hierarchy separator (RFC 9051 §6.3.9). It runs in O(len(p) ×
// len(name)) time, so hostile patterns cannot make it backtrack.
func matchPattern(p, name string) bool {
	// cur[j]: p[:i] matches name[:j].
	cur := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	cur[0] = true
	for i := 0; i < len(p); i++ {
		for j := range next {
			next[j] = false
		}
		switch c := p[i]; c {
		case '*', '%':
			reach := false
			for j := 0; j <= len(name); j++ {
				if cur[j] {
					reach = true
				}
				next[j] = reach
				if c == '%' && j < len(name) && name[j] == '/' {
					reach = false
				}
			}
		default:
			for j := 0; j < len(name); j++ {
				if cur[j] && name[j] == c {
					next[j+1] = true
				}
			}
		}
		cur, next = next, cur
	}
	return cur[len(name)]
}
