package delivery

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/mailauth"
	"posthorn/internal/store"
)

// Waker is told that new queue entries were committed. The queue
// implements it; the server wires it in.
type Waker interface{ Wake() }

// Options configure the Service.
type Options struct {
	Store    store.Store
	Accounts *account.Service
	// Hostname names this server in Received headers and Message-IDs.
	Hostname string
	// MaxMessageSize is the most octets a message may have, trace headers
	// excluded (default 50 MiB).
	MaxMessageSize int64
	// MaxRecipients bounds the recipients of one message (default 100).
	MaxRecipients int
	// Queue is woken after remote recipients were queued; may be nil.
	Queue Waker
	// Checker authenticates mail arriving on the MX (SPF, DKIM, DMARC) and
	// makes its Authentication-Results; nil turns the checks off.
	Checker *mailauth.Checker
	// Signer DKIM-signs mail queued by local users; nil signs nothing.
	Signer *mailauth.Signer
	Logger *slog.Logger
	Now    func() time.Time
}

// Service accepts messages.
type Service struct {
	st       store.Store
	accts    *account.Service
	host     string
	maxSize  int64
	maxRcpts int
	queue    Waker
	log      *slog.Logger
	now      func() time.Time
	inboxes  sync.Map  // store.AccountID -> store.MailboxID
	bufs     sync.Pool // *readBufs
	checker  *mailauth.Checker
	signer   *mailauth.Signer
}

// New makes a Service.
func New(o Options) *Service {
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 50 << 20
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = 100
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: o.Store, accts: o.Accounts, host: o.Hostname, maxSize: o.MaxMessageSize, maxRcpts: o.MaxRecipients,
		queue: o.Queue, log: o.Logger, now: o.Now, checker: o.Checker, signer: o.Signer}
}

// SetQueue sets the Waker after construction (the queue is built after
// delivery, which it uses for bounces).
func (s *Service) SetQueue(w Waker) { s.queue = w }

// MaxMessageSize returns the size limit in octets.
func (s *Service) MaxMessageSize() int64 { return s.maxSize }

// MaxRecipients returns the recipient limit.
func (s *Service) MaxRecipients() int { return s.maxRcpts }

// Recipient checks one envelope recipient and returns where it leads.
// Mail to a local domain is accepted from anyone (aliases may forward it
// elsewhere); mail to any other domain only from an authenticated client
// (authenticated), else ErrRelayDenied. Addresses that route in the manner
// of old relays ("%", "!", quotes, source routes) are
// account.ErrInvalidAddress; unknown local users account.ErrNoSuchUser.
func (s *Service) Recipient(ctx context.Context, addr string, authenticated bool) ([]account.Recipient, error) {
	if strings.EqualFold(addr, "postmaster") {
		// RFC 5321 §4.1.1.3: "postmaster" without a domain is this
		// server's postmaster.
		d, err := s.postmasterDomain(ctx)
		if err != nil {
			return nil, err
		}
		return s.accts.Resolve(ctx, "postmaster@"+d)
	}
	_, domain, ok := strings.Cut(addr, "@")
	if !ok || domain == "" {
		return nil, fmt.Errorf("%q: %w", addr, account.ErrInvalidAddress)
	}
	local, err := s.accts.IsLocalDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	if !local && !authenticated {
		return nil, fmt.Errorf("%s: %w", addr, ErrRelayDenied)
	}
	return s.accts.Resolve(ctx, addr)
}

// postmasterDomain picks the local domain whose postmaster a bare
// "postmaster" reaches: the server's host name or its parent domain when
// that is local, else the first local domain.
func (s *Service) postmasterDomain(ctx context.Context) (string, error) {
	ds, err := s.accts.Domains(ctx)
	if err != nil {
		return "", err
	}
	if len(ds) == 0 {
		return "", fmt.Errorf("postmaster: no local domains: %w", account.ErrNoSuchUser)
	}
	for _, d := range ds {
		if strings.EqualFold(d.Name, s.host) || strings.HasSuffix(strings.ToLower(s.host), "."+d.Name) {
			return d.Name, nil
		}
	}
	return ds[0].Name, nil
}

// Sender checks the envelope sender of an authenticated submission: it
// must be one of the account's addresses or aliases. The null sender is
// refused for users.
func (s *Service) Sender(ctx context.Context, a store.Account, from string) error {
	ok, err := s.accts.SenderAllowed(ctx, a, from)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s may not send as %q: %w", a.Address, from, ErrSenderNotAllowed)
	}
	return nil
}

// inbox returns the INBOX of an account (cached: INBOX is never deleted
// nor renamed).
func (s *Service) inbox(ctx context.Context, a store.AccountID) (store.MailboxID, error) {
	if id, ok := s.inboxes.Load(a); ok {
		return id.(store.MailboxID), nil
	}
	mb, err := s.st.MailboxByName(ctx, a, store.InboxName)
	if err != nil {
		return 0, err
	}
	s.inboxes.Store(a, mb.ID)
	return mb.ID, nil
}

var idEncoding = base32.NewEncoding("0123456789BCDFGHJKLMNPQRSTVWXYZa").WithPadding(base32.NoPadding)

// newID makes a short random id that names one accepted message in logs
// and its Received header.
func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}
