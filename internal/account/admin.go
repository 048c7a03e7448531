package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"posthorn/internal/store"
)

// mapStore turns store sentinels into this package's errors.
func mapStore(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w (%v)", ErrExists, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w (%v)", ErrNotFound, err)
	case errors.Is(err, store.ErrNotEmpty):
		return fmt.Errorf("%w (%v)", ErrInUse, err)
	}
	return err
}

// AddDomain makes a domain local.
func (s *Service) AddDomain(ctx context.Context, name string) (string, error) {
	d, err := NormalizeDomain(name)
	if err != nil {
		return "", err
	}
	if !strings.Contains(d, ".") && d != "localhost" {
		return "", fmt.Errorf("domain %q has no dot: %w", name, ErrInvalidAddress)
	}
	defer s.forgetDomains()
	return d, mapStore(s.st.CreateDomain(ctx, d))
}

// DeleteDomain removes a domain that has no accounts or aliases left.
func (s *Service) DeleteDomain(ctx context.Context, name string) error {
	d, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	defer s.forgetDomains()
	return mapStore(s.st.DeleteDomain(ctx, d))
}

// Domains lists the local domains.
func (s *Service) Domains(ctx context.Context) ([]store.Domain, error) { return s.st.Domains(ctx) }

// AddUser creates an account with the standard mailboxes.
func (s *Service) AddUser(ctx context.Context, address, password string) (store.Account, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	if strings.Contains(addr[:strings.IndexByte(addr, '@')], "+") {
		return store.Account{}, fmt.Errorf("%q: '+' is the subaddress separator: %w", address, ErrInvalidAddress)
	}
	if password == "" {
		return store.Account{}, errors.New("account: empty password")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.Account{}, err
	}
	a, err := s.st.CreateAccount(ctx, store.NewAccount{Address: addr, PasswordHash: hash, Mailboxes: StandardMailboxes})
	return a, mapStore(err)
}

// SetPassword changes an account's password.
func (s *Service) SetPassword(ctx context.Context, address, password string) error {
	a, err := s.lookup(ctx, address)
	if err != nil {
		return err
	}
	if password == "" {
		return errors.New("account: empty password")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return mapStore(s.st.SetPassword(ctx, a.ID, hash))
}

// DeleteUser removes an account and all its mail.
func (s *Service) DeleteUser(ctx context.Context, address string) error {
	a, err := s.lookup(ctx, address)
	if err != nil {
		return err
	}
	return mapStore(s.st.DeleteAccount(ctx, a.ID))
}

// Users lists the accounts of a domain, or all when domain is "".
func (s *Service) Users(ctx context.Context, domain string) ([]store.Account, error) {
	if domain != "" {
		d, err := NormalizeDomain(domain)
		if err != nil {
			return nil, err
		}
		domain = d
	}
	return s.st.Accounts(ctx, domain)
}

// User returns the account with this address.
func (s *Service) User(ctx context.Context, address string) (store.Account, error) {
	return s.lookup(ctx, address)
}

func (s *Service) lookup(ctx context.Context, address string) (store.Account, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	a, err := s.st.AccountByAddress(ctx, addr)
	return a, mapStore(err)
}

// AddAlias points address (or "@domain", a catch-all) at targets, replacing
// what it pointed at before. Its domain must be local; targets may be
// anywhere.
func (s *Service) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	var addr string
	if strings.HasPrefix(address, "@") {
		d, err := NormalizeDomain(address[1:])
		if err != nil {
			return store.Alias{}, err
		}
		addr = "@" + d
	} else {
		a, err := NormalizeAddress(address)
		if err != nil {
			return store.Alias{}, err
		}
		addr = a
	}
	if len(targets) == 0 {
		return store.Alias{}, fmt.Errorf("alias %s: no targets: %w", addr, ErrInvalidAddress)
	}
	var norm []string
	for _, t := range targets {
		n, err := NormalizeAddress(t)
		if err != nil {
			return store.Alias{}, err
		}
		if n == addr {
			return store.Alias{}, fmt.Errorf("alias %s points at itself: %w", addr, ErrInvalidAddress)
		}
		norm = append(norm, n)
	}
	al := store.Alias{Address: addr, Targets: norm}
	return al, mapStore(s.st.SetAlias(ctx, al))
}

// DeleteAlias removes an alias.
func (s *Service) DeleteAlias(ctx context.Context, address string) error {
	addr := strings.ToLower(address)
	if !strings.HasPrefix(addr, "@") {
		a, err := NormalizeAddress(address)
		if err != nil {
			return err
		}
		addr = a
	}
	return mapStore(s.st.DeleteAlias(ctx, addr))
}

// Aliases lists the aliases of a domain, or all when domain is "".
func (s *Service) Aliases(ctx context.Context, domain string) ([]store.Alias, error) {
	return s.st.Aliases(ctx, domain)
}
