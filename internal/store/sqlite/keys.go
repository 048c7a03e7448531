package sqlite

import (
	"context"
	"fmt"
	"time"

	"posthorn/internal/store"
)

var _ store.KeyStore = (*Store)(nil)

func validKey(k store.DKIMKey) error {
	if k.Domain == "" || k.Selector == "" || k.Algorithm == "" || len(k.PrivateKey) == 0 {
		return fmt.Errorf("DKIM key %s/%s: empty field: %w", k.Domain, k.Selector, store.ErrInvalid)
	}
	return nil
}

// CreateDKIMKey implements store.KeyStore.
func (s *Store) CreateDKIMKey(ctx context.Context, k store.DKIMKey) error {
	if err := validKey(k); err != nil {
		return err
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM domains WHERE name = ?`, k.Domain).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("domain", k.Domain)
		}
		_, err := w.exec(`INSERT INTO dkim_keys (domain, selector, algorithm, private_key, created_at, active) VALUES (?, ?, ?, ?, ?, ?)`,
			k.Domain, k.Selector, k.Algorithm, k.PrivateKey, k.CreatedAt.UnixNano(), k.Active)
		if isUnique(err) {
			return fmt.Errorf("DKIM key %s/%s: %w", k.Domain, k.Selector, store.ErrExists)
		}
		return err
	})
}

// DKIMKeys implements store.KeyStore.
func (s *Store) DKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	rows, err := s.query(ctx, `SELECT domain, selector, algorithm, private_key, created_at, active FROM dkim_keys
		WHERE ? = '' OR domain = ? ORDER BY domain, created_at, selector`, domain, domain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.DKIMKey
	for rows.Next() {
		var k store.DKIMKey
		var at int64
		if err := rows.Scan(&k.Domain, &k.Selector, &k.Algorithm, &k.PrivateKey, &at, &k.Active); err != nil {
			return nil, err
		}
		k.CreatedAt = fromNanos(at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// SetActiveDKIMKeys implements store.KeyStore.
func (s *Store) SetActiveDKIMKeys(ctx context.Context, domain string, selectors []string) error {
	return s.write(ctx, func(w *wtx) error {
		// Check every selector before changing anything: a failed write
		// rolls back the whole group commit, but reads first keep it cheap.
		for _, sel := range selectors {
			var n int
			if err := w.queryRow(`SELECT count(*) FROM dkim_keys WHERE domain = ? AND selector = ?`, domain, sel).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return notFound("DKIM key", domain+"/"+sel)
			}
		}
		if _, err := w.exec(`UPDATE dkim_keys SET active = 0 WHERE domain = ?`, domain); err != nil {
			return err
		}
		for _, sel := range selectors {
			if _, err := w.exec(`UPDATE dkim_keys SET active = 1 WHERE domain = ? AND selector = ?`, domain, sel); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteDKIMKey implements store.KeyStore.
func (s *Store) DeleteDKIMKey(ctx context.Context, domain, selector string) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`DELETE FROM dkim_keys WHERE domain = ? AND selector = ?`, domain, selector)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("DKIM key", domain+"/"+selector)
		}
		return nil
	})
}
