package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"posthorn/internal/store"
)

// Errors of the account service; protocol packages map them to replies.
var (
	ErrAuthFailed     = errors.New("account: authentication failed")
	ErrNoSuchUser     = errors.New("account: no such user")
	ErrInvalidAddress = errors.New("account: invalid address")
	ErrExists         = errors.New("account: already exists")
	ErrNotFound       = errors.New("account: not found")
	ErrInUse          = errors.New("account: still in use")
)

// ThrottledError says that logins from an IP or for an account are paused.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("account: too many failed logins; try again in %s", e.Wait.Round(time.Second))
}

// StandardMailboxes are created with every account (RFC 6154 special use).
var StandardMailboxes = []store.NewMailbox{
	{Name: store.InboxName, Subscribed: true},
	{Name: "Sent", SpecialUse: store.SpecialSent, Subscribed: true},
	{Name: "Drafts", SpecialUse: store.SpecialDrafts, Subscribed: true},
	{Name: "Trash", SpecialUse: store.SpecialTrash, Subscribed: true},
	{Name: "Junk", SpecialUse: store.SpecialJunk, Subscribed: true},
	{Name: "Archive", SpecialUse: store.SpecialArchive, Subscribed: true},
}

// Options configure a Service. Only Store is required.
type Options struct {
	Store  store.DirectoryStore
	Logger *slog.Logger
	// FailDelay is the least time a failed login takes (default 1s).
	FailDelay time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits (default time.Sleep); tests make failures instant.
	Sleep func(time.Duration)
}

// Service authenticates users and resolves addresses.
type Service struct {
	st       store.DirectoryStore
	log      *slog.Logger
	delay    time.Duration
	now      func() time.Time
	sleep    func(time.Duration)
	cache    verifyCache
	byIP     *limiter
	byAcct   *limiter
	dummyPHC string

	domMu     sync.Mutex
	domains   map[string]bool // cached local domains (IsLocalDomain)
	domainsAt time.Time
}

// New makes a Service.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FailDelay == 0 {
		opts.FailDelay = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = time.Sleep
	}
	dummy, _ := HashPassword("posthorn: no such account")
	return &Service{
		st: opts.Store, log: opts.Logger, delay: opts.FailDelay, now: opts.Now, sleep: opts.Sleep,
		cache:  verifyCache{ttl: 10 * time.Minute},
		byIP:   newLimiter(10, 2*time.Second, 5*time.Minute),
		byAcct: newLimiter(5, 2*time.Second, 2*time.Minute),
		// Unknown users cost an argon2id verification too, so timing does
		// not tell which accounts exist.
		dummyPHC: dummy,
	}
}

// Authenticate checks a username (the account's address) and password for
// a client at remote. On failure it waits until at least FailDelay has
// passed since the call began and returns ErrAuthFailed; while the IP or
// the account is in back-off it returns a *ThrottledError without checking.
func (s *Service) Authenticate(ctx context.Context, username, password string, remote netip.Addr) (store.Account, error) {
	start := s.now()
	ipKey := remote.Unmap().String()
	addr, err := NormalizeAddress(username)
	acctKey := "a:" + addr
	if w := max(s.byIP.wait(ipKey, start), s.byAcct.wait(acctKey, start)); w > 0 {
		return store.Account{}, &ThrottledError{Wait: w}
	}
	var a store.Account
	ok := false
	if err == nil {
		a, err = s.st.AccountByAddress(ctx, addr)
	}
	switch {
	case err == nil && a.PasswordHash != "":
		ok, err = s.cache.verify(a.PasswordHash, password, start)
		if err != nil {
			s.log.Error("bad password hash", "account", addr, "err", err)
		}
	case err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrInvalidAddress):
		VerifyPassword(s.dummyPHC, password)
	default:
		return store.Account{}, err // the store failed: not the user's fault
	}
	if ok {
		s.byAcct.reset(acctKey)
		return a, nil
	}
	now := s.now()
	s.byIP.fail(ipKey, now)
	s.byAcct.fail(acctKey, now)
	if d := s.delay - now.Sub(start); d > 0 {
		s.sleep(d)
	}
	return store.Account{}, ErrAuthFailed
}

// NormalizeAddress lower-cases an address and turns its domain into
// A-labels; it rejects what is not a plain local@domain.
func NormalizeAddress(addr string) (string, error) {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || strings.Contains(domain, "@") {
		return "", fmt.Errorf("%q: %w", addr, ErrInvalidAddress)
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return "", fmt.Errorf("%q: %w", addr, ErrInvalidAddress)
	}
	if !validLocal(local) {
		return "", fmt.Errorf("%q: %w", addr, ErrInvalidAddress)
	}
	return strings.ToLower(local) + "@" + d, nil
}

// validLocal accepts a dot-atom local part (RFC 5322 §3.4.1), also with
// UTF-8 (RFC 6531), but none of the characters that old relays treat as
// routing: '%', '!', quotes, '@', ':'.
func validLocal(l string) bool {
	if l == "" || len(l) > 64 || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for _, r := range l {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(".#$&'*+-/=?^_`{|}~", r):
		case r >= 0x80:
		default:
			return false
		}
	}
	return true
}

// Account is an account as the store keeps it. Protocol packages use this
// name, since they never import the store.
type Account = store.Account
