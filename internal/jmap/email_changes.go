package jmap

import (
	"encoding/json"
	"slices"

	"posthorn/internal/mailbox"
)

// Email/changes and Thread/changes (RFC 8621 §4.3, §3.2), from the
// account's change log: message rows with a higher MODSEQ and tombstones.

// changeSet is what changed in the account's Emails since a state.
type changeSet struct {
	created, updated []mailbox.MessageID
	destroyed        map[mailbox.MessageID]bool
	destroyedList    []mailbox.MessageID
	threads          []int64 // threads of created and updated Emails
	newThreads       []int64 // threads whose first Email was created
	more             bool
}

// all returns every changed id.
func (cs changeSet) all() []mailbox.MessageID {
	out := make([]mailbox.MessageID, 0, len(cs.created)+len(cs.updated)+len(cs.destroyedList))
	out = append(out, cs.created...)
	out = append(out, cs.updated...)
	return append(out, cs.destroyedList...)
}

// emailChangeSet reads the changes since old, at most about limit of
// them, and the state they lead to. A mailbox of old that no longer exists
// took its Emails with it without tombstones: cannotCalculateChanges.
func (cc *call) emailChangeSet(old state, limit int) (changeSet, state, error) {
	cs := changeSet{destroyed: map[mailbox.MessageID]bool{}}
	cur, mbs, err := cc.readState()
	if err != nil {
		return cs, state{}, err
	}
	if old.modseq > cur.modseq {
		return cs, state{}, mErr(errCannotCalculate, "the state is from the future")
	}
	if gone := old.goneSince(mbs); len(gone) > 0 {
		return cs, state{}, mErr(errCannotCalculate, "a mailbox was deleted since; fetch the emails anew")
	}
	ch, err := cc.s.mbs.AccountChanges(cc.ctx, cc.ai.account, old.modseq, limit)
	if err != nil {
		return cs, state{}, err
	}
	seenThread := map[int64]bool{}
	for _, m := range ch.Messages {
		if m.CreatedModSeq > old.modseq {
			cs.created = append(cs.created, m.ID)
			if m.ThreadID == int64(m.ID) {
				cs.newThreads = append(cs.newThreads, m.ThreadID)
			}
		} else {
			cs.updated = append(cs.updated, m.ID)
		}
		if !seenThread[m.ThreadID] {
			seenThread[m.ThreadID] = true
			cs.threads = append(cs.threads, m.ThreadID)
		}
	}
	for _, t := range ch.Gone {
		// A moved Email lives on under its id, and shows as updated.
		if t.Moved || cs.destroyed[t.MessageID] {
			continue
		}
		cs.destroyed[t.MessageID] = true
		cs.destroyedList = append(cs.destroyedList, t.MessageID)
	}
	cs.more = ch.More
	next := newState(ch.UpTo, mbs)
	return cs, next, nil
}

func (cc *call) emailChanges(raw json.RawMessage) (any, error) {
	a, old, err := cc.parseChanges(raw)
	if err != nil {
		return nil, err
	}
	limit := 0
	if a.MaxChanges != nil {
		limit = *a.MaxChanges
	}
	cs, next, err := cc.emailChangeSet(old, limit)
	if err != nil {
		return nil, err
	}
	res := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: next.String(), HasMoreChanges: cs.more,
		Created: mapIDs(cs.created, emailID), Updated: mapIDs(cs.updated, emailID), Destroyed: mapIDs(cs.destroyedList, emailID)}
	return res, nil
}

// threadChanges derives Thread changes from Email changes: a thread is
// created when its first Email is, and updated when any of its Emails is
// created, updated or destroyed. A destroyed Email's thread cannot be
// known (a tombstone does not record it), so then the answer is
// cannotCalculateChanges and the client fetches its threads anew.
func (cc *call) threadChanges(raw json.RawMessage) (any, error) {
	a, old, err := cc.parseChanges(raw)
	if err != nil {
		return nil, err
	}
	limit := 0
	if a.MaxChanges != nil {
		limit = *a.MaxChanges
	}
	cs, next, err := cc.emailChangeSet(old, limit)
	if err != nil {
		return nil, err
	}
	if len(cs.destroyedList) > 0 {
		return nil, mErr(errCannotCalculate, "emails were destroyed since; fetch the threads anew")
	}
	res := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: next.String(), HasMoreChanges: cs.more,
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	for _, t := range cs.threads {
		if slices.Contains(cs.newThreads, t) {
			res.Created = append(res.Created, threadID(t))
		} else {
			res.Updated = append(res.Updated, threadID(t))
		}
	}
	return res, nil
}

func mapIDs[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
