package store

import (
	"strings"
	"time"
)

// AccountID identifies an account. IDs are never reused.
type AccountID int64

// MailboxID identifies a mailbox across the whole store. IDs are never reused.
type MailboxID int64

// MessageID identifies a message row across the whole store. It stays the
// same when the message moves to another mailbox, so JMAP Email ids are stable.
type MessageID int64

// UID is an IMAP unique identifier of a message within one mailbox.
type UID uint32

// ModSeq is a modification sequence: the value of an account's change counter
// at the transaction that last changed a row (RFC 7162 §3.1.1).
type ModSeq int64

// BlobID names an immutable message body.
type BlobID string

// QueueID identifies an outbound queue entry.
type QueueID int64

// Domain is a local mail domain: mail to it is delivered into mailboxes.
type Domain struct {
	Name      string // lower-case ASCII (A-labels for IDNs)
	CreatedAt time.Time
}

// Account is a user who owns mailboxes and can log in.
type Account struct {
	ID           AccountID
	Address      string // lower-case "local@domain"; the login name
	Domain       string
	PasswordHash string // PHC-format argon2id hash; empty disables login
	ModSeq       ModSeq // the account's change counter
	CreatedAt    time.Time
}

// Alias maps an address to one or more target addresses. Address is either
// "local@domain" or "@domain" for a catch-all.
type Alias struct {
	Address string
	Targets []string
}

// Special-use attributes of mailboxes (RFC 6154). JMAP roles (RFC 8621 §2)
// are the same names in lower case without the backslash.
const (
	SpecialAll     = `\All`
	SpecialArchive = `\Archive`
	SpecialDrafts  = `\Drafts`
	SpecialFlagged = `\Flagged`
	SpecialJunk    = `\Junk`
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
)

// InboxName is the one mailbox name that is case-insensitive and cannot be
// deleted (RFC 9051 §5.1).
const InboxName = "INBOX"

// HierarchySeparator separates levels of a mailbox name.
const HierarchySeparator = "/"

// Mailbox is a folder of messages owned by one account.
type Mailbox struct {
	ID          MailboxID
	AccountID   AccountID
	Name        string // full name with "/" between levels; "INBOX" exactly for the inbox
	SpecialUse  string // one of the Special* constants, or ""
	Subscribed  bool
	UIDValidity uint32
	UIDNext     UID
	ModSeq      ModSeq // MODSEQ of the last change to the mailbox row itself
	// Counters kept current by every write, so STATUS and JMAP Mailbox/get
	// need no scan.
	Total  int   // messages in the mailbox
	Unseen int   // messages without \Seen
	Size   int64 // sum of message sizes (STATUS SIZE, RFC 8438)
	// HighestModSeq is the highest MODSEQ of any message or tombstone in the
	// mailbox, or of the mailbox row (RFC 7162 HIGHESTMODSEQ).
	HighestModSeq ModSeq
}

// IsInbox reports whether name names the inbox (case-insensitively).
func IsInbox(name string) bool { return strings.EqualFold(name, InboxName) }

// Flags are the IMAP system flags of a message as a bit set (RFC 9051 §2.3.2).
// \Recent is a session property and is not stored.
type Flags uint8

// The system flags.
const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
)

// FlagNames lists the system flags with their IMAP names, in bit order.
var FlagNames = []struct {
	Flag Flags
	Name string
}{
	{FlagSeen, `\Seen`},
	{FlagAnswered, `\Answered`},
	{FlagFlagged, `\Flagged`},
	{FlagDeleted, `\Deleted`},
	{FlagDraft, `\Draft`},
}

// MessageFlags is the mutable state of a message: what SELECT, IDLE and
// CONDSTORE track.
type MessageFlags struct {
	ID       MessageID
	UID      UID
	ModSeq   ModSeq
	Flags    Flags
	Keywords []string // sorted; IMAP keywords / JMAP keywords other than the system ones
}

// MessageIndex holds what delivery extracts from a message's header so that
// search, sort and threading need not read the body.
type MessageIndex struct {
	Date          time.Time // the Date header, UTC; zero when absent or unparsable
	Subject       string    // decoded
	BaseSubject   string    // RFC 5256 §2.1 base subject
	From          string    // decoded address lists: "Name <addr>, ..."
	To            string
	Cc            string
	Bcc           string
	SortFrom      string // RFC 5256 sort keys: first address's mailbox, lower case
	SortTo        string
	SortCc        string
	MessageID     string // "<id@host>" or ""
	InReplyTo     string
	References    []string
	HasAttachment bool
	Preview       string // up to 256 characters of the text, for JMAP
}

