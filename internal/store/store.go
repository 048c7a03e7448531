package store

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"time"
)

// Sentinel errors. Implementations wrap them (errors.Is works) and add detail.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrExists    = errors.New("store: already exists")
	ErrNotEmpty  = errors.New("store: still in use")
	ErrInbox     = errors.New("store: INBOX cannot be deleted or renamed")
	ErrLeaseLost = errors.New("store: queue lease held by another owner")
	ErrInvalid   = errors.New("store: invalid argument")
	ErrClosed    = errors.New("store: closed")
)

// Store is the persistence interface. All methods are safe for concurrent use.
type Store interface {
	DirectoryStore
	MailboxStore
	MessageStore
	QueueStore

	// NewBlob starts a new message body. Write the bytes, then Finish to
	// make them durable and learn the BlobID to reference from Append.
	NewBlob(ctx context.Context) (BlobWriter, error)
	// OpenBlob opens a stored (or finished but not yet appended) blob.
	OpenBlob(ctx context.Context, id BlobID) (Blob, error)

	// Subscribe calls fn with the changes of every transaction committed
	// after Subscribe returns, in commit order, from one goroutine; fn must
	// not block for long. With a shared PostgreSQL store, changes made by
	// other nodes arrive too.
	Subscribe(fn func([]Change)) (cancel func())

	Close() error
}

// DirectoryStore holds domains, accounts and aliases.
type DirectoryStore interface {
	CreateDomain(ctx context.Context, name string) error
	Domains(ctx context.Context) ([]Domain, error)
	// DeleteDomain fails with ErrNotEmpty while accounts or aliases use it.
	DeleteDomain(ctx context.Context, name string) error

	// CreateAccount creates the account and its initial mailboxes in one
	// transaction. The domain must exist (ErrNotFound otherwise).
	CreateAccount(ctx context.Context, a NewAccount) (Account, error)
	Account(ctx context.Context, id AccountID) (Account, error)
	AccountByAddress(ctx context.Context, address string) (Account, error)
	// Accounts lists the accounts of one domain, or all when domain is "".
	Accounts(ctx context.Context, domain string) ([]Account, error)
	SetPassword(ctx context.Context, id AccountID, hash string) error
	// DeleteAccount removes the account with all its mailboxes and messages.
	DeleteAccount(ctx context.Context, id AccountID) error

	// SetAlias creates or replaces an alias. Its domain must exist.
	SetAlias(ctx context.Context, a Alias) error
	Alias(ctx context.Context, address string) (Alias, error)
	// Aliases lists the aliases of one domain, or all when domain is "".
	Aliases(ctx context.Context, domain string) ([]Alias, error)
	DeleteAlias(ctx context.Context, address string) error
}

// NewAccount is what CreateAccount needs.
type NewAccount struct {
	Address      string
	PasswordHash string
	Mailboxes    []NewMailbox // created with the account; must include INBOX
}

// NewMailbox names a mailbox to create.
type NewMailbox struct {
	Name       string
	SpecialUse string
	Subscribed bool
}

// MailboxStore holds mailboxes.
type MailboxStore interface {
	// CreateMailbox fails with ErrExists when the name is taken
	// (case-insensitively for INBOX). It does not create parents.
	CreateMailbox(ctx context.Context, account AccountID, m NewMailbox) (Mailbox, error)
	Mailboxes(ctx context.Context, account AccountID) ([]Mailbox, error)
	Mailbox(ctx context.Context, id MailboxID) (Mailbox, error)
	MailboxByName(ctx context.Context, account AccountID, name string) (Mailbox, error)
	// RenameMailbox renames the mailbox and every mailbox below it
	// ("a" → "b" also makes "a/x" into "b/x"). It fails with ErrInbox for
	// INBOX (the service moves INBOX's messages instead, RFC 9051 §6.3.6)
	// and with ErrExists when any new name is taken.
	RenameMailbox(ctx context.Context, id MailboxID, newName string) error
	// DeleteMailbox removes the mailbox and its messages (not its children).
	DeleteMailbox(ctx context.Context, id MailboxID) error
	SetSubscribed(ctx context.Context, id MailboxID, subscribed bool) error
	SetSpecialUse(ctx context.Context, id MailboxID, specialUse string) error
}

