package store

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Querier is implemented by stores that can answer the questions of JMAP
// (RFC 8621 Email/query, Email/changes, Email/queryChanges, Thread/get and
// the thread counts of Mailbox/get) with indexed queries over a whole
// account, instead of the caller reading every message.
//
// It is separate from Store (like Searcher) so that a backend can add it
// when ready; the mailbox service refuses JMAP queries without it.
//
// All results are computed in one consistent snapshot per call.
type Querier interface {
	// QueryMessages returns the ids of the account's messages that match
	// q.Filter, sorted by q.Sort, from q.Position (or the anchor), at most
	// q.Limit of them. An anchor that is not among the results is
	// ErrNotFound.
	QueryMessages(ctx context.Context, q MessageQuery) (QueryResult, error)
	// ThreadMembers returns the messages of the account in the given
	// threads, ordered by thread, then internal date, then id (RFC 8621
	// §3: a Thread's emailIds are "sorted by the receivedAt date of the
	// Email, oldest first").
	ThreadMembers(ctx context.Context, account AccountID, threads []int64) ([]ThreadMember, error)
	// MailboxThreadCounts returns the number of threads with a message in
	// the mailbox, and of those with a message without \Seen there
	// (RFC 8621 §2 totalThreads, unreadThreads).
	MailboxThreadCounts(ctx context.Context, mailbox MailboxID) (total, unread int, err error)
	// AccountState returns the account's MODSEQ and its mailboxes (sorted
	// by name), read in one snapshot: the state of JMAP Mailbox/get.
	AccountState(ctx context.Context, account AccountID) (ModSeq, []Mailbox, error)
	// AccountChanges returns what changed in the account's mail after
	// since: the messages whose MODSEQ is higher and the tombstones
	// recorded after since, both in MODSEQ order. When there are more than
	// limit of them, it returns the changes of the lowest MODSEQs that fit
	// (but always every change of one MODSEQ, even past limit) and sets
	// More; UpTo is the MODSEQ up to which the result is complete.
	AccountChanges(ctx context.Context, account AccountID, since ModSeq, limit int) (AccountChanges, error)
}

// MessageQuery asks QueryMessages for a window of a sorted message list.
type MessageQuery struct {
	Account AccountID
	// Filter selects messages; nil selects all of the account's messages.
	Filter *MessageFilter
	// Sort orders the result; empty means newest internal date first.
	// Message id breaks ties, in the direction of the first comparator.
	Sort []MessageSort
	// CollapseThreads keeps only the first message of each thread (in
	// sort order) (RFC 8621 §4.4.3).
	CollapseThreads bool
	// Position is the 0-based index of the first id to return; ignored
	// when Anchor is set.
	Position int
	// Anchor, when not 0, makes the window start AnchorOffset positions
	// after (or before, when negative) the anchor's position, clamped to 0
	// (RFC 8620 §5.5).
	Anchor       MessageID
	AnchorOffset int
	// Limit is the most ids to return; 0 or less means no limit.
	Limit int
	// CalculateTotal asks for the number of results in QueryResult.Total.
	CalculateTotal bool
}

// QueryResult is a window of a sorted message list.
type QueryResult struct {
	IDs      []MessageID
	Position int // index of IDs[0] in the whole list
	Total    int // the number of results; -1 unless asked for
}

// SortKey names a property messages can be sorted by.
type SortKey uint8

// Sort keys (RFC 8621 §4.4.2).
const (
	SortReceivedAt SortKey = iota // internal date
	SortSentAt                    // the Date header (missing: 0)
	SortSize
	SortSubject // base subject, case-insensitively
	SortFrom    // RFC 5256 sort key of From
	SortTo      // RFC 5256 sort key of To
)

// MessageSort is one comparator of a sort.
type MessageSort struct {
	Key       SortKey
	Ascending bool
}

// FilterOp says how a MessageFilter combines what it holds.
type FilterOp uint8

// Filter operators (RFC 8620 §5.5 FilterOperator). FilterCondition is a
// leaf: every condition set in it must hold.
const (
	FilterCondition FilterOp = iota
	FilterAnd
	FilterOr
	FilterNot // none of the children holds
)

// Tri is a condition that may be unset.
type Tri uint8

// Values of a Tri.
const (
	TriAny Tri = iota
	TriYes
	TriNo
)

// MessageFilter is a tree of conditions on messages (RFC 8621 §4.4.1).
// Zero-valued fields of a condition impose nothing.
type MessageFilter struct {
	Op       FilterOp
	Children []MessageFilter // for FilterAnd, FilterOr, FilterNot

	InMailbox      MailboxID   // in this mailbox
	NotInMailboxes []MailboxID // in none of these (inMailboxOtherThan)
	Before         time.Time   // internal date before this
	After          time.Time   // internal date at or after this
	MinSize        int64       // size at least this
	MaxSize        int64       // size below this
	HasFlags       Flags       // every one of these flags set
	NotFlags       Flags       // none of these flags set
	HasKeyword     string      // this keyword set (case-insensitive)
	NotKeyword     string      // this keyword not set
	HasAttachment  Tri
	// Substring matches on the decoded header fields, case-insensitive
	// (ASCII case folding in SQLite, the database's in PostgreSQL).
	From, To, Cc, Bcc, Subject string
	// Text matches the full-text index of the message (header fields and
	// text parts): see FullTextWords.
	Text string
}

// ThreadMember is one message of a thread.
type ThreadMember struct {
	ID           MessageID
	ThreadID     int64
	MailboxID    MailboxID
	InternalDate time.Time
}

// ChangedMessage is a message row that changed.
type ChangedMessage struct {
	ID            MessageID
	MailboxID     MailboxID
	ThreadID      int64
	ModSeq        ModSeq
	CreatedModSeq ModSeq
}

// AccountChanges is what AccountChanges returns.
type AccountChanges struct {
	Messages []ChangedMessage
	Gone     []Tombstone
	UpTo     ModSeq
	More     bool
}

// FullTextWords splits a full-text query into the words an index looks
// up: runs of letters and digits, at most 16 of them. A message matches
// when it contains every word, the last one also as a prefix (so that
// a search as you type finds "report" from "rep"). Backends build their
// index queries from these words only, so no query syntax of the index
// can be injected.
func FullTextWords(text string) []string {
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 16 {
		words = words[:16]
	}
	return words
}

// ChangesCut decides where an AccountChanges result ends. msgs and gone
// are the first (up to limit+1) changed messages and tombstones after some
// MODSEQ, each in MODSEQ order. more is false when all of them fit in
// limit; otherwise cut is the highest MODSEQ whose changes, together with
// all lower ones, fit, or, when the changes of the lowest MODSEQ alone do
// not fit, that MODSEQ (a transaction's changes are never split).
func ChangesCut(msgs []ChangedMessage, gone []Tombstone, limit int) (cut ModSeq, more bool) {
	if len(msgs)+len(gone) <= limit {
		return 0, false
	}
	ms := make([]ModSeq, 0, len(msgs)+len(gone))
	i, j := 0, 0
	for i < len(msgs) || j < len(gone) {
		if j >= len(gone) || (i < len(msgs) && msgs[i].ModSeq <= gone[j].ModSeq) {
			ms = append(ms, msgs[i].ModSeq)
			i++
		} else {
			ms = append(ms, gone[j].ModSeq)
			j++
		}
	}
	first := ms[limit] // the first change that does not fit
	for k := limit - 1; k >= 0; k-- {
		if ms[k] < first {
			return ms[k], true
		}
	}
	return first, true
}
