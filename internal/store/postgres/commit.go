package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"posthorn/internal/store"
)

// maxAttempts bounds how often a batch is run again after a deadlock, a
// serialization failure or a lost connection.
const maxAttempts = 6

// lockSet names the rows a write will change, so that its batch can lock
// them up front in one global order: accounts by id, then mailboxes by id
// (blob rows come last, when the batch applies its reference counts). With
// every writer taking locks in that order, concurrent batches, here or on
// other nodes, wait for each other instead of deadlocking.
type lockSet struct {
	accounts  []store.AccountID
	mailboxes []store.MailboxID
}

// shard picks the committer: by account when known, so the writes of one
// account gather in one committer's batches instead of queueing for the
// account row in several.
func (k lockSet) shard(n int) int {
	switch {
	case len(k.accounts) > 0:
		return int(uint64(k.accounts[0]) % uint64(n))
	case len(k.mailboxes) > 0:
		return int(uint64(k.mailboxes[0]) % uint64(n))
	}
	return 0
}

// writeOp is one write waiting for a committer.
type writeOp struct {
	lock lockSet
	fn   func(w *wtx) error
	// queue, when set, is a way to run the write without waiting for each
	// statement: it queues the statements on b and returns read, which
	// reads their results in order once b is sent. Consecutive queueing
	// writes share one round trip. A nil read (and nil error) means the
	// write cannot queue this time and fn runs instead; queue must then
	// have queued nothing.
	queue func(w *wtx, b *pgx.Batch) (read func(pgx.BatchResults) error, err error)
	done  chan error
	w     wtx
}

// write runs fn in the next batch of its committer and waits until that
// batch has committed (or failed). Once queued, the write is waited for even
// if ctx ends: a caller must never believe a write failed that then commits.
// fn may run more than once (a batch is re-run without a failed write, or
// after a deadlock), so it resets whatever it reports at its start.
func (s *Store) write(ctx context.Context, lock lockSet, fn func(w *wtx) error) error {
	return s.submit(ctx, &writeOp{lock: lock, fn: fn})
}

// submit queues op for its committer and waits for the outcome, as write.
func (s *Store) submit(ctx context.Context, op *writeOp) error {
	op.done = make(chan error, 1)
	lock := op.lock
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.shards[lock.shard(len(s.shards))] <- op:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()
	return <-op.done
}

func (s *Store) commitLoop(ch chan *writeOp) {
	defer s.wg.Done()
	for {
		var first *writeOp
		select {
		case first = <-ch:
		case <-s.stop:
			// Close has been called: no write can be queued any more;
			// run the ones already queued.
			for {
				select {
				case op := <-ch:
					s.runBatch(s.gather(ch, op))
				default:
					return
				}
			}
		}
		s.runBatch(s.gather(ch, first))
	}
}

