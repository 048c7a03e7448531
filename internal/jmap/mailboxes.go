package jmap

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"posthorn/internal/mailbox"
)

// Mailbox/get, /changes and /query (RFC 8621 §2). Mailbox/set is in
// mailbox_set.go.

// roles maps special-use attributes (RFC 6154) to JMAP roles (RFC 8621 §2:
// the IANA "IMAP Mailbox Name Attributes" in lower case).
var roles = map[string]string{
	mailbox.SpecialAll: "all", mailbox.SpecialArchive: "archive", mailbox.SpecialDrafts: "drafts",
	mailbox.SpecialFlagged: "flagged", mailbox.SpecialJunk: "junk", mailbox.SpecialSent: "sent", mailbox.SpecialTrash: "trash",
}

// roleOrder gives role mailboxes a sortOrder that lists them first, in
// the order mail clients show them.
var roleOrder = map[string]int{"inbox": 1, "drafts": 2, "sent": 3, "archive": 4, "junk": 5, "trash": 6, "all": 7, "flagged": 8}

func roleOf(m mailbox.Mailbox) string {
	if m.Name == mailbox.InboxName {
		return "inbox"
	}
	return roles[m.SpecialUse]
}

func specialUseOf(role string) (string, bool) {
	for su, r := range roles {
		if r == role {
			return su, true
		}
	}
	return "", false
}

// tree knows the parent of each mailbox: the nearest ancestor by name
// that exists (IMAP may leave a child whose parent was deleted).
type tree struct {
	byName map[string]mailbox.Mailbox
	byID   map[mailbox.MailboxID]mailbox.Mailbox
}

func newTree(mbs []mailbox.Mailbox) tree {
	t := tree{byName: map[string]mailbox.Mailbox{}, byID: map[mailbox.MailboxID]mailbox.Mailbox{}}
	for _, m := range mbs {
		t.byName[m.Name] = m
		t.byID[m.ID] = m
	}
	return t
}

// parent returns the parent mailbox and the JMAP name (the part of the
// full name below the parent).
func (t tree) parent(m mailbox.Mailbox) (mailbox.Mailbox, bool, string) {
	ps := mailbox.ParentNames(m.Name)
	for i := len(ps) - 1; i >= 0; i-- {
		if p, ok := t.byName[ps[i]]; ok {
			return p, true, m.Name[len(ps[i])+1:]
		}
	}
	return mailbox.Mailbox{}, false, m.Name
}

