package mailbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"posthorn/internal/store"
)

// Options configure the Service. Store is required.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// MaxMessageSize bounds appended messages (default 50 MiB).
	MaxMessageSize int64
	Now            func() time.Time
}

// Service is the mailbox service.
type Service struct {
	st      store.Store
	log     *slog.Logger
	maxSize int64
	now     func() time.Time
	hub     *Hub
	indexes indexSet // shared per-mailbox indexes (index.go)
}

// New makes a Service and subscribes it to the store's change feed. Close
// unsubscribes.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 50 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{st: o.Store, log: o.Logger, maxSize: o.MaxMessageSize, now: o.Now, hub: newHub()}
	s.hub.cancel = o.Store.Subscribe(s.hub.publish)
	return s
}

// Close stops the change fan-out.
func (s *Service) Close() { s.hub.cancel() }

// MaxMessageSize returns the append limit (IMAP APPENDLIMIT).
func (s *Service) MaxMessageSize() int64 { return s.maxSize }

// Store exposes the store to the packages of the service layer that build
// on this one. Protocol packages must not use it.
func (s *Service) Store() store.Store { return s.st }

// List returns the account's mailboxes sorted by name.
func (s *Service) List(ctx context.Context, acct store.AccountID) ([]store.Mailbox, error) {
	mbs, err := s.st.Mailboxes(ctx, acct)
	return mbs, mapErr(err)
}

// Get returns the account's mailbox by name (INBOX in any case).
func (s *Service) Get(ctx context.Context, acct store.AccountID, name string) (store.Mailbox, error) {
	mb, err := s.st.MailboxByName(ctx, acct, name)
	return mb, mapErr(err)
}

// ByID returns the account's mailbox by id.
func (s *Service) ByID(ctx context.Context, acct store.AccountID, id store.MailboxID) (store.Mailbox, error) {
	mb, err := s.st.Mailbox(ctx, id)
	if err != nil {
		return mb, mapErr(err)
	}
	if mb.AccountID != acct {
		return store.Mailbox{}, ErrNotFound
	}
	return mb, nil
}

// Create makes a mailbox, and its missing parents (RFC 9051 §6.3.4). A
// name that exists is ErrExists; an existing parent is fine.
func (s *Service) Create(ctx context.Context, acct store.AccountID, name, specialUse string) (store.Mailbox, error) {
	name, err := ValidateName(name)
	if err != nil {
		return store.Mailbox{}, err
	}
	if specialUse != "" && !validSpecialUse(specialUse) {
		return store.Mailbox{}, fmt.Errorf("special use %q: %w", specialUse, ErrInvalid)
	}
	for _, p := range store.ParentNames(name) {
		if _, err := s.st.CreateMailbox(ctx, acct, store.NewMailbox{Name: p}); err != nil && !errors.Is(err, store.ErrExists) {
			return store.Mailbox{}, mapErr(err)
		}
	}
	mb, err := s.st.CreateMailbox(ctx, acct, store.NewMailbox{Name: name, SpecialUse: specialUse})
	return mb, mapErr(err)
}

func validSpecialUse(u string) bool {
	switch u {
	case store.SpecialAll, store.SpecialArchive, store.SpecialDrafts, store.SpecialFlagged, store.SpecialJunk, store.SpecialSent, store.SpecialTrash:
		return true
	}
	return false
}

// Delete removes a mailbox and its messages. INBOX cannot be deleted.
// Children stay (RFC 9051 §6.3.5 lets a server keep inferiors).
func (s *Service) Delete(ctx context.Context, acct store.AccountID, name string) error {
	mb, err := s.Get(ctx, acct, name)
	if err != nil {
		return err
	}
	return mapErr(s.st.DeleteMailbox(ctx, mb.ID))
}

// Rename renames a mailbox with its children, creating missing parents of
// the new name. Renaming INBOX moves all its messages to a new mailbox of
// that name and leaves INBOX empty (RFC 9051 §6.3.6).
func (s *Service) Rename(ctx context.Context, acct store.AccountID, oldName, newName string) error {
	newName, err := ValidateName(newName)
	if err != nil {
		return err
	}
	mb, err := s.Get(ctx, acct, oldName)
	if err != nil {
		return err
	}
	if store.IsInbox(newName) {
		return fmt.Errorf("rename to INBOX: %w", ErrExists)
	}
	if _, err := s.Get(ctx, acct, newName); err == nil {
		return fmt.Errorf("%q: %w", newName, ErrExists)
	}
	for _, p := range store.ParentNames(newName) {
		if p == mb.Name || strings.HasPrefix(p, mb.Name+store.HierarchySeparator) {
			return fmt.Errorf("rename %q below itself: %w", mb.Name, ErrInvalidName)
		}
		if _, err := s.st.CreateMailbox(ctx, acct, store.NewMailbox{Name: p}); err != nil && !errors.Is(err, store.ErrExists) {
			return mapErr(err)
		}
	}
	if mb.Name == store.InboxName {
		dst, err := s.st.CreateMailbox(ctx, acct, store.NewMailbox{Name: newName})
		if err != nil {
			return mapErr(err)
		}
		_, err = s.st.MoveMessages(ctx, mb.ID, store.AllUIDs, dst.ID)
		return mapErr(err)
	}
	return mapErr(s.st.RenameMailbox(ctx, mb.ID, newName))
}

// Subscribe sets a mailbox's subscription.
func (s *Service) Subscribe(ctx context.Context, acct store.AccountID, name string, on bool) error {
	mb, err := s.Get(ctx, acct, name)
	if err != nil {
		return err
	}
	return mapErr(s.st.SetSubscribed(ctx, mb.ID, on))
}

// SetSpecialUse changes a mailbox's special-use attribute ("" clears it).
func (s *Service) SetSpecialUse(ctx context.Context, acct store.AccountID, id store.MailboxID, use string) error {
	if use != "" && !validSpecialUse(use) {
		return fmt.Errorf("special use %q: %w", use, ErrInvalid)
	}
	if _, err := s.ByID(ctx, acct, id); err != nil {
		return err
	}
	return mapErr(s.st.SetSpecialUse(ctx, id, use))
}

// Children returns the names of the mailboxes directly or indirectly below
// name, sorted.
func Children(all []store.Mailbox, name string) []string {
	var out []string
	prefix := name + store.HierarchySeparator
	for _, m := range all {
		if strings.HasPrefix(m.Name, prefix) {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}