// gather takes the writes waiting right now, up to maxBatch.
func (s *Store) gather(ch chan *writeOp, first *writeOp) []*writeOp {
	batch := []*writeOp{first}
	for len(batch) < s.maxBatch {
		select {
		case op := <-ch:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

// errUncertain says the connection broke while COMMIT was under way: the
// batch may or may not have committed, so it is not run again.
var errUncertain = errors.New("postgres: connection lost during COMMIT, outcome unknown")

// runBatch commits a group of writes in one transaction. Writes run without
// savepoints: when one fails, the transaction is rolled back, that write
// gets its error and the others run again without it. When the batch fails
// as a whole (a body the server refuses, say), each write runs alone, so
// that only the culprit fails.
func (s *Store) runBatch(batch []*writeOp) {
	for len(batch) > 0 {
		failed, err := s.tryBatchRetrying(batch)
		if failed < 0 {
			if err == nil {
				return
			}
			if len(batch) > 1 && !errors.Is(err, errUncertain) {
				for _, op := range batch {
					s.runBatch([]*writeOp{op})
				}
				return
			}
			for _, op := range batch {
				op.done <- err
			}
			return
		}
		batch[failed].done <- err
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

func (s *Store) tryBatchRetrying(batch []*writeOp) (int, error) {
	for attempt := 1; ; attempt++ {
		failed, err, again := s.tryBatch(batch)
		if !again || attempt == maxAttempts {
			return failed, err
		}
		// Back off a little, with jitter, so that two batches that
		// deadlocked do not collide again at once.
		time.Sleep(time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond)
	}
}

// tryBatch runs the batch in one transaction. It returns the index of a
// write that failed (everything rolled back), or -1 with nil after a
// successful commit (every write answered), or -1 with the error that
// failed the batch as a whole (nobody answered); again says that error is
// worth another attempt.
//
// The transaction is driven by hand so that statements whose results need
// no inspection share a round trip: BEGIN goes with the row locks, and the
// blob inserts, NOTIFY and COMMIT go together at the end.
func (s *Store) tryBatch(batch []*writeOp) (failed int, err error, again bool) {
	ctx := context.Background()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return -1, fmt.Errorf("postgres: %w", err), false
	}
	// A connection left inside a transaction (an error before COMMIT) is
	// rolled back here; Release would discard it otherwise.
	defer func() {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			conn.Exec(ctx, "ROLLBACK")
		}
		conn.Release()
	}()
	transient := func(err error) bool { return isTransient(err) || conn.Conn().IsClosed() }
	if failed, err := s.runOps(ctx, conn, batch); err != nil {
		if transient(err) {
			return -1, err, true
		}
		if failed < 0 {
			return -1, fmt.Errorf("postgres: begin: %w", err), false
		}
		return failed, err, false
	}
	tail := &pgx.Batch{}
	adopted, err := s.applyBlobRefs(ctx, conn, batch, tail)
	if err != nil {
		return -1, err, transient(err) || errors.Is(err, errBlobVanished)
	}
	var changes []store.Change
	for _, op := range batch {
		for _, c := range op.w.changes {
			if c.Kind != 0 { // Kind 0 marks a MODSEQ bookmark, not a change
				changes = append(changes, c)
			}
		}
	}
	for _, payload := range encodeChanges(changes) {
		tail.Queue(`SELECT pg_notify($1, $2)`, s.channel, payload)
	}
	tail.Queue(`COMMIT`)
	if err := sendBatch(ctx, conn, tail); err != nil {
		// An error the server reported means the transaction did not
		// commit (a statement before COMMIT failed, and COMMIT was skipped,
		// or COMMIT itself failed); a lost connection leaves it unknown.
		var pe *pgconn.PgError
		if !errors.As(err, &pe) && !pgconn.SafeToRetry(err) {
			return -1, fmt.Errorf("%w: %w", errUncertain, err), false
		}
		return -1, fmt.Errorf("postgres: commit: %w", err), isTransient(err)
	}
	s.dropStaged(adopted)
	for _, op := range batch {
		op.done <- nil
	}
	return -1, nil, false
}

// runOps begins the transaction, locks the batch's rows and runs its
// writes in order. It returns the index of the write that failed, or -1
// for an error of the batch as a whole.
func (s *Store) runOps(ctx context.Context, conn *pgxpool.Conn, batch []*writeOp) (int, error) {
	type reader struct {
		owner int // index of the write, -1 for BEGIN and the locks
		read  func(pgx.BatchResults) error
	}
	// The pipeline starts with BEGIN and the locks, so they share the
	// first writes' round trip.
	pipe := lockRows(batch)
	nlock := pipe.Len()
	readers := []reader{{-1, func(br pgx.BatchResults) error {
		for range nlock {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
	}}}
	flush := func() (int, error) {
		if pipe.Len() == 0 {
			return -1, nil
		}
		br := conn.SendBatch(ctx, pipe)
		for _, r := range readers {
			if err := r.read(br); err != nil {
				br.Close()
				return r.owner, err
			}
		}
		pipe, readers = &pgx.Batch{}, nil
		return -1, br.Close()
	}
	for i, op := range batch {
		op.w = wtx{s: s, db: conn, ctx: ctx}
		if op.queue != nil {
			read, err := op.queue(&op.w, pipe)
			if err != nil {
				return i, err
			}
			if read != nil {
				readers = append(readers, reader{i, read})
				continue
			}
			op.w = wtx{s: s, db: conn, ctx: ctx}
		}
		if failed, err := flush(); err != nil {
			return failed, err
		}
		if err := op.fn(&op.w); err != nil {
			return i, err
		}
	}
	return flush()
}

// sendBatch sends queued statements in one round trip and returns the first
// error. After an error the server skips the rest.
func sendBatch(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return conn.SendBatch(ctx, b).Close()
}

// lockRows begins the transaction and locks the rows the batch's writes
// named: accounts by id (including those owning the named mailboxes), then
// mailboxes by id.
func lockRows(batch []*writeOp) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	var accounts, mailboxes []int64
	for _, op := range batch {
		for _, a := range op.lock.accounts {
			accounts = append(accounts, int64(a))
		}
		for _, m := range op.lock.mailboxes {
			mailboxes = append(mailboxes, int64(m))
		}
	}
	accounts, mailboxes = sortedUnique(accounts), sortedUnique(mailboxes)
	switch {
	case len(mailboxes) > 0:
		b.Queue(`SELECT id FROM accounts
			WHERE id IN (SELECT unnest($1::bigint[]) UNION SELECT account_id FROM mailboxes WHERE id = ANY($2::bigint[]))
			ORDER BY id FOR NO KEY UPDATE`, accounts, mailboxes)
		b.Queue(`SELECT id FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`, mailboxes)
	case len(accounts) > 0:
		b.Queue(`SELECT id FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`, accounts)
	}
	return b
}

func sortedUnique(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// isTransient reports whether err is a PostgreSQL error after which the
// same transaction may well succeed when run again.
func isTransient(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"55P03": // lock_not_available
		return true
	}
	return false
}
