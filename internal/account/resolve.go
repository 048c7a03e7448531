package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"posthorn/internal/store"
)

// NormalizeDomain lower-cases a domain and converts it to A-labels
// (IDNA 2008 lookup rules).
func NormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("domain %q: %w", d, ErrInvalidAddress)
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("domain %q: %w", d, ErrInvalidAddress)
	}
	return strings.ToLower(a), nil
}

// IsLocalDomain reports whether mail for domain is delivered here. The
// domain list is cached for domainTTL: every RCPT asks, and the list
// changes rarely (this process's AddDomain/DeleteDomain drop the cache at
// once; another process's change is seen within domainTTL).
func (s *Service) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return false, nil
	}
	set, err := s.domainSet(ctx)
	if err != nil {
		return false, err
	}
	return set[d], nil
}

// domainTTL is how long the domain list is cached.
const domainTTL = 2 * time.Second

func (s *Service) domainSet(ctx context.Context) (map[string]bool, error) {
	s.domMu.Lock()
	defer s.domMu.Unlock()
	if s.domains != nil && s.now().Sub(s.domainsAt) < domainTTL {
		return s.domains, nil
	}
	ds, err := s.st.Domains(ctx)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(ds))
	for _, x := range ds {
		set[x.Name] = true
	}
	s.domains, s.domainsAt = set, s.now()
	return set, nil
}

// forgetDomains drops the cached domain list.
func (s *Service) forgetDomains() {
	s.domMu.Lock()
	s.domains = nil
	s.domMu.Unlock()
}

// Recipient is where an address leads: a local account, or a remote
// address (Account nil) to hand to the queue.
type Recipient struct {
	Address string         // the account's address, or the remote address
	Account *store.Account // nil for a remote address
}

// maxAliasDepth bounds alias chains (and so loops).
const maxAliasDepth = 10

// Resolve finds where mail to addr goes. For a local domain it tries, in
// order: the account; the alias; both again without a +tag; postmaster's
// fallback; the catch-all alias "@domain". Alias targets resolve in turn
// (local or remote), duplicates removed. A local address that leads nowhere
// is ErrNoSuchUser; a remote domain returns the address itself.
func (s *Service) Resolve(ctx context.Context, addr string) ([]Recipient, error) {
	norm, err := NormalizeAddress(addr)
	if err != nil {
		return nil, err
	}
	var out []Recipient
	seen := map[string]bool{}
	if err := s.resolve(ctx, norm, 0, seen, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", norm, ErrNoSuchUser)
	}
	return out, nil
}

func (s *Service) resolve(ctx context.Context, addr string, depth int, seen map[string]bool, out *[]Recipient) error {
	if seen[addr] {
		return nil // an alias loop or a duplicate: deliver once
	}
	seen[addr] = true
	local, domain, _ := strings.Cut(addr, "@")
	isLocal, err := s.IsLocalDomain(ctx, domain)
	if err != nil {
		return err
	}
	if !isLocal {
		*out = append(*out, Recipient{Address: addr})
		return nil
	}
	if depth > maxAliasDepth {
		return fmt.Errorf("%s: alias chain too long: %w", addr, ErrNoSuchUser)
	}
	candidates := []string{addr}
	if base, _, ok := strings.Cut(local, "+"); ok && base != "" {
		candidates = append(candidates, base+"@"+domain)
	}
	for _, c := range candidates {
		found, err := s.resolveExact(ctx, c, depth, seen, out)
		if found || err != nil {
			return err
		}
	}
	if local == "postmaster" {
		a, err := s.postmaster(ctx, domain)
		if err != nil {
			return err
		}
		*out = append(*out, Recipient{Address: a.Address, Account: &a})
		return nil
	}
	if al, err := s.st.Alias(ctx, "@"+domain); err == nil {
		return s.expand(ctx, al, depth, seen, out)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return fmt.Errorf("%s: %w", addr, ErrNoSuchUser)
}

// resolveExact resolves an account or alias of exactly this address.
func (s *Service) resolveExact(ctx context.Context, addr string, depth int, seen map[string]bool, out *[]Recipient) (bool, error) {
	a, err := s.st.AccountByAddress(ctx, addr)
	if err == nil {
		for _, r := range *out {
			if r.Account != nil && r.Account.ID == a.ID {
				return true, nil
			}
		}
		*out = append(*out, Recipient{Address: a.Address, Account: &a})
		return true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	al, err := s.st.Alias(ctx, addr)
	if err == nil {
		return true, s.expand(ctx, al, depth, seen, out)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	return false, nil
}

func (s *Service) expand(ctx context.Context, al store.Alias, depth int, seen map[string]bool, out *[]Recipient) error {
	for _, t := range al.Targets {
		n, err := NormalizeAddress(t)
		if err != nil {
			s.log.Warn("alias has a bad target", "alias", al.Address, "target", t)
			continue
		}
		if err := s.resolve(ctx, n, depth+1, seen, out); err != nil && !errors.Is(err, ErrNoSuchUser) {
			return err
		}
	}
	return nil
}

// postmaster picks who gets postmaster@domain when no account or alias has
// that address: postmaster@ another local domain, else the domain's oldest
// account, else the oldest account of all.
func (s *Service) postmaster(ctx context.Context, domain string) (store.Account, error) {
	ds, err := s.st.Domains(ctx)
	if err != nil {
		return store.Account{}, err
	}
	for _, d := range ds {
		if a, err := s.st.AccountByAddress(ctx, "postmaster@"+d.Name); err == nil {
			return a, nil
		}
	}
	for _, dom := range []string{domain, ""} {
		as, err := s.st.Accounts(ctx, dom)
		if err != nil {
			return store.Account{}, err
		}
		if len(as) > 0 {
			oldest := as[0]
			for _, a := range as[1:] {
				if a.ID < oldest.ID {
					oldest = a
				}
			}
			return oldest, nil
		}
	}
	return store.Account{}, fmt.Errorf("postmaster@%s: no accounts at all: %w", domain, ErrNoSuchUser)
}

// SenderAllowed reports whether the account may use from as its envelope
// sender: its own address (with any +tag), or an alias that leads to it.
func (s *Service) SenderAllowed(ctx context.Context, a store.Account, from string) (bool, error) {
	norm, err := NormalizeAddress(from)
	if err != nil {
		return false, nil
	}
	local, domain, _ := strings.Cut(norm, "@")
	if base, _, ok := strings.Cut(local, "+"); ok {
		if base+"@"+domain == a.Address {
			return true, nil
		}
	}
	if norm == a.Address {
		return true, nil
	}
	al, err := s.st.Alias(ctx, norm)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rs, err := s.Resolve(ctx, al.Address)
	if err != nil {
		return false, nil
	}
	for _, r := range rs {
		if r.Account != nil && r.Account.ID == a.ID {
			return true, nil
		}
	}
	return false, nil
}
