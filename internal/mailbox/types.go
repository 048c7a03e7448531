package mailbox

import "posthorn/internal/store"

// The domain types of mailboxes and messages, under the names protocol
// packages use: they import this service, never the store (DESIGN.md's
// layering; internal/server/imports_test.go checks it).
type (
	AccountID    = store.AccountID
	MailboxID    = store.MailboxID
	MessageID    = store.MessageID
	UID          = store.UID
	UIDRange     = store.UIDRange
	UIDSet       = store.UIDSet
	ModSeq       = store.ModSeq
	Flags        = store.Flags
	FlagOp       = store.FlagOp
	Mailbox      = store.Mailbox
	Message      = store.Message
	MessageFlags = store.MessageFlags
	MessageIndex = store.MessageIndex
	Tombstone    = store.Tombstone
	FlagUpdate   = store.FlagUpdate
	FlagResult   = store.FlagResult
	UIDMapping   = store.UIDMapping
	Appended     = store.Appended
	Change       = store.Change
	ChangeKind   = store.ChangeKind
)

// System flags (RFC 9051 §2.3.2) and flag operations.
const (
	FlagSeen     = store.FlagSeen
	FlagAnswered = store.FlagAnswered
	FlagFlagged  = store.FlagFlagged
	FlagDeleted  = store.FlagDeleted
	FlagDraft    = store.FlagDraft

	FlagsReplace = store.FlagsReplace
	FlagsAdd     = store.FlagsAdd
	FlagsRemove  = store.FlagsRemove
)

// Special-use attributes (RFC 6154), the inbox's name and the hierarchy
// separator.
const (
	SpecialAll     = store.SpecialAll
	SpecialArchive = store.SpecialArchive
	SpecialDrafts  = store.SpecialDrafts
	SpecialFlagged = store.SpecialFlagged
	SpecialJunk    = store.SpecialJunk
	SpecialSent    = store.SpecialSent
	SpecialTrash   = store.SpecialTrash

	InboxName          = store.InboxName
	HierarchySeparator = store.HierarchySeparator
)

// Change kinds of the feed a Watcher reports.
const (
	ChangeMessageAdded    = store.ChangeMessageAdded
	ChangeMessageFlags    = store.ChangeMessageFlags
	ChangeMessageExpunged = store.ChangeMessageExpunged
	ChangeMailbox         = store.ChangeMailbox
)

// AllUIDs is the set of every UID.
var AllUIDs = store.AllUIDs

// FlagNames lists the system flags with their IMAP names.
var FlagNames = store.FlagNames

// Helpers over names and flags, from the store's definitions.
var (
	IsInbox              = store.IsInbox
	ParentNames          = store.ParentNames
	CanonicalMailboxName = store.CanonicalMailboxName
	NormalizeKeywords    = store.NormalizeKeywords
	EqualFlags           = store.EqualFlags
	UIDSetOf             = store.UIDSetOf
)
