package jmap

import (
	"context"
	"encoding/json"

	"posthorn/internal/mailbox"
)

// Thread/get (RFC 8621 §3.1); Thread/changes is in email_changes.go.

type threadObject struct {
	ID       string   `json:"id"`
	EmailIDs []string `json:"emailIds"`
}

func (cc *call) threadGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	props, err := checkProps(a.Properties, []string{"id", "emailIds"}, []string{"id", "emailIds"})
	if err != nil {
		return nil, err
	}
	st, _, err := cc.readState()
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: st.String(), List: []any{}, NotFound: []string{}}
	var asked []string
	if a.IDs != nil {
		asked = *a.IDs
	} else {
		if asked, err = cc.allThreadIDs(); err != nil {
			return nil, err
		}
	}
	if len(asked) > cc.s.o.MaxObjectsInGet {
		return nil, mErr(errRequestTooLarge, "at most %d ids", cc.s.o.MaxObjectsInGet)
	}
	var threads []int64
	for _, rawID := range asked {
		id, _ := cc.resolve(rawID)
		if t, ok := parseThreadID(id); ok {
			threads = append(threads, t)
		}
	}
	members, err := cc.s.mbs.ThreadMembers(cc.ctx, cc.ai.account, threads)
	if err != nil {
		return nil, err
	}
	byThread := map[int64][]string{}
	for _, m := range members {
		byThread[m.ThreadID] = append(byThread[m.ThreadID], emailID(m.ID))
	}
	for _, rawID := range asked {
		id, _ := cc.resolve(rawID)
		t, ok := parseThreadID(id)
		if !ok || byThread[t] == nil {
			res.NotFound = append(res.NotFound, rawID)
			continue
		}
		res.List = append(res.List, pick(threadObject{ID: threadID(t), EmailIDs: byThread[t]}, props))
	}
	return res, nil
}

// allThreadIDs returns every thread of the account, or requestTooLarge
// when there are more than a /get may return.
func (cc *call) allThreadIDs() ([]string, error) {
	reps, err := cc.allEmailIDs(true)
	if err != nil {
		return nil, err
	}
	msgs, err := cc.s.mbs.MessagesByID(cc.ctx, cc.ai.account, reps)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = threadID(m.ThreadID)
	}
	return out, nil
}

// allEmailIDs returns every Email of the account (one per thread when
// collapse is set), or requestTooLarge when there are more than a /get may
// return (RFC 8620 §5.1: ids null means all).
func (cc *call) allEmailIDs(collapse bool) ([]mailbox.MessageID, error) {
	max := cc.s.o.MaxObjectsInGet
	r, err := cc.s.mbs.Query(cc.ctx, mailbox.MessageQuery{Account: cc.ai.account, CollapseThreads: collapse, Limit: max + 1})
	if err != nil {
		return nil, err
	}
	if len(r.IDs) > max {
		return nil, mErr(errRequestTooLarge, "more than %d objects; ask for ids", max)
	}
	return r.IDs, nil
}

// threadCountCache remembers the thread counts of mailboxes by the
// mailbox's HighestModSeq, so Mailbox/get does not count a large mailbox's
// threads again until it changes. Guarded by Server.mu.
type threadCountCache struct {
	m map[mailbox.MailboxID]threadCounts
}

type threadCounts struct {
	ms            mailbox.ModSeq
	total, unread int
}

const maxCachedCounts = 10000

func (s *Server) threadCounts(ctx context.Context, acct mailbox.AccountID, m mailbox.Mailbox) (int, int, error) {
	s.mu.Lock()
	e, ok := s.counts.m[m.ID]
	s.mu.Unlock()
	if ok && e.ms == m.HighestModSeq {
		return e.total, e.unread, nil
	}
	total, unread, err := s.mbs.ThreadCounts(ctx, acct, m.ID)
	if err != nil {
		return 0, 0, err
	}
	s.mu.Lock()
	if s.counts.m == nil || len(s.counts.m) >= maxCachedCounts {
		s.counts.m = map[mailbox.MailboxID]threadCounts{}
	}
	s.counts.m[m.ID] = threadCounts{ms: m.HighestModSeq, total: total, unread: unread}
	s.mu.Unlock()
	return total, unread, nil
}
