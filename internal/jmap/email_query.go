package jmap

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"posthorn/internal/mailbox"
)

// Email/query and Email/queryChanges (RFC 8621 §4.4, §4.5; RFC 8620 §5.5,
// §5.6). The store answers the query with indexes (store.Querier); this
// file turns JMAP filters and sorts into a mailbox.MessageQuery.

// maxQueryLimit caps the ids one Email/query returns; the response says
// so in "limit" when it applied (RFC 8620 §5.5).
const maxQueryLimit = 5000

// emailCondition is an Email FilterCondition (RFC 8621 §4.4.1).
type emailCondition struct {
	InMailbox               *string   `json:"inMailbox"`
	InMailboxOtherThan      *[]string `json:"inMailboxOtherThan"`
	Before                  *string   `json:"before"`
	After                   *string   `json:"after"`
	MinSize                 *int64    `json:"minSize"`
	MaxSize                 *int64    `json:"maxSize"`
	AllInThreadHaveKeyword  *string   `json:"allInThreadHaveKeyword"`
	SomeInThreadHaveKeyword *string   `json:"someInThreadHaveKeyword"`
	NoneInThreadHaveKeyword *string   `json:"noneInThreadHaveKeyword"`
	HasKeyword              *string   `json:"hasKeyword"`
	NotKeyword              *string   `json:"notKeyword"`
	HasAttachment           *bool     `json:"hasAttachment"`
	Text                    *string   `json:"text"`
	From                    *string   `json:"from"`
	To                      *string   `json:"to"`
	Cc                      *string   `json:"cc"`
	Bcc                     *string   `json:"bcc"`
	Subject                 *string   `json:"subject"`
	Body                    *string   `json:"body"`
	Header                  *[]string `json:"header"`
}

// storeFilter converts a filter tree.
func (cc *call) storeFilter(f *filterNode) (*mailbox.MessageFilter, error) {
	if f == nil {
		return nil, nil
	}
	if f.op != "" {
		sf := &mailbox.MessageFilter{Op: map[string]mailbox.FilterOp{"AND": mailbox.FilterAnd, "OR": mailbox.FilterOr, "NOT": mailbox.FilterNot}[f.op]}
		for _, c := range f.children {
			child, err := cc.storeFilter(c)
			if err != nil {
				return nil, err
			}
			sf.Children = append(sf.Children, *child)
		}
		return sf, nil
	}
	var c emailCondition
	if err := strictUnmarshal(f.cond, &c); err != nil {
		return nil, mErr(errUnsupportedFilter, "unsupported Email filter: %v", err)
	}
	return cc.condition(c)
}