// MessageStore holds messages, their flags and tombstones.
type MessageStore interface {
	// Append commits new messages and queue entries in one transaction:
	// all or none. It returns once the transaction is durable.
	Append(ctx context.Context, b Batch) (BatchResult, error)

	// MailboxState returns the mailbox row and the flags of all its
	// messages in UID order, read in one consistent snapshot (IMAP SELECT).
	MailboxState(ctx context.Context, id MailboxID) (Mailbox, []MessageFlags, error)
	// Messages returns the messages of a mailbox whose UIDs are in the set,
	// in UID order. Missing UIDs are skipped.
	Messages(ctx context.Context, id MailboxID, uids UIDSet) ([]Message, error)
	// MessagesByID returns the messages of an account with the given ids,
	// in the order asked; missing ids are skipped.
	MessagesByID(ctx context.Context, account AccountID, ids []MessageID) ([]Message, error)
	// ChangesSince returns the messages of a mailbox changed after since
	// and the tombstones recorded after since, both in MODSEQ order, with
	// the mailbox's current row (RFC 7162 CHANGEDSINCE / VANISHED).
	ChangesSince(ctx context.Context, id MailboxID, since ModSeq) (Mailbox, []MessageFlags, []Tombstone, error)

	// UpdateFlags changes flags and keywords (IMAP STORE, JMAP keywords).
	UpdateFlags(ctx context.Context, u FlagUpdate) (FlagResult, error)
	// CopyMessages copies messages to another mailbox of the same account;
	// the copies get new UIDs and ids (RFC 4315 COPYUID).
	CopyMessages(ctx context.Context, src MailboxID, uids UIDSet, dst MailboxID) ([]UIDMapping, error)
	// MoveMessages moves messages to another mailbox of the same account:
	// new UIDs in dst, the same MessageIDs, tombstones in src (RFC 6851).
	MoveMessages(ctx context.Context, src MailboxID, uids UIDSet, dst MailboxID) ([]UIDMapping, error)
	// Expunge removes the messages in the set (only those flagged \Deleted
	// when onlyDeleted is set) and records tombstones. It returns the
	// expunged UIDs in ascending order.
	Expunge(ctx context.Context, id MailboxID, uids UIDSet, onlyDeleted bool) ([]UID, ModSeq, error)
}

// QueueStore holds the outbound queue.
type QueueStore interface {
	// ClaimQueue leases up to c.Limit due entries to c.Owner until
	// c.Now+c.Lease, earliest first. An entry is due when its NextAttempt is
	// not after c.Now and it has no lease, or its lease has expired. Two
	// claimers never hold the same entry at once.
	ClaimQueue(ctx context.Context, c Claim) ([]QueueEntry, error)
	// SaveQueueEntry stores a queue entry's delivery state (Recipients,
	// NextAttempt, Attempts, LastError, DelayNotified) and releases the
	// lease. owner must hold the lease; owner "" (an administrator) may save
	// an entry that nobody holds. ErrLeaseLost otherwise.
	SaveQueueEntry(ctx context.Context, owner string, e QueueEntry) error
	// DeleteQueueEntry removes an entry under the same ownership rule.
	DeleteQueueEntry(ctx context.Context, owner string, id QueueID) error
	QueueEntry(ctx context.Context, id QueueID) (QueueEntry, error)
	// QueueEntries lists every entry, earliest next attempt first.
	QueueEntries(ctx context.Context) ([]QueueEntry, error)
	// NextQueueAttempt returns when the next entry falls due (taking leases
	// into account); ok is false when the queue is empty.
	NextQueueAttempt(ctx context.Context) (at time.Time, ok bool, err error)
	// RescheduleQueue sets NextAttempt to at for one entry, or for all
	// entries when id is 0 (`posthorn queue retry`).
	RescheduleQueue(ctx context.Context, id QueueID, at time.Time) error
}

// Claim asks ClaimQueue for due entries.
type Claim struct {
	Owner  string
	Now    time.Time
	Lease  time.Duration
	Limit  int
	Domain string // only entries for this destination domain; "" for any
}

