package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

// CreateDomain implements store.DirectoryStore.
func (s *Store) CreateDomain(ctx context.Context, name string) error {
	if name == "" {
		return fmt.Errorf("empty domain: %w", store.ErrInvalid)
	}
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		tag, err := w.exec(`INSERT INTO domains (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
			name, time.Now().UnixNano())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("domain %s: %w", name, store.ErrExists)
		}
		return nil
	})
}

// Domains implements store.DirectoryStore.
func (s *Store) Domains(ctx context.Context) ([]store.Domain, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, created_at FROM domains ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Domain, error) {
		var d store.Domain
		var at int64
		err := r.Scan(&d.Name, &at)
		d.CreatedAt = fromNanos(at)
		return d, err
	})
}

// DeleteDomain implements store.DirectoryStore.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT (SELECT count(*) FROM accounts WHERE domain = $1) + (SELECT count(*) FROM aliases WHERE domain = $1)`,
			name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("domain %s has %d accounts or aliases: %w", name, n, store.ErrNotEmpty)
		}
		tag, err := w.exec(`DELETE FROM domains WHERE name = $1`, name)
		if isForeignKey(err) { // an account or alias created meanwhile
			return fmt.Errorf("domain %s: %w", name, store.ErrNotEmpty)
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("domain", name)
		}
		return nil
	})
}

func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return ""
}

// domainExists checks inside a write that a domain exists.
func (w *wtx) domainExists(domain string) error {
	var ok bool
	if err := w.queryRow(`SELECT EXISTS (SELECT 1 FROM domains WHERE name = $1)`, domain).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return notFound("domain", domain)
	}
	return nil
}

// CreateAccount implements store.DirectoryStore.
func (s *Store) CreateAccount(ctx context.Context, na store.NewAccount) (store.Account, error) {
	domain := domainOf(na.Address)
	if domain == "" || strings.IndexByte(na.Address, '@') == 0 {
		return store.Account{}, fmt.Errorf("address %q: %w", na.Address, store.ErrInvalid)
	}
	var a store.Account
	err := s.write(ctx, lockSet{}, func(w *wtx) error {
		if err := w.domainExists(domain); err != nil {
			return err
		}
		now := time.Now()
		var id int64
		err := w.queryRow(`INSERT INTO accounts (address, domain, password_hash, modseq, uidvalidity_next, created_at)
			VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (address) DO NOTHING RETURNING id`,
			na.Address, domain, na.PasswordHash, now.Unix(), now.UnixNano()).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("account %s: %w", na.Address, store.ErrExists)
		}
		if isForeignKey(err) { // the domain was deleted meanwhile
			return notFound("domain", domain)
		}
		if err != nil {
			return err
		}
		a = store.Account{ID: store.AccountID(id), Address: na.Address, Domain: domain, PasswordHash: na.PasswordHash, ModSeq: 1, CreatedAt: now.UTC()}
		for _, m := range na.Mailboxes {
			mb, err := w.createMailbox(a.ID, m)
			if err != nil {
				return err
			}
			a.ModSeq = mb.ModSeq
		}
		return nil
	})
	return a, err
}

const accountCols = `id, address, domain, password_hash, modseq, created_at`

func scanAccount(r pgx.Row) (store.Account, error) {
	var a store.Account
	var at int64
	err := r.Scan(&a.ID, &a.Address, &a.Domain, &a.PasswordHash, &a.ModSeq, &at)
	a.CreatedAt = fromNanos(at)
	return a, err
}

// Account implements store.DirectoryStore.
func (s *Store) Account(ctx context.Context, id store.AccountID) (store.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, notFound("account", id)
	}
	return a, err
}

// AccountByAddress implements store.DirectoryStore.
func (s *Store) AccountByAddress(ctx context.Context, address string) (store.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE address = $1`, address))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, notFound("account", address)
	}
	return a, err
}

// Accounts implements store.DirectoryStore.
func (s *Store) Accounts(ctx context.Context, domain string) ([]store.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE $1 = '' OR domain = $1 ORDER BY address`, domain)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Account, error) { return scanAccount(r) })
}

// SetPassword implements store.DirectoryStore.
func (s *Store) SetPassword(ctx context.Context, id store.AccountID, hash string) error {
	return s.write(ctx, lockSet{accounts: []store.AccountID{id}}, func(w *wtx) error {
		tag, err := w.exec(`UPDATE accounts SET password_hash = $1 WHERE id = $2`, hash, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("account", id)
		}
		return nil
	})
}

// DeleteAccount implements store.DirectoryStore. Queue entries the account
// submitted stay: they are on their way out already.
func (s *Store) DeleteAccount(ctx context.Context, id store.AccountID) error {
	return s.write(ctx, lockSet{accounts: []store.AccountID{id}}, func(w *wtx) error {
		if err := w.releaseBlobs(`SELECT blob_id, count(*) FROM messages WHERE account_id = $1 GROUP BY blob_id`, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE account_id = $1`,
			`DELETE FROM tombstones WHERE account_id = $1`,
			`DELETE FROM mailboxes WHERE account_id = $1`,
		} {
			if _, err := w.exec(q, id); err != nil {
				return err
			}
		}
		tag, err := w.exec(`DELETE FROM accounts WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("account", id)
		}
		w.change(store.Change{AccountID: id, Kind: store.ChangeMailbox})
		return nil
	})
}

// releaseBlobs drops the blob references that query (blob_id, count) lists.
func (w *wtx) releaseBlobs(query string, args ...any) error {
	rows, err := w.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		w.ref(store.BlobID(id), -n)
	}
	return rows.Err()
}

// SetAlias implements store.DirectoryStore.
func (s *Store) SetAlias(ctx context.Context, a store.Alias) error {
	domain := domainOf(a.Address)
	if domain == "" || len(a.Targets) == 0 {
		return fmt.Errorf("alias %q: %w", a.Address, store.ErrInvalid)
	}
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		if err := w.domainExists(domain); err != nil {
			return err
		}
		_, err := w.exec(`INSERT INTO aliases (address, domain, targets) VALUES ($1, $2, $3)
			ON CONFLICT (address) DO UPDATE SET targets = excluded.targets`, a.Address, domain, a.Targets)
		if isForeignKey(err) {
			return notFound("domain", domain)
		}
		return err
	})
}

// Alias implements store.DirectoryStore.
func (s *Store) Alias(ctx context.Context, address string) (store.Alias, error) {
	var targets []string
	err := s.pool.QueryRow(ctx, `SELECT targets FROM aliases WHERE address = $1`, address).Scan(&targets)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Alias{}, notFound("alias", address)
	}
	return store.Alias{Address: address, Targets: targets}, err
}

// Aliases implements store.DirectoryStore.
func (s *Store) Aliases(ctx context.Context, domain string) ([]store.Alias, error) {
	rows, err := s.pool.Query(ctx, `SELECT address, targets FROM aliases WHERE $1 = '' OR domain = $1 ORDER BY address`, domain)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Alias, error) {
		var a store.Alias
		err := r.Scan(&a.Address, &a.Targets)
		return a, err
	})
}

// DeleteAlias implements store.DirectoryStore.
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		tag, err := w.exec(`DELETE FROM aliases WHERE address = $1`, address)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("alias", address)
		}
		return nil
	})
}
