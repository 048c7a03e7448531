package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"posthorn/internal/store"
)

// wtx is the view one write has of its batch's transaction. What it records
// (changes, blob references) takes effect only when the batch commits.
type wtx struct {
	s       *Store
	db      *pgxpool.Conn // inside the batch's transaction
	ctx     context.Context
	changes []store.Change
	refs    map[store.BlobID]int64  // reference count deltas
	text    map[store.BlobID]string // full text of bodies this write adds
}

func (w *wtx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	return w.db.Exec(w.ctx, sql, args...)
}

func (w *wtx) queryRow(sql string, args ...any) pgx.Row { return w.db.QueryRow(w.ctx, sql, args...) }

func (w *wtx) query(sql string, args ...any) (pgx.Rows, error) {
	return w.db.Query(w.ctx, sql, args...)
}

func (w *wtx) change(c store.Change) { w.changes = append(w.changes, c) }

// ref records n more (or, negative, fewer) references to a blob; the batch
// applies the sum per blob just before COMMIT.
func (w *wtx) ref(id store.BlobID, n int64) {
	if w.refs == nil {
		w.refs = make(map[store.BlobID]int64)
	}
	w.refs[id] += n
}

// modseq raises the account's MODSEQ once per write and returns the new
// value; later calls in the same write return the same value. The batch
// already holds the account's row lock.
func (w *wtx) modseq(account store.AccountID) (store.ModSeq, error) {
	for _, c := range w.changes {
		if c.AccountID == account && c.ModSeq != 0 {
			return c.ModSeq, nil
		}
	}
	var m store.ModSeq
	err := w.queryRow(`UPDATE accounts SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq`, account).Scan(&m)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("account", account)
	}
	if err != nil {
		return 0, err
	}
	// A bookmark for the next call; Kind 0 entries are not published.
	w.changes = append(w.changes, store.Change{AccountID: account, ModSeq: m})
	return m, nil
}

// accountModSeq reads the account's MODSEQ without raising it.
func (w *wtx) accountModSeq(account store.AccountID) (store.ModSeq, error) {
	var m store.ModSeq
	err := w.queryRow(`SELECT modseq FROM accounts WHERE id = $1`, account).Scan(&m)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("account", account)
	}
	return m, err
}

// mailboxAccount returns the account and name of a mailbox inside a write.
func (w *wtx) mailboxAccount(id store.MailboxID) (store.AccountID, string, error) {
	var a store.AccountID
	var name string
	err := w.queryRow(`SELECT account_id, name FROM mailboxes WHERE id = $1`, id).Scan(&a, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", notFound("mailbox", id)
	}
	return a, name, err
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool { return pgCode(err) == "23505" }

func isForeignKey(err error) bool { return pgCode(err) == "23503" }

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

// clean makes s storable in a text column: PostgreSQL refuses NUL bytes
// and invalid UTF-8, which decoded headers of hostile mail may contain.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// textArray returns a slice for a NOT NULL text[] column (nil encodes as
// NULL), and nilIfEmpty the reverse for what is read back.
func textArray(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
