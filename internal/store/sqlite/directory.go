package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"posthorn/internal/store"
)

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func notFound(what string, key any) error {
	return fmt.Errorf("%s %v: %w", what, key, store.ErrNotFound)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// CreateDomain implements store.DirectoryStore.
func (s *Store) CreateDomain(ctx context.Context, name string) error {
	if name == "" {
		return fmt.Errorf("empty domain: %w", store.ErrInvalid)
	}
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`INSERT INTO domains (name, created_at) VALUES (?, ?)`, name, time.Now().UnixNano())
		if isUnique(err) {
			return fmt.Errorf("domain %s: %w", name, store.ErrExists)
		}
		return err
	})
}

// Domains implements store.DirectoryStore.
func (s *Store) Domains(ctx context.Context) ([]store.Domain, error) {
	rows, err := s.query(ctx, `SELECT name, created_at FROM domains ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Domain
	for rows.Next() {
		var d store.Domain
		var at int64
		if err := rows.Scan(&d.Name, &at); err != nil {
			return nil, err
		}
		d.CreatedAt = fromNanos(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDomain implements store.DirectoryStore.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT (SELECT count(*) FROM accounts WHERE domain = ?) + (SELECT count(*) FROM aliases WHERE domain = ?)`, name, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("domain %s has %d accounts or aliases: %w", name, n, store.ErrNotEmpty)
		}
		res, err := w.exec(`DELETE FROM domains WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
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

// CreateAccount implements store.DirectoryStore.
func (s *Store) CreateAccount(ctx context.Context, na store.NewAccount) (store.Account, error) {
	domain := domainOf(na.Address)
	if domain == "" || strings.IndexByte(na.Address, '@') == 0 {
		return store.Account{}, fmt.Errorf("address %q: %w", na.Address, store.ErrInvalid)
	}
	var a store.Account
	err := s.write(ctx, func(w *wtx) error {
		var ok int
		if err := w.queryRow(`SELECT count(*) FROM domains WHERE name = ?`, domain).Scan(&ok); err != nil {
			return err
		}
		if ok == 0 {
			return notFound("domain", domain)
		}
		now := time.Now()
		var id int64
		err := w.queryRow(`INSERT INTO accounts (address, domain, password_hash, modseq, uidvalidity_next, created_at) VALUES (?, ?, ?, 1, ?, ?) RETURNING id`,
			na.Address, domain, na.PasswordHash, now.Unix(), now.UnixNano()).Scan(&id)
		if isUnique(err) {
			return fmt.Errorf("account %s: %w", na.Address, store.ErrExists)
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

func scanAccount(sc interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var at int64
	err := sc.Scan(&a.ID, &a.Address, &a.Domain, &a.PasswordHash, &a.ModSeq, &at)
	a.CreatedAt = fromNanos(at)
	return a, err
}

// Account implements store.DirectoryStore.
func (s *Store) Account(ctx context.Context, id store.AccountID) (store.Account, error) {
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("account", id)
	}
	return a, err
}

// AccountByAddress implements store.DirectoryStore.
func (s *Store) AccountByAddress(ctx context.Context, address string) (store.Account, error) {
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE address = ?`, address))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("account", address)
	}
	return a, err
}

// Accounts implements store.DirectoryStore.
func (s *Store) Accounts(ctx context.Context, domain string) ([]store.Account, error) {
	rows, err := s.query(ctx, `SELECT `+accountCols+` FROM accounts WHERE ? = '' OR domain = ? ORDER BY address`, domain, domain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetPassword implements store.DirectoryStore.
func (s *Store) SetPassword(ctx context.Context, id store.AccountID, hash string) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE accounts SET password_hash = ? WHERE id = ?`, hash, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("account", id)
		}
		return nil
	})
}

// DeleteAccount implements store.DirectoryStore.
func (s *Store) DeleteAccount(ctx context.Context, id store.AccountID) error {
	return s.write(ctx, func(w *wtx) error {
		if err := w.releaseBlobs(`SELECT blob_id, count(*) FROM messages WHERE account_id = ? GROUP BY blob_id`, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE account_id = ?`,
			`DELETE FROM tombstones WHERE account_id = ?`,
			`DELETE FROM mailboxes WHERE account_id = ?`,
		} {
			if _, err := w.exec(q, id); err != nil {
				return err
			}
		}
		res, err := w.exec(`DELETE FROM accounts WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
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
	type ref struct {
		id string
		n  int
	}
	var refs []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.id, &r.n); err != nil {
			rows.Close()
			return err
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range refs {
		if err := w.unrefBlob(store.BlobID(r.id), r.n); err != nil {
			return err
		}
	}
	return nil
}

// SetAlias implements store.DirectoryStore.
func (s *Store) SetAlias(ctx context.Context, a store.Alias) error {
	domain := domainOf(a.Address)
	if domain == "" || len(a.Targets) == 0 {
		return fmt.Errorf("alias %q: %w", a.Address, store.ErrInvalid)
	}
	return s.write(ctx, func(w *wtx) error {
		var ok int
		if err := w.queryRow(`SELECT count(*) FROM domains WHERE name = ?`, domain).Scan(&ok); err != nil {
			return err
		}
		if ok == 0 {
			return notFound("domain", domain)
		}
		_, err := w.exec(`INSERT INTO aliases (address, domain, targets) VALUES (?, ?, ?)
			ON CONFLICT (address) DO UPDATE SET targets = excluded.targets`, a.Address, domain, strings.Join(a.Targets, "\n"))
		return err
	})
}

// Alias implements store.DirectoryStore.
func (s *Store) Alias(ctx context.Context, address string) (store.Alias, error) {
	var targets string
	err := s.queryRow(ctx, `SELECT targets FROM aliases WHERE address = ?`, address).Scan(&targets)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Alias{}, notFound("alias", address)
	}
	return store.Alias{Address: address, Targets: strings.Split(targets, "\n")}, err
}

// Aliases implements store.DirectoryStore.
func (s *Store) Aliases(ctx context.Context, domain string) ([]store.Alias, error) {
	rows, err := s.query(ctx, `SELECT address, targets FROM aliases WHERE ? = '' OR domain = ? ORDER BY address`, domain, domain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var a store.Alias
		var targets string
		if err := rows.Scan(&a.Address, &targets); err != nil {
			return nil, err
		}
		a.Targets = strings.Split(targets, "\n")
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAlias implements store.DirectoryStore.
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`DELETE FROM aliases WHERE address = ?`, address)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("alias", address)
		}
		return nil
	})
}