// Message is one message in one mailbox.
type Message struct {
	MessageFlags
	AccountID     AccountID
	MailboxID     MailboxID
	CreatedModSeq ModSeq    // MODSEQ at which the message entered the account
	InternalDate  time.Time // IMAP INTERNALDATE / JMAP receivedAt
	Size          int64     // len(Prefix) + the blob's size
	BlobID        BlobID
	// Prefix is header text stored per message and shown before the shared
	// blob (Return-Path, Authentication-Results). It ends in CRLF or is empty.
	Prefix   []byte
	ThreadID int64 // the MessageID of the first message of the thread
	Index    MessageIndex
	// Meta is the serialized envelope and MIME structure, computed once at
	// delivery by package message; the store keeps it opaque.
	Meta []byte
}

// Tombstone records an expunged (or moved-away) message so that IMAP QRESYNC
// and JMAP /changes can report it.
type Tombstone struct {
	MailboxID MailboxID
	UID       UID
	MessageID MessageID
	ModSeq    ModSeq
	// Moved is true when the message lives on in another mailbox of the
	// account under the same MessageID.
	Moved bool
}

// RecipientStatus is the delivery state of one recipient of a queue entry.
type RecipientStatus string

// Recipient states.
const (
	RcptPending   RecipientStatus = "pending"   // not yet delivered; retried
	RcptDelivered RecipientStatus = "delivered" // the remote server answered 250
	RcptFailed    RecipientStatus = "failed"    // permanent failure; a DSN is due or sent
)

// QueueRecipient is one recipient of a queue entry with its own state.
type QueueRecipient struct {
	Address   string
	Status    RecipientStatus
	Notify    string // RFC 3461 NOTIFY value as given, e.g. "FAILURE,DELAY", or ""
	ORcpt     string // RFC 3461 ORCPT value as given ("rfc822;addr"), or ""
	LastReply string // the last SMTP reply for this recipient, e.g. "451 4.3.0 try later"
	Attempts  int
}

// QueueEntry is a message waiting to be sent to one destination domain.
// Delivery makes one entry per destination domain, so that the entries for
// one domain can share a connection.
type QueueEntry struct {
	ID         QueueID
	Domain     string // destination domain, lower case
	From       string // envelope sender; "" is the null sender <>
	Recipients []QueueRecipient
	BlobID     BlobID
	Prefix     []byte // header text sent before the blob (e.g. DKIM-Signature)
	Size       int64  // len(Prefix) + blob size
	// Envelope parameters from the submitting session.
	EnvID    string // RFC 3461 ENVID
	Ret      string // RFC 3461 RET: "FULL", "HDRS" or ""
	Body8Bit bool   // BODY=8BITMIME or the content has 8-bit octets
	SMTPUTF8 bool   // the message needs SMTPUTF8 (RFC 6531)
	// AccountID is the local account that submitted the message, or 0.
	AccountID     AccountID
	CreatedAt     time.Time
	NextAttempt   time.Time
	Attempts      int
	LastError     string
	DelayNotified bool // a delay DSN was sent
	LeaseOwner    string
	LeaseUntil    time.Time
}

// ChangeKind says what a Change is about.
type ChangeKind uint8

// Change kinds.
const (
	ChangeMessageAdded    ChangeKind = iota + 1 // messages appended, copied or moved in
	ChangeMessageFlags                          // flags or keywords changed
	ChangeMessageExpunged                       // messages expunged or moved out
	ChangeMailbox                               // a mailbox created, renamed, deleted or (un)subscribed
	ChangeQueue                                 // outbound queue entries added or made due
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeMessageAdded:
		return "added"
	case ChangeMessageFlags:
		return "flags"
	case ChangeMessageExpunged:
		return "expunged"
	case ChangeMailbox:
		return "mailbox"
	case ChangeQueue:
		return "queue"
	}
	return "unknown"
}

// Change tells subscribers that a committed transaction changed something.
// It is a hint: subscribers read the current state from the store (with the
// MODSEQ as their bookmark), so a change seen twice or merged is harmless.
type Change struct {
	AccountID AccountID // 0 for ChangeQueue
	MailboxID MailboxID // 0 when the change is not about one mailbox
	Kind      ChangeKind
	ModSeq    ModSeq // the account's MODSEQ after the change (0 for ChangeQueue)
}
