package mailbox

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"posthorn/internal/store"
)

// Account-wide questions for JMAP (RFC 8621): message queries over one or
// all mailboxes of an account, threads, and everything that changed since a
// MODSEQ. They need a store that implements store.Querier; with another
// store they fail with ErrUnsupported.

// ErrUnsupported says the store cannot answer a question.
var ErrUnsupported = errors.New("mailbox: not supported by this store")

func (s *Service) querier() (store.Querier, error) {
	q, ok := s.st.(store.Querier)
	if !ok {
		return nil, fmt.Errorf("%T has no store.Querier: %w", s.st, ErrUnsupported)
	}
	return q, nil
}

// AccountModSeq returns the account's current MODSEQ: the state of all its
// mail data (RFC 8620 §1.6 state strings are made from it).
func (s *Service) AccountModSeq(ctx context.Context, acct store.AccountID) (store.ModSeq, error) {
	a, err := s.st.Account(ctx, acct)
	if err != nil {
		return 0, mapErr(err)
	}
	return a.ModSeq, nil
}

// AccountState returns the account's MODSEQ and mailboxes read in one
// snapshot (see store.Querier).
func (s *Service) AccountState(ctx context.Context, acct store.AccountID) (store.ModSeq, []store.Mailbox, error) {
	q, err := s.querier()
	if err != nil {
		return 0, nil, err
	}
	ms, mbs, err := q.AccountState(ctx, acct)
	return ms, mbs, mapErr(err)
}

// Query runs a message query over the account q.Account names. Mailboxes
// the filter names must belong to that account (ErrNotFound otherwise).
func (s *Service) Query(ctx context.Context, q store.MessageQuery) (store.QueryResult, error) {
	qr, err := s.querier()
	if err != nil {
		return store.QueryResult{Total: -1}, err
	}
	if err := s.ownFilter(ctx, q.Account, q.Filter, map[store.MailboxID]bool{}); err != nil {
		return store.QueryResult{Total: -1}, err
	}
	// The size of a whole mailbox is on its row: no need to count.
	var total = -1
	if f := q.Filter; q.CalculateTotal && !q.CollapseThreads && onlyMailbox(f) {
		mb, err := s.ByID(ctx, q.Account, f.InMailbox)
		if err != nil {
			return store.QueryResult{Total: -1}, err
		}
		total, q.CalculateTotal = mb.Total, false
	}
	res, err := qr.QueryMessages(ctx, q)
	if total >= 0 {
		res.Total = total
	}
	return res, mapErr(err)
}

// onlyMailbox reports whether a filter is one condition that names just a
// mailbox.
func onlyMailbox(f *store.MessageFilter) bool {
	if f == nil || f.Op != store.FilterCondition || f.InMailbox <= 0 {
		return false
	}
	rest := *f
	rest.InMailbox = 0
	return reflect.ValueOf(rest).IsZero()
}

// ownFilter checks that every mailbox a filter names is the account's.
func (s *Service) ownFilter(ctx context.Context, acct store.AccountID, f *store.MessageFilter, seen map[store.MailboxID]bool) error {
	if f == nil {
		return nil
	}
	ids := append([]store.MailboxID{f.InMailbox}, f.NotInMailboxes...)
	for _, id := range ids {
		if id <= 0 || seen[id] { // ids are positive: others match nothing

			continue
		}
		if _, err := s.ByID(ctx, acct, id); err != nil {
			return err
		}
		seen[id] = true
	}
	for i := range f.Children {
		if err := s.ownFilter(ctx, acct, &f.Children[i], seen); err != nil {
			return err
		}
	}
	return nil
}

// ThreadMembers returns the messages of the account's threads, by thread
// and then oldest first (see store.Querier).
func (s *Service) ThreadMembers(ctx context.Context, acct store.AccountID, threads []int64) ([]store.ThreadMember, error) {
	q, err := s.querier()
	if err != nil {
		return nil, err
	}
	ms, err := q.ThreadMembers(ctx, acct, threads)
	return ms, mapErr(err)
}

// ThreadCounts returns the number of threads with a message in the
// account's mailbox, and of those with an unseen message there.
func (s *Service) ThreadCounts(ctx context.Context, acct store.AccountID, mailbox store.MailboxID) (total, unread int, err error) {
	q, err := s.querier()
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.ByID(ctx, acct, mailbox); err != nil {
		return 0, 0, err
	}
	total, unread, err = q.MailboxThreadCounts(ctx, mailbox)
	return total, unread, mapErr(err)
}

// AccountChanges returns what changed in the account's messages after
// since, at most about limit changes (see store.Querier).
func (s *Service) AccountChanges(ctx context.Context, acct store.AccountID, since store.ModSeq, limit int) (store.AccountChanges, error) {
	q, err := s.querier()
	if err != nil {
		return store.AccountChanges{}, err
	}
	ch, err := q.AccountChanges(ctx, acct, since, limit)
	return ch, mapErr(err)
}

// The query types of store.Querier under the names protocol packages use
// (see types.go).
type (
	MessageQuery   = store.MessageQuery
	MessageFilter  = store.MessageFilter
	MessageSort    = store.MessageSort
	QuerySortKey   = store.SortKey
	FilterOp       = store.FilterOp
	Tri            = store.Tri
	QueryResult    = store.QueryResult
	ThreadMember   = store.ThreadMember
	ChangedMessage = store.ChangedMessage
	AccountChanges = store.AccountChanges
)

// Sort keys (named apart from IMAP SORT's SortField), filter operators
// and tri-state values of a MessageQuery.
const (
	QueryByReceivedAt = store.SortReceivedAt
	QueryBySentAt     = store.SortSentAt
	QueryBySize       = store.SortSize
	QueryBySubject    = store.SortSubject
	QueryByFrom       = store.SortFrom
	QueryByTo         = store.SortTo

	FilterCondition = store.FilterCondition
	FilterAnd       = store.FilterAnd
	FilterOr        = store.FilterOr
	FilterNot       = store.FilterNot

	TriAny = store.TriAny
	TriYes = store.TriYes
	TriNo  = store.TriNo
)

// FullTextWords splits a full-text query into the words the index looks
// up (see store.FullTextWords).
var FullTextWords = store.FullTextWords
