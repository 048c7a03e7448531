package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

var _ store.KeyStore = (*Store)(nil)

// CreateDKIMKey implements store.KeyStore.
func (s *Store) CreateDKIMKey(ctx context.Context, k store.DKIMKey) error {
	if k.Domain == "" || k.Selector == "" || k.Algorithm == "" || len(k.PrivateKey) == 0 {
		return fmt.Errorf("DKIM key %s/%s: empty field: %w", k.Domain, k.Selector, store.ErrInvalid)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		tag, err := w.exec(`INSERT INTO dkim_keys (domain, selector, algorithm, private_key, created_at, active)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (domain, selector) DO NOTHING`,
			k.Domain, k.Selector, k.Algorithm, k.PrivateKey, k.CreatedAt.UnixNano(), k.Active)
		if isForeignKey(err) {
			return notFound("domain", k.Domain)
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("DKIM key %s/%s: %w", k.Domain, k.Selector, store.ErrExists)
		}
		return nil
	})
}

// DKIMKeys implements store.KeyStore.
func (s *Store) DKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT domain, selector, algorithm, private_key, created_at, active FROM dkim_keys
		WHERE $1 = '' OR domain = $1 ORDER BY domain, created_at, selector`, domain)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DKIMKey, error) {
		var k store.DKIMKey
		var at int64
		err := r.Scan(&k.Domain, &k.Selector, &k.Algorithm, &k.PrivateKey, &at, &k.Active)
		k.CreatedAt = fromNanos(at)
		return k, err
	})
}

// SetActiveDKIMKeys implements store.KeyStore.
func (s *Store) SetActiveDKIMKeys(ctx context.Context, domain string, selectors []string) error {
	sels := textArray(selectors)
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		var found int
		if err := w.queryRow(`SELECT count(DISTINCT selector) FROM dkim_keys WHERE domain = $1 AND selector = ANY($2)`,
			domain, sels).Scan(&found); err != nil {
			return err
		}
		distinct := map[string]bool{}
		for _, sel := range sels {
			distinct[sel] = true
		}
		if found != len(distinct) {
			return notFound("DKIM key", fmt.Sprintf("%s/%v", domain, selectors))
		}
		_, err := w.exec(`UPDATE dkim_keys SET active = (selector = ANY($2)) WHERE domain = $1`, domain, sels)
		return err
	})
}

// DeleteDKIMKey implements store.KeyStore.
func (s *Store) DeleteDKIMKey(ctx context.Context, domain, selector string) error {
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		tag, err := w.exec(`DELETE FROM dkim_keys WHERE domain = $1 AND selector = $2`, domain, selector)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("DKIM key", domain+"/"+selector)
		}
		return nil
	})
}