// BlobWriter receives the bytes of a new blob.
type BlobWriter interface {
	io.Writer
	// Finish ends the body and returns its id and size. The body is durable
	// no later than the first Append that names it commits (a backend may
	// write it at Finish or within that transaction); until then it is
	// unreferenced.
	Finish() (BlobID, int64, error)
	// Abort discards the blob unless an Append that names it has
	// committed. It is safe to call more than once and after Finish, so
	// callers may always defer it.
	Abort()
}

// Blob is an open message body.
type Blob interface {
	io.ReaderAt
	io.ReadSeeker
	io.Closer
	Size() int64
}

// Batch is what one Append commits.
type Batch struct {
	Messages []NewMessage
	Queue    []QueueEntry // ID, lease and attempt fields are ignored; BlobID must be set
}

// NewMessage is a message to add to a mailbox.
type NewMessage struct {
	AccountID    AccountID
	MailboxID    MailboxID
	BlobID       BlobID
	Prefix       []byte
	Flags        Flags
	Keywords     []string
	InternalDate time.Time
	Index        MessageIndex
	Meta         []byte
	// Text is the decoded text for full-text search; indexed, not stored.
	Text string
}

// BatchResult reports what Append created, in the order of the Batch.
type BatchResult struct {
	Messages []Appended
	Queue    []QueueID
}

// Appended describes one appended message (RFC 4315 APPENDUID).
type Appended struct {
	ID          MessageID
	MailboxID   MailboxID
	UIDValidity uint32
	UID         UID
	ModSeq      ModSeq
	ThreadID    int64
}

// UIDRange is an inclusive range of UIDs.
type UIDRange struct{ First, Last UID }

// UIDSet is a set of UIDs as ranges. The zero value is empty.
type UIDSet []UIDRange

// AllUIDs is the set of every UID.
var AllUIDs = UIDSet{{1, ^UID(0)}}

// Contains reports whether uid is in the set.
func (s UIDSet) Contains(uid UID) bool {
	for _, r := range s {
		if uid >= r.First && uid <= r.Last {
			return true
		}
	}
	return false
}

// Normalize returns the set sorted, with overlapping and adjacent ranges
// merged and each range's ends in order (IMAP allows "5:1" and "3,1:4").
func (s UIDSet) Normalize() UIDSet {
	out := make(UIDSet, 0, len(s))
	for _, r := range s {
		if r.First > r.Last {
			r.First, r.Last = r.Last, r.First
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b UIDRange) int { return cmp.Compare(a.First, b.First) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && (r.First <= merged[n-1].Last || r.First-1 == merged[n-1].Last) {
			merged[n-1].Last = max(merged[n-1].Last, r.Last)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// UIDSetOf makes a set of the given UIDs.
func UIDSetOf(uids ...UID) UIDSet {
	s := make(UIDSet, 0, len(uids))
	for _, u := range uids {
		if n := len(s); n > 0 && s[n-1].Last+1 == u {
			s[n-1].Last = u
			continue
		}
		s = append(s, UIDRange{u, u})
	}
	return s
}

// FlagOp says how UpdateFlags combines the given flags with the current ones.
type FlagOp uint8

// Flag operations (IMAP STORE FLAGS, +FLAGS, -FLAGS).
const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// FlagUpdate asks UpdateFlags to change messages of one mailbox.
type FlagUpdate struct {
	MailboxID MailboxID
	UIDs      UIDSet
	Op        FlagOp
	Flags     Flags
	Keywords  []string
	// UnchangedSince, when not 0, skips messages whose MODSEQ is higher
	// (RFC 7162 §3.1.3) and reports them in FlagResult.Modified.
	UnchangedSince ModSeq
}

// FlagResult reports what UpdateFlags did.
type FlagResult struct {
	Updated  []MessageFlags // messages whose flags changed, with their new MODSEQ, in UID order
	Modified []UID          // messages that failed the UNCHANGEDSINCE test
	ModSeq   ModSeq         // the account's MODSEQ after the change
}

// UIDMapping pairs a message's UID in the source with its UID in the
// destination of a copy or move.
type UIDMapping struct {
	Src UID
	Dst UID
	ID  MessageID // the message's id in the destination
}

// Maintainer is implemented by stores that need periodic housekeeping
// (compacting pack files, say). The server calls Maintain now and then.
type Maintainer interface {
	Maintain(ctx context.Context) error
}
