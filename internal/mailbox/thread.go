package mailbox

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"posthorn/internal/store"
)

// THREAD (RFC 5256 §4): ORDEREDSUBJECT and REFERENCES over the summaries
// cache.

// Thread is one node of a thread tree: a message, or (UID 0) a
// placeholder for a missing message that ties its children together.
type Thread struct {
	UID      store.UID
	Children []*Thread
}

// ThreadOrderedSubject groups messages by base subject (RFC 5256 §4
// ORDEREDSUBJECT): threads in the order of their first message's date,
// the first message the parent of the others, all by date.
func (ix *Index) ThreadOrderedSubject(ctx context.Context, snap *Snapshot, uids []store.UID) ([]*Thread, error) {
	sum, err := ix.summariesOf(ctx, snap)
	if err != nil {
		return nil, err
	}
	groups := map[string][]*msgSummary{}
	var order []string
	for _, u := range uids {
		m := sum.find(u)
		if m == nil {
			continue
		}
		if _, ok := groups[m.baseSubject]; !ok {
			order = append(order, m.baseSubject)
		}
		groups[m.baseSubject] = append(groups[m.baseSubject], m)
	}
	var out []*Thread
	firsts := map[*Thread]*msgSummary{}
	for _, subj := range order {
		g := groups[subj]
		slices.SortStableFunc(g, byDate)
		t := &Thread{UID: g[0].uid}
		for _, m := range g[1:] {
			t.Children = append(t.Children, &Thread{UID: m.uid})
		}
		firsts[t] = g[0]
		out = append(out, t)
	}
	slices.SortStableFunc(out, func(a, b *Thread) int { return byDate(firsts[a], firsts[b]) })
	return out, nil
}

// byDate orders by the sent date (internal date when absent), then UID.
func byDate(a, b *msgSummary) int {
	if c := cmp.Compare(a.sentDate(), b.sentDate()); c != 0 {
		return c
	}
	return cmp.Compare(a.uid, b.uid)
}

// container is a node of the REFERENCES algorithm.
type container struct {
	m        *msgSummary // nil: a dummy
	parent   *container
	children []*container
}

// ThreadReferences threads messages by their References and In-Reply-To
// headers, then by subject (RFC 5256 §4 REFERENCES, steps 1 to 6).
func (ix *Index) ThreadReferences(ctx context.Context, snap *Snapshot, uids []store.UID) ([]*Thread, error) {
	sum, err := ix.summariesOf(ctx, snap)
	if err != nil {
		return nil, err
	}
	ids := map[string]*container{}
	var all []*container
	get := func(id string) *container {
		c := ids[id]
		if c == nil {
			c = &container{}
			ids[id] = c
			all = append(all, c)
		}
		return c
	}
	for _, u := range uids {
		m := sum.find(u)
		if m == nil {
			continue
		}
		linkMessage(m, get)
	}
	// Step 2: the root set; children lists from the parent links.
	var roots []*container
	for _, c := range all {
		if c.parent == nil {
			roots = append(roots, c)
		} else {
			c.parent.children = append(c.parent.children, c)
		}
	}
	roots = prune(roots, true)
	roots = groupBySubject(roots)
	return toThreads(sortContainers(roots)), nil
}

// linkMessage is step 1: the message gets a container (a fresh id if it
// has none or a duplicate one), its references are chained parent to
// child, and it becomes the child of its last reference.
func linkMessage(m *msgSummary, get func(string) *container) {
	id := m.messageID
	if id == "" {
		id = "\x00" + strconv.FormatUint(uint64(m.uid), 10)
	}
	c := get(id)
	if c.m != nil { // duplicate Message-ID: RFC 5256 gives it a unique one
		c = get("\x00dup" + strconv.FormatUint(uint64(m.uid), 10))
	}
	c.m = m
	refs := m.refs
	if len(refs) == 0 && m.inReplyTo != "" {
		refs = []string{m.inReplyTo}
	}
	var prev *container
	for _, r := range refs {
		rc := get(r)
		if prev != nil && rc.parent == nil && !reachable(prev, rc) && prev != rc {
			rc.parent = prev
		}
		prev = rc
	}
	c.parent = nil
	if prev != nil && prev != c && !reachable(prev, c) {
		c.parent = prev
	}
}