// hasChild reports whether any mailbox lies below m.
func (t tree) hasChild(m mailbox.Mailbox) bool {
	prefix := m.Name + mailbox.HierarchySeparator
	for name := range t.byName {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

type rights struct {
	MayReadItems   bool `json:"mayReadItems"`
	MayAddItems    bool `json:"mayAddItems"`
	MayRemoveItems bool `json:"mayRemoveItems"`
	MaySetSeen     bool `json:"maySetSeen"`
	MaySetKeywords bool `json:"maySetKeywords"`
	MayCreateChild bool `json:"mayCreateChild"`
	MayRename      bool `json:"mayRename"`
	MayDelete      bool `json:"mayDelete"`
	MaySubmit      bool `json:"maySubmit"`
}

var mailboxProps = []string{"id", "name", "parentId", "role", "sortOrder", "totalEmails", "unreadEmails",
	"totalThreads", "unreadThreads", "myRights", "isSubscribed"}

// mailboxObject renders the requested properties of a mailbox.
func (cc *call) mailboxObject(t tree, m mailbox.Mailbox, props []string) (map[string]any, error) {
	o := map[string]any{"id": mailboxID(m.ID)}
	role := roleOf(m)
	for _, p := range props {
		switch p {
		case "name":
			_, _, o[p] = t.parent(m)
		case "parentId":
			if par, ok, _ := t.parent(m); ok {
				o[p] = mailboxID(par.ID)
			} else {
				o[p] = nil
			}
		case "role":
			o[p] = nullIfEmpty(role)
		case "sortOrder":
			o[p] = sortOrderOf(role)
		case "totalEmails":
			o[p] = m.Total
		case "unreadEmails":
			o[p] = m.Unseen
		case "totalThreads", "unreadThreads":
			total, unread, err := cc.s.threadCounts(cc.ctx, cc.ai.account, m)
			if err != nil {
				return nil, err
			}
			o["totalThreads"], o["unreadThreads"] = total, unread
		case "myRights":
			inbox := m.Name == mailbox.InboxName
			o[p] = rights{true, true, true, true, true, true, !inbox, !inbox, true}
		case "isSubscribed":
			o[p] = m.Subscribed
		}
	}
	return o, nil
}

func sortOrderOf(role string) int {
	if n, ok := roleOrder[role]; ok {
		return n
	}
	return 10
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// readState returns the account's state and mailboxes, read in one
// snapshot.
func (cc *call) readState() (state, []mailbox.Mailbox, error) {
	ms, mbs, err := cc.s.mbs.AccountState(cc.ctx, cc.ai.account)
	if err != nil {
		return state{}, nil, err
	}
	return newState(ms, mbs), mbs, nil
}

// getArgs are the arguments of every /get (RFC 8620 §5.1).
type getArgs struct {
	AccountID  string    `json:"accountId"`
	IDs        *[]string `json:"ids"`
	Properties *[]string `json:"properties"`
}

// checkProps resolves the properties argument against the known ones;
// "id" is always returned.
func checkProps(p *[]string, known, def []string) ([]string, error) {
	if p == nil {
		return def, nil
	}
	for _, x := range *p {
		if !slices.Contains(known, x) {
			return nil, invalidArgs("unknown property %q", x)
		}
	}
	return *p, nil
}

type getResponse struct {
	AccountID string   `json:"accountId"`
	State     string   `json:"state"`
	List      []any    `json:"list"`
	NotFound  []string `json:"notFound"`
}

func (cc *call) mailboxGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	props, err := checkProps(a.Properties, mailboxProps, mailboxProps)
	if err != nil {
		return nil, err
	}
	if a.IDs != nil && len(*a.IDs) > cc.s.o.MaxObjectsInGet {
		return nil, mErr(errRequestTooLarge, "at most %d ids", cc.s.o.MaxObjectsInGet)
	}
	st, mbs, err := cc.readState()
	if err != nil {
		return nil, err
	}
	t := newTree(mbs)
	res := getResponse{AccountID: a.AccountID, State: st.String(), List: []any{}, NotFound: []string{}}
	want := mbs
	if a.IDs != nil {
		want = nil
		for _, raw := range *a.IDs {
			id, _ := cc.resolve(raw)
			mid, ok := parseMailboxID(id)
			m, found := t.byID[mid]
			if !ok || !found {
				res.NotFound = append(res.NotFound, raw)
				continue
			}
			want = append(want, m)
		}
	}
	for _, m := range want {
		o, err := cc.mailboxObject(t, m, props)
		if err != nil {
			return nil, err
		}
		res.List = append(res.List, o)
	}
	return res, nil
}

// changesArgs are the arguments of every /changes (RFC 8620 §5.2).
type changesArgs struct {
	AccountID  string `json:"accountId"`
	SinceState string `json:"sinceState"`
	MaxChanges *int   `json:"maxChanges"`
}

type changesResponse struct {
	AccountID         string    `json:"accountId"`
	OldState          string    `json:"oldState"`
	NewState          string    `json:"newState"`
	HasMoreChanges    bool      `json:"hasMoreChanges"`
	Created           []string  `json:"created"`
	Updated           []string  `json:"updated"`
	Destroyed         []string  `json:"destroyed"`
	UpdatedProperties *[]string `json:"updatedProperties,omitempty"`
}

// parseChanges checks the common /changes arguments.
func (cc *call) parseChanges(raw json.RawMessage) (changesArgs, state, error) {
	var a changesArgs
	if err := decode(raw, &a); err != nil {
		return a, state{}, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return a, state{}, err
	}
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return a, state{}, invalidArgs("maxChanges must be positive")
	}
	old, ok := parseState(a.SinceState)
	if !ok {
		return a, state{}, mErr(errCannotCalculate, "unknown state %q", a.SinceState)
	}
	return a, old, nil
}

var countProps = []string{"totalEmails", "unreadEmails", "totalThreads", "unreadThreads"}

// mailboxChanges compares the mailboxes now with the token's list and
// MODSEQ (RFC 8621 §2.2). A mailbox whose row changed is updated in full;
// one that only gained or lost messages is updated in its counts, which
// updatedProperties says when that is all that changed.
func (cc *call) mailboxChanges(raw json.RawMessage) (any, error) {
	a, old, err := cc.parseChanges(raw)
	if err != nil {
		return nil, err
	}
	cur, mbs, err := cc.readState()
	if err != nil {
		return nil, err
	}
	if old.modseq > cur.modseq {
		return nil, mErr(errCannotCalculate, "state %q is from the future", a.SinceState)
	}
	res := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: cur.String(),
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	countsOnly := true
	for _, m := range mbs {
		switch {
		case !old.has(m.ID):
			res.Created = append(res.Created, mailboxID(m.ID))
		case m.ModSeq > old.modseq:
			res.Updated = append(res.Updated, mailboxID(m.ID))
			countsOnly = false
		case m.HighestModSeq > old.modseq:
			res.Updated = append(res.Updated, mailboxID(m.ID))
		}
	}
	gone := old.goneSince(mbs)
	for _, id := range gone {
		res.Destroyed = append(res.Destroyed, mailboxID(id))
	}
	if len(gone) > 0 {
		// A child of a destroyed mailbox has a new parent; its own row
		// did not change, so report every nested mailbox.
		countsOnly = false
		for _, m := range mbs {
			if old.has(m.ID) && strings.Contains(m.Name, mailbox.HierarchySeparator) && !slices.Contains(res.Updated, mailboxID(m.ID)) {
				res.Updated = append(res.Updated, mailboxID(m.ID))
			}
		}
	}
	if countsOnly && len(res.Updated) > 0 {
		props := slices.Clone(countProps)
		res.UpdatedProperties = &props
	}
	if n := len(res.Created) + len(res.Updated) + len(res.Destroyed); a.MaxChanges != nil && n > *a.MaxChanges {
		// The token cannot hold a half-applied list of mailbox changes;
		// mailbox lists are small, so the client fetches them anew.
		return nil, mErr(errCannotCalculate, "%d mailbox changes exceed maxChanges; fetch all mailboxes", n)
	}
	return res, nil
}

// mailboxCondition is a Mailbox/query FilterCondition (RFC 8621 §2.3).
type mailboxCondition struct {
	ParentID     json.RawMessage `json:"parentId"` // null (top level) differs from absent
	Name         *string         `json:"name"`
	Role         json.RawMessage `json:"role"`
	HasAnyRole   *bool           `json:"hasAnyRole"`
	IsSubscribed *bool           `json:"isSubscribed"`
}

type queryArgs struct {
	AccountID      string          `json:"accountId"`
	Filter         json.RawMessage `json:"filter"`
	Sort           []comparator    `json:"sort"`
	Position       int             `json:"position"`
	Anchor         *string         `json:"anchor"`
	AnchorOffset   int             `json:"anchorOffset"`
	Limit          *int            `json:"limit"`
	CalculateTotal bool            `json:"calculateTotal"`
	// Mailbox/query (RFC 8621 §2.3)
	SortAsTree   bool `json:"sortAsTree"`
	FilterAsTree bool `json:"filterAsTree"`
	// Email/query (RFC 8621 §4.4)
	CollapseThreads bool `json:"collapseThreads"`
}

type queryResponse struct {
	AccountID           string   `json:"accountId"`
	QueryState          string   `json:"queryState"`
	CanCalculateChanges bool     `json:"canCalculateChanges"`
	Position            int      `json:"position"`
	IDs                 []string `json:"ids"`
	Total               *int     `json:"total,omitempty"`
	Limit               *int     `json:"limit,omitempty"`
}

// mailboxQuery filters and sorts the account's mailboxes in memory: an
// account has few.
func (cc *call) mailboxQuery(raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	if a.CollapseThreads {
		return nil, invalidArgs("collapseThreads is an Email/query argument")
	}
	f, err := parseFilter(a.Filter)
	if err != nil {
		return nil, err
	}
	st, mbs, err := cc.readState()
	if err != nil {
		return nil, err
	}
	t := newTree(mbs)
	var out []mailbox.Mailbox
	for _, m := range mbs {
		ok, err := cc.mailboxMatches(t, m, f)
		if err != nil {
			return nil, err
		}
		if ok && (!a.FilterAsTree || cc.ancestorsMatch(t, m, f)) {
			out = append(out, m)
		}
	}
	if err := sortMailboxes(t, out, a.Sort, a.SortAsTree); err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i, m := range out {
		ids[i] = mailboxID(m.ID)
	}
	return window(a, ids, st.String())
}

// ancestorsMatch implements filterAsTree: a mailbox is in the results
// only if all its ancestors are too.
func (cc *call) ancestorsMatch(t tree, m mailbox.Mailbox, f *filterNode) bool {
	for p, ok, _ := t.parent(m); ok; p, ok, _ = t.parent(p) {
		if match, err := cc.mailboxMatches(t, p, f); err != nil || !match {
			return false
		}
	}
	return true
}

func (cc *call) mailboxMatches(t tree, m mailbox.Mailbox, f *filterNode) (bool, error) {
	if f == nil {
		return true, nil
	}
	if f.op != "" {
		return evalOp(f, func(c *filterNode) (bool, error) { return cc.mailboxMatches(t, m, c) })
	}
	var c mailboxCondition
	if err := decode(f.cond, &c); err != nil {
		return false, mErr(errUnsupportedFilter, "unsupported Mailbox filter: %v", err)
	}
	par, hasPar, name := t.parent(m)
	if c.ParentID != nil {
		var want *string
		if err := json.Unmarshal(c.ParentID, &want); err != nil {
			return false, invalidArgs("parentId must be an id or null")
		}
		if want == nil && hasPar || want != nil && (!hasPar || mailboxID(par.ID) != *want) {
			return false, nil
		}
	}
	if c.Name != nil && !strings.Contains(strings.ToLower(name), strings.ToLower(*c.Name)) {
		return false, nil
	}
	role := roleOf(m)
	if c.Role != nil {
		var want *string
		if err := json.Unmarshal(c.Role, &want); err != nil {
			return false, invalidArgs("role must be a string or null")
		}
		if want == nil && role != "" || want != nil && role != *want {
			return false, nil
		}
	}
	if c.HasAnyRole != nil && *c.HasAnyRole != (role != "") {
		return false, nil
	}
	if c.IsSubscribed != nil && *c.IsSubscribed != m.Subscribed {
		return false, nil
	}
	return true, nil
}

// evalOp evaluates an operator node with fn for the children.
func evalOp(f *filterNode, fn func(*filterNode) (bool, error)) (bool, error) {
	for _, c := range f.children {
		ok, err := fn(c)
		if err != nil {
			return false, err
		}
		switch {
		case f.op == "AND" && !ok:
			return false, nil
		case f.op == "OR" && ok:
			return true, nil
		case f.op == "NOT" && ok:
			return false, nil
		}
	}
	return f.op != "OR", nil
}

func sortMailboxes(t tree, mbs []mailbox.Mailbox, sort []comparator, asTree bool) error {
	for _, c := range sort {
		if c.Property != "sortOrder" && c.Property != "name" {
			return mErr(errUnsupportedSort, "cannot sort mailboxes by %q", c.Property)
		}
	}
	cmpOne := func(a, b mailbox.Mailbox) int {
		for _, c := range sort {
			var r int
			if c.Property == "name" {
				_, _, na := t.parent(a)
				_, _, nb := t.parent(b)
				r = cmp.Compare(strings.ToLower(na), strings.ToLower(nb))
			} else {
				r = cmp.Compare(sortOrderOf(roleOf(a)), sortOrderOf(roleOf(b)))
			}
			if !c.ascending() {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(a.ID, b.ID)
	}
	if !asTree {
		slices.SortStableFunc(mbs, cmpOne)
		return nil
	}
	// Depth first: each mailbox right after its parent, siblings sorted.
	in := map[mailbox.MailboxID]bool{}
	for _, m := range mbs {
		in[m.ID] = true
	}
	children := map[mailbox.MailboxID][]mailbox.Mailbox{}
	var roots []mailbox.Mailbox
	for _, m := range mbs {
		if p, ok, _ := t.parent(m); ok && in[p.ID] {
			children[p.ID] = append(children[p.ID], m)
		} else {
			roots = append(roots, m)
		}
	}
	out := mbs[:0:0]
	var walk func([]mailbox.Mailbox)
	walk = func(level []mailbox.Mailbox) {
		slices.SortStableFunc(level, cmpOne)
		for _, m := range level {
			out = append(out, m)
			walk(children[m.ID])
		}
	}
	walk(roots)
	copy(mbs, out)
	return nil
}

// window applies position, anchor and limit to a sorted id list
// (RFC 8620 §5.5).
func window(a queryArgs, ids []string, qstate string) (queryResponse, error) {
	res := queryResponse{AccountID: a.AccountID, QueryState: qstate, IDs: []string{}}
	pos := a.Position
	if a.Anchor != nil {
		i := slices.Index(ids, *a.Anchor)
		if i < 0 {
			return res, mErr(errAnchorNotFound, "anchor %q is not in the results", *a.Anchor)
		}
		pos = max(i+a.AnchorOffset, 0)
	} else if pos < 0 {
		pos = max(len(ids)+pos, 0)
	}
	pos = min(pos, len(ids))
	end := len(ids)
	if a.Limit != nil {
		if *a.Limit < 0 {
			return res, invalidArgs("limit must not be negative")
		}
		end = min(end, pos+*a.Limit)
	}
	res.Position = pos
	res.IDs = append(res.IDs, ids[pos:end]...)
	if a.CalculateTotal {
		n := len(ids)
		res.Total = &n
	}
	return res, nil
}
