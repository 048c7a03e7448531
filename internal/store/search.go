package store

import (
	"context"
	"errors"
	"time"
)

// Searcher is implemented by stores that can answer the questions of IMAP
// SEARCH, SORT and THREAD (and JMAP Email/query) without the caller reading
// every message: the search and sort fields of a mailbox's messages in one
// light query, and a full-text index of message bodies.
//
// It is separate from Store so that a backend can add it when ready; the
// mailbox service falls back to Messages and reading bodies without it.
type Searcher interface {
	// Summaries returns the search and sort fields of the messages of a
	// mailbox whose UIDs are in the set, in UID order. Missing UIDs are
	// skipped. It reads no message body and no Meta.
	Summaries(ctx context.Context, mailbox MailboxID, uids UIDSet) ([]Summary, error)
	// MatchText returns the blobs, of any account, whose indexed text
	// (NewMessage.Text) contains the words of text (FullTextWords): each
	// word as a word, the last one also as a word prefix, and the words in
	// this order next to each other (a phrase). Case is ignored (whether
	// diacritics are depends on the backend). Callers intersect the result
	// with the blobs of the messages they search. It fails with
	// ErrNotIndexable when text has no word to look up.
	MatchText(ctx context.Context, text string) ([]BlobID, error)
}

// ErrNotIndexable says that a text search has no word a full-text index
// can look up (only punctuation, say); the caller must scan instead.
var ErrNotIndexable = errors.New("store: text has no indexable word")

// Summary is what search and sort read of one message.
type Summary struct {
	UID          UID
	InternalDate time.Time
	Size         int64
	BlobID       BlobID
	// Index holds the header fields; Preview is left empty.
	Index MessageIndex
}