// reachable reports whether c is an ancestor of (or is) x: linking x under
// c's descendant would make a loop.
func reachable(x, c *container) bool {
	for p := x; p != nil; p = p.parent {
		if p == c {
			return true
		}
	}
	return false
}

// prune is step 4: dummies without children go; a dummy's children move up
// to its level, except at the root when there are several.
func prune(list []*container, root bool) []*container {
	var out []*container
	for _, c := range list {
		c.children = prune(c.children, false)
		if c.m != nil {
			out = append(out, c)
			continue
		}
		switch {
		case len(c.children) == 0:
		case !root || len(c.children) == 1:
			for _, k := range c.children {
				k.parent = c.parent
			}
			out = append(out, c.children...)
		default:
			out = append(out, c)
		}
	}
	return out
}

// subjectOf is the base subject a root is grouped by: its message's, or
// its first child's for a dummy.
func subjectOf(c *container) (*msgSummary, string) {
	m := c.m
	if m == nil && len(c.children) > 0 {
		m = c.children[0].m
	}
	if m == nil {
		return nil, ""
	}
	return m, m.baseSubject
}

// isReply reports whether the subject was a reply or forward: its base
// subject differs from the subject (RFC 5256 §2.1 removed "Re:" etc.).
func isReply(m *msgSummary) bool {
	return m != nil && strings.Join(strings.Fields(m.subject), " ") != m.baseSubject
}

// groupBySubject is step 5: roots with the same base subject are merged.
func groupBySubject(roots []*container) []*container {
	table := map[string]*container{}
	for _, c := range roots {
		m, subj := subjectOf(c)
		if subj == "" {
			continue
		}
		old, ok := table[subj]
		if !ok || (c.m == nil && old.m != nil) || (old.m != nil && isReply(old.m) && c.m != nil && !isReply(m)) {
			table[subj] = c
		}
	}
	var out []*container
	for _, c := range roots {
		m, subj := subjectOf(c)
		t := table[subj]
		if subj == "" || t == nil || t == c {
			out = append(out, c)
			continue
		}
		switch {
		case t.m == nil && c.m == nil:
			t.children = append(t.children, c.children...)
		case t.m == nil:
			t.children = append(t.children, c)
		case c.m != nil && !isReply(t.m) && isReply(m):
			t.children = append(t.children, c)
		default:
			// Both become children of a new dummy that takes t's place.
			d := &container{children: []*container{{m: t.m, children: t.children}, c}}
			*t = *d
		}
	}
	return out
}

// date is a container's date for sorting: its message's, or its first
// child's (children are sorted first).
func (c *container) date() *msgSummary {
	if c.m != nil {
		return c.m
	}
	if len(c.children) > 0 {
		return c.children[0].date()
	}
	return nil
}

// sortContainers is step 6: siblings by date, depth first.
func sortContainers(list []*container) []*container {
	for _, c := range list {
		c.children = sortContainers(c.children)
	}
	slices.SortStableFunc(list, func(a, b *container) int {
		ma, mb := a.date(), b.date()
		switch {
		case ma == nil && mb == nil:
			return 0
		case ma == nil:
			return -1
		case mb == nil:
			return 1
		}
		return byDate(ma, mb)
	})
	return list
}

func toThreads(list []*container) []*Thread {
	out := make([]*Thread, 0, len(list))
	for _, c := range list {
		t := &Thread{Children: toThreads(c.children)}
		if c.m != nil {
			t.UID = c.m.uid
		}
		out = append(out, t)
	}
	return out
}
