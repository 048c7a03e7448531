package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"posthorn/internal/store"
)

func (w *wtx) enqueue(q store.QueueEntry, blobSize int64) (store.QueueID, error) {
	rcpts, err := json.Marshal(q.Recipients)
	if err != nil {
		return 0, err
	}
	if len(q.Recipients) == 0 || q.Domain == "" {
		return 0, fmt.Errorf("queue entry without recipients or domain: %w", store.ErrInvalid)
	}
	created := q.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	next := q.NextAttempt
	if next.IsZero() {
		next = created
	}
	var id int64
	err = w.queryRow(`INSERT INTO queue (domain, sender, recipients, blob_id, prefix, size, env_id, ret, body8bit, smtputf8, account_id, created_at, next_attempt)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		q.Domain, q.From, string(rcpts), string(q.BlobID), q.Prefix, blobSize+int64(len(q.Prefix)), q.EnvID, q.Ret, q.Body8Bit, q.SMTPUTF8,
		q.AccountID, created.UnixNano(), next.UnixNano()).Scan(&id)
	if err != nil {
		return 0, err
	}
	w.change(store.Change{Kind: store.ChangeQueue})
	return store.QueueID(id), nil
}

const queueCols = `id, domain, sender, recipients, blob_id, prefix, size, env_id, ret, body8bit, smtputf8, account_id,
	created_at, next_attempt, attempts, last_error, delay_notified, lease_owner, lease_until`

func scanQueue(sc interface{ Scan(...any) error }) (store.QueueEntry, error) {
	var q store.QueueEntry
	var rcpts string
	var created, next, lease int64
	err := sc.Scan(&q.ID, &q.Domain, &q.From, &rcpts, &q.BlobID, &q.Prefix, &q.Size, &q.EnvID, &q.Ret, &q.Body8Bit, &q.SMTPUTF8, &q.AccountID,
		&created, &next, &q.Attempts, &q.LastError, &q.DelayNotified, &q.LeaseOwner, &lease)
	if err != nil {
		return q, err
	}
	q.CreatedAt, q.NextAttempt, q.LeaseUntil = fromNanos(created), fromNanos(next), fromNanos(lease)
	if err := json.Unmarshal([]byte(rcpts), &q.Recipients); err != nil {
		return q, fmt.Errorf("queue entry %d: recipients: %w", q.ID, err)
	}
	return q, nil
}

// ClaimQueue implements store.QueueStore.
func (s *Store) ClaimQueue(ctx context.Context, c store.Claim) ([]store.QueueEntry, error) {
	if c.Owner == "" || c.Limit <= 0 {
		return nil, fmt.Errorf("claim needs an owner and a limit: %w", store.ErrInvalid)
	}
	var out []store.QueueEntry
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		now := c.Now.UnixNano()
		rows, err := w.query(`SELECT `+queueCols+` FROM queue WHERE next_attempt <= ? AND lease_until <= ? AND (? = '' OR domain = ?)
			ORDER BY next_attempt, id LIMIT ?`, now, now, c.Domain, c.Domain, c.Limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			q, err := scanQueue(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, q)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := c.Now.Add(c.Lease)
		for i := range out {
			if _, err := w.exec(`UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id = ?`, c.Owner, until.UnixNano(), out[i].ID); err != nil {
				return err
			}
			out[i].LeaseOwner, out[i].LeaseUntil = c.Owner, until.UTC()
		}
		return nil
	})
	return out, err
}

// checkLease enforces the ownership rule of SaveQueueEntry and
// DeleteQueueEntry. It returns the entry's blob.
func (w *wtx) checkLease(owner string, id store.QueueID) (string, error) {
	var holder, blob string
	var until int64
	err := w.queryRow(`SELECT lease_owner, lease_until, blob_id FROM queue WHERE id = ?`, id).Scan(&holder, &until, &blob)
	if errors.Is(err, sql.ErrNoRows) {
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
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.checkLease(owner, e.ID); err != nil {
			return err
		}
		_, err := w.exec(`UPDATE queue SET recipients = ?, next_attempt = ?, attempts = ?, last_error = ?, delay_notified = ?,
			lease_owner = '', lease_until = 0 WHERE id = ?`,
			string(rcpts), e.NextAttempt.UnixNano(), e.Attempts, e.LastError, e.DelayNotified, e.ID)
		if err == nil {
			w.change(store.Change{Kind: store.ChangeQueue})
		}
		return err
	})
}

// DeleteQueueEntry implements store.QueueStore.
func (s *Store) DeleteQueueEntry(ctx context.Context, owner string, id store.QueueID) error {
	return s.write(ctx, func(w *wtx) error {
		blob, err := w.checkLease(owner, id)
		if err != nil {
			return err
		}
		if _, err := w.exec(`DELETE FROM queue WHERE id = ?`, id); err != nil {
			return err
		}
		return w.unrefBlob(store.BlobID(blob), 1)
	})
}

// QueueEntry implements store.QueueStore.
func (s *Store) QueueEntry(ctx context.Context, id store.QueueID) (store.QueueEntry, error) {
	q, err := scanQueue(s.queryRow(ctx, `SELECT `+queueCols+` FROM queue WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return q, notFound("queue entry", id)
	}
	return q, err
}

// QueueEntries implements store.QueueStore.
func (s *Store) QueueEntries(ctx context.Context) ([]store.QueueEntry, error) {
	rows, err := s.query(ctx, `SELECT `+queueCols+` FROM queue ORDER BY next_attempt, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.QueueEntry
	for rows.Next() {
		q, err := scanQueue(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// NextQueueAttempt implements store.QueueStore.
func (s *Store) NextQueueAttempt(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.queryRow(ctx, `SELECT min(max(next_attempt, lease_until)) FROM queue`).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, false, err
	}
	return fromNanos(at.Int64), true, nil
}

// RescheduleQueue implements store.QueueStore.
func (s *Store) RescheduleQueue(ctx context.Context, id store.QueueID, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE queue SET next_attempt = ? WHERE ? = 0 OR id = ?`, at.UnixNano(), id, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 && id != 0 {
			return notFound("queue entry", id)
		}
		w.change(store.Change{Kind: store.ChangeQueue})
		return nil
	})
}
