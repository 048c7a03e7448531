package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

const enqueueSQL = `INSERT INTO queue (domain, sender, recipients, blob_id, prefix, size, env_id, ret, body8bit, smtputf8, account_id,
	created_at, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`

// enqueueArgs are enqueueSQL's arguments for a new queue entry.
func enqueueArgs(q store.QueueEntry, blobSize int64) ([]any, error) {
	if len(q.Recipients) == 0 || q.Domain == "" {
		return nil, fmt.Errorf("queue entry without recipients or domain: %w", store.ErrInvalid)
	}
	rcpts, err := json.Marshal(q.Recipients)
	if err != nil {
		return nil, err
	}
	created := q.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	next := q.NextAttempt
	if next.IsZero() {
		next = created
	}
	return []any{q.Domain, q.From, rcpts, string(q.BlobID), q.Prefix, blobSize + int64(len(q.Prefix)), q.EnvID, q.Ret, q.Body8Bit,
		q.SMTPUTF8, q.AccountID, created.UnixNano(), next.UnixNano()}, nil
}

const queueCols = `id, domain, sender, recipients, blob_id, prefix, size, env_id, ret, body8bit, smtputf8, account_id,
	created_at, next_attempt, attempts, last_error, delay_notified, lease_owner, lease_until`

func scanQueue(r pgx.Row) (store.QueueEntry, error) {
	var q store.QueueEntry
	var rcpts []byte
	var created, next, lease int64
	err := r.Scan(&q.ID, &q.Domain, &q.From, &rcpts, &q.BlobID, &q.Prefix, &q.Size, &q.EnvID, &q.Ret, &q.Body8Bit, &q.SMTPUTF8,
		&q.AccountID, &created, &next, &q.Attempts, &q.LastError, &q.DelayNotified, &q.LeaseOwner, &lease)
	if err != nil {
		return q, err
	}
	q.CreatedAt, q.NextAttempt, q.LeaseUntil = fromNanos(created), fromNanos(next), fromNanos(lease)
	if err := json.Unmarshal(rcpts, &q.Recipients); err != nil {
		return q, fmt.Errorf("queue entry %d: recipients: %w", q.ID, err)
	}
	return q, nil
}

func collectQueue(rows pgx.Rows, err error) ([]store.QueueEntry, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.QueueEntry, error) { return scanQueue(r) })
}

// ClaimQueue implements store.QueueStore. Entries another transaction has
// locked (being claimed or saved on another node right now) are skipped,
// not waited for. The time is the claimer's, never the database's.
func (s *Store) ClaimQueue(ctx context.Context, c store.Claim) ([]store.QueueEntry, error) {
	if c.Owner == "" || c.Limit <= 0 {
		return nil, fmt.Errorf("claim needs an owner and a limit: %w", store.ErrInvalid)
	}
	var out []store.QueueEntry
	err := s.write(ctx, lockSet{}, func(w *wtx) error {
		now := c.Now.UnixNano()
		var err error
		out, err = collectQueue(w.query(`WITH due AS (
				SELECT id AS due_id FROM queue WHERE next_attempt <= $1 AND lease_until <= $1 AND ($2 = '' OR domain = $2)
				ORDER BY next_attempt, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			UPDATE queue SET lease_owner = $4, lease_until = $5 FROM due WHERE id = due_id
			RETURNING `+queueCols,
			now, c.Domain, c.Limit, c.Owner, c.Now.Add(c.Lease).UnixNano()))
		if err != nil {
			return err
		}
		slices.SortFunc(out, func(a, b store.QueueEntry) int {
			if d := a.NextAttempt.Compare(b.NextAttempt); d != 0 {
				return d
			}
			return int(a.ID - b.ID)
		})
		return nil
	})
	return out, err
}

// checkLease enforces the ownership rule of SaveQueueEntry and
// DeleteQueueEntry, locking the entry. It returns the entry's blob.
func (w *wtx) checkLease(owner string, id store.QueueID) (string, error) {
	var holder, blob string
	var until int64
	err := w.queryRow(`SELECT lease_owner, lease_until, blob_id FROM queue WHERE id = $1 FOR UPDATE`, id).Scan(&holder, &until, &blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("queue entry", id)
	}
	if err != nil {
		return "", err
	}
	if owner == "" {
		if holder != "" && until > time.Now().UnixNano() {
			return "", fmt.Errorf("queue entry %d is being delivered by %s: %w", id, holder, store.ErrLeaseLost)
		}
		return blob, nil
	}
	if holder != owner {
		return "", fmt.Errorf("queue entry %d: %w", id, store.ErrLeaseLost)
	}
	return blob, nil
}

// SaveQueueEntry implements store.QueueStore.
func (s *Store) SaveQueueEntry(ctx context.Context, owner string, e store.QueueEntry) error {
	rcpts, err := json.Marshal(e.Recipients)
	if err != nil {
		return err
	}
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		if _, err := w.checkLease(owner, e.ID); err != nil {
			return err
		}
		if _, err := w.exec(`UPDATE queue SET recipients = $1, next_attempt = $2, attempts = $3, last_error = $4, delay_notified = $5,
			lease_owner = '', lease_until = 0 WHERE id = $6`,
			rcpts, e.NextAttempt.UnixNano(), e.Attempts, e.LastError, e.DelayNotified, e.ID); err != nil {
			return err
		}
		w.change(store.Change{Kind: store.ChangeQueue})
		return nil
	})
}

// DeleteQueueEntry implements store.QueueStore.
func (s *Store) DeleteQueueEntry(ctx context.Context, owner string, id store.QueueID) error {
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		blob, err := w.checkLease(owner, id)
		if err != nil {
			return err
		}
		if _, err := w.exec(`DELETE FROM queue WHERE id = $1`, id); err != nil {
			return err
		}
		w.ref(store.BlobID(blob), -1)
		return nil
	})
}

// QueueEntry implements store.QueueStore.
func (s *Store) QueueEntry(ctx context.Context, id store.QueueID) (store.QueueEntry, error) {
	q, err := scanQueue(s.pool.QueryRow(ctx, `SELECT `+queueCols+` FROM queue WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return q, notFound("queue entry", id)
	}
	return q, err
}

// QueueEntries implements store.QueueStore.
func (s *Store) QueueEntries(ctx context.Context) ([]store.QueueEntry, error) {
	return collectQueue(s.pool.Query(ctx, `SELECT `+queueCols+` FROM queue ORDER BY next_attempt, id`))
}

// NextQueueAttempt implements store.QueueStore.
func (s *Store) NextQueueAttempt(ctx context.Context) (time.Time, bool, error) {
	var at *int64
	err := s.pool.QueryRow(ctx, `SELECT min(greatest(next_attempt, lease_until)) FROM queue`).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, false, err
	}
	return fromNanos(*at), true, nil
}

// RescheduleQueue implements store.QueueStore.
func (s *Store) RescheduleQueue(ctx context.Context, id store.QueueID, at time.Time) error {
	return s.write(ctx, lockSet{}, func(w *wtx) error {
		tag, err := w.exec(`UPDATE queue SET next_attempt = $1 WHERE $2::bigint = 0 OR id = $2::bigint`, at.UnixNano(), id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 && id != 0 {
			return notFound("queue entry", id)
		}
		w.change(store.Change{Kind: store.ChangeQueue})
		return nil
	})
}