func (cc *call) condition(c emailCondition) (*mailbox.MessageFilter, error) {
	if c.AllInThreadHaveKeyword != nil || c.SomeInThreadHaveKeyword != nil || c.NoneInThreadHaveKeyword != nil || c.Header != nil {
		return nil, mErr(errUnsupportedFilter, "thread keyword and header conditions are not supported")
	}
	sf := &mailbox.MessageFilter{}
	var err error
	if c.InMailbox != nil {
		if sf.InMailbox, err = cc.mailboxArg(*c.InMailbox); err != nil {
			return nil, err
		}
	}
	if c.InMailboxOtherThan != nil {
		for _, id := range *c.InMailboxOtherThan {
			m, err := cc.mailboxArg(id)
			if err != nil {
				return nil, err
			}
			sf.NotInMailboxes = append(sf.NotInMailboxes, m)
		}
	}
	for _, d := range []struct {
		v   *string
		dst *time.Time
	}{{c.Before, &sf.Before}, {c.After, &sf.After}} {
		if d.v != nil {
			t, err := time.Parse(time.RFC3339, *d.v)
			if err != nil {
				return nil, invalidArgs("invalid UTCDate %q", *d.v)
			}
			*d.dst = t
		}
	}
	if c.MinSize != nil {
		sf.MinSize = max(*c.MinSize, 1)
	}
	if c.MaxSize != nil {
		if *c.MaxSize <= 0 {
			return &mailbox.MessageFilter{Op: mailbox.FilterOr}, nil // no size is below 0: matches nothing
		}
		sf.MaxSize = *c.MaxSize
	}
	if c.HasKeyword != nil {
		if f, ok := flagOfKeyword(*c.HasKeyword); ok {
			sf.HasFlags = f
		} else {
			sf.HasKeyword = *c.HasKeyword
		}
	}
	if c.NotKeyword != nil {
		if f, ok := flagOfKeyword(*c.NotKeyword); ok {
			sf.NotFlags = f
		} else {
			sf.NotKeyword = *c.NotKeyword
		}
	}
	if c.HasAttachment != nil {
		sf.HasAttachment = map[bool]mailbox.Tri{true: mailbox.TriYes, false: mailbox.TriNo}[*c.HasAttachment]
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	sf.From, sf.To, sf.Cc, sf.Bcc, sf.Subject = str(c.From), str(c.To), str(c.Cc), str(c.Bcc), str(c.Subject)
	// The full-text index holds the header fields and the body text, so
	// "body" matches that too.
	sf.Text = strings.TrimSpace(str(c.Text) + " " + str(c.Body))
	return sf, nil
}

// mailboxArg reads a mailbox id argument of a filter; an id that is not
// the account's matches nothing rather than failing (a filter is not an
// error), so an unknown id becomes an impossible one.
func (cc *call) mailboxArg(s string) (mailbox.MailboxID, error) {
	id, _ := cc.resolve(s)
	m, ok := parseMailboxID(id)
	if !ok {
		return -1, nil
	}
	if _, err := cc.s.mbs.ByID(cc.ctx, cc.ai.account, m); err != nil {
		if errors.Is(err, mailbox.ErrNotFound) {
			return -1, nil
		}
		return 0, err
	}
	return m, nil
}

// flagOfKeyword maps the JMAP keywords of IMAP system flags.
func flagOfKeyword(k string) (mailbox.Flags, bool) {
	for _, sf := range systemKeywords {
		if strings.EqualFold(k, sf.name) {
			return sf.flag, true
		}
	}
	return 0, false
}

var sortKeys = map[string]mailbox.QuerySortKey{
	"receivedAt": mailbox.QueryByReceivedAt, "sentAt": mailbox.QueryBySentAt, "size": mailbox.QueryBySize,
	"subject": mailbox.QueryBySubject, "from": mailbox.QueryByFrom, "to": mailbox.QueryByTo,
}

func storeSort(cs []comparator) ([]mailbox.MessageSort, error) {
	var out []mailbox.MessageSort
	for _, c := range cs {
		k, ok := sortKeys[c.Property]
		if !ok || (c.Collation != nil && *c.Collation != "i;ascii-casemap") {
			return nil, mErr(errUnsupportedSort, "cannot sort by %q", c.Property)
		}
		out = append(out, mailbox.MessageSort{Key: k, Ascending: c.ascending()})
	}
	return out, nil
}

// emailQueryOf builds the store query of Email/query arguments.
func (cc *call) emailQueryOf(a queryArgs) (mailbox.MessageQuery, error) {
	q := mailbox.MessageQuery{Account: cc.ai.account, CollapseThreads: a.CollapseThreads}
	f, err := parseFilter(a.Filter)
	if err != nil {
		return q, err
	}
	if q.Filter, err = cc.storeFilter(f); err != nil {
		return q, err
	}
	if q.Sort, err = storeSort(a.Sort); err != nil {
		return q, err
	}
	return q, nil
}

func (cc *call) emailQuery(raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	if a.SortAsTree || a.FilterAsTree {
		return nil, invalidArgs("sortAsTree and filterAsTree are Mailbox/query arguments")
	}
	q, err := cc.emailQueryOf(a)
	if err != nil {
		return nil, err
	}
	st, _, err := cc.readState()
	if err != nil {
		return nil, err
	}
	res := queryResponse{AccountID: a.AccountID, QueryState: st.String(), CanCalculateChanges: true, IDs: []string{}}
	// The server's cap is reported whenever it applies (RFC 8620 §5.5).
	limit := maxQueryLimit
	switch {
	case a.Limit != nil && *a.Limit < 0:
		return nil, invalidArgs("limit must not be negative")
	case a.Limit != nil && *a.Limit <= limit:
		limit = *a.Limit
	default:
		res.Limit = &limit
	}
	q.Limit, q.CalculateTotal = limit, a.CalculateTotal
	switch {
	case a.Anchor != nil:
		id, _ := cc.resolve(*a.Anchor)
		mid, ok := parseEmailID(id)
		if !ok {
			return nil, mErr(errAnchorNotFound, "anchor %q is not in the results", *a.Anchor)
		}
		q.Anchor, q.AnchorOffset = mid, a.AnchorOffset
	case a.Position < 0:
		// Counted from the end (RFC 8620 §5.5): needs the total first.
		n, err := cc.countQuery(q)
		if err != nil {
			return nil, err
		}
		q.Position = max(n+a.Position, 0)
	default:
		q.Position = a.Position
	}
	if limit == 0 { // only the total (and the position) is wanted
		q.Limit = 1
	}
	r, err := cc.s.mbs.Query(cc.ctx, q)
	if errors.Is(err, mailbox.ErrNotFound) && q.Anchor != 0 {
		return nil, mErr(errAnchorNotFound, "anchor %q is not in the results", *a.Anchor)
	}
	if err != nil {
		return nil, err
	}
	res.Position = r.Position
	for i, id := range r.IDs {
		if i < limit {
			res.IDs = append(res.IDs, emailID(id))
		}
	}
	if a.CalculateTotal {
		res.Total = &r.Total
	}
	return res, nil
}

func (cc *call) countQuery(q mailbox.MessageQuery) (int, error) {
	q.Limit, q.CalculateTotal, q.Position = 1, true, 0
	r, err := cc.s.mbs.Query(cc.ctx, q)
	return r.Total, err
}

type queryChangesArgs struct {
	AccountID       string          `json:"accountId"`
	Filter          json.RawMessage `json:"filter"`
	Sort            []comparator    `json:"sort"`
	SinceQueryState string          `json:"sinceQueryState"`
	MaxChanges      *int            `json:"maxChanges"`
	UpToID          *string         `json:"upToId"`
	CalculateTotal  bool            `json:"calculateTotal"`
	CollapseThreads bool            `json:"collapseThreads"`
}

type addedItem struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

type queryChangesResponse struct {
	AccountID     string      `json:"accountId"`
	OldQueryState string      `json:"oldQueryState"`
	NewQueryState string      `json:"newQueryState"`
	Total         *int        `json:"total,omitempty"`
	Removed       []string    `json:"removed"`
	Added         []addedItem `json:"added"`
}

// maxQueryChanges bounds the changes Email/queryChanges works through
// when the client sets no maxChanges.
const maxQueryChanges = 10000

// emailQueryChanges reports how a query's results changed (RFC 8620
// §5.6). Sort keys of an Email never change, so an Email can only enter,
// leave or stay; every Email that changed since the old state is reported
// as removed (the RFC allows ids that were not in the old results), and
// those in the results now as added at their index. With collapseThreads
// the representative of a thread may change when another of its Emails
// does, so every Email of a touched thread counts as changed.
func (cc *call) emailQueryChanges(raw json.RawMessage) (any, error) {
	var a queryChangesArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	q, err := cc.emailQueryOf(queryArgs{Filter: a.Filter, Sort: a.Sort, CollapseThreads: a.CollapseThreads})
	if err != nil {
		return nil, err
	}
	old, ok := parseState(a.SinceQueryState)
	if !ok {
		return nil, mErr(errCannotCalculate, "unknown query state %q", a.SinceQueryState)
	}
	limit := maxQueryChanges
	if a.MaxChanges != nil {
		if *a.MaxChanges <= 0 {
			return nil, invalidArgs("maxChanges must be positive")
		}
		limit = min(limit, *a.MaxChanges)
	}
	cs, cur, err := cc.emailChangeSet(old, limit)
	if err != nil {
		return nil, err
	}
	if cs.more {
		return nil, mErr(errTooManyChanges, "more than %d changes", limit)
	}
	changed := cs.all()
	if a.CollapseThreads {
		if changed, err = cc.withThreadMates(changed, cs.threads); err != nil {
			return nil, err
		}
	}
	res := queryChangesResponse{AccountID: a.AccountID, OldQueryState: a.SinceQueryState, NewQueryState: cur.String(),
		Removed: []string{}, Added: []addedItem{}}
	q.Limit, q.CalculateTotal = 0, a.CalculateTotal
	r, err := cc.s.mbs.Query(cc.ctx, q)
	if err != nil {
		return nil, err
	}
	for _, id := range changed {
		res.Removed = append(res.Removed, emailID(id))
	}
	isChanged := make(map[mailbox.MessageID]bool, len(changed))
	for _, id := range changed {
		isChanged[id] = true
	}
	for i, id := range r.IDs {
		if isChanged[id] && !cs.destroyed[id] {
			res.Added = append(res.Added, addedItem{ID: emailID(id), Index: i})
		}
	}
	if a.CalculateTotal {
		n := len(r.IDs)
		res.Total = &n
	}
	return res, nil
}

// withThreadMates adds every current Email of the given threads.
func (cc *call) withThreadMates(ids []mailbox.MessageID, threads []int64) ([]mailbox.MessageID, error) {
	if len(threads) == 0 {
		return ids, nil
	}
	members, err := cc.s.mbs.ThreadMembers(cc.ctx, cc.ai.account, threads)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if !slices.Contains(ids, m.ID) {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}
