package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"posthorn/internal/store"
)

// writeOp is one write waiting for the committer.
type writeOp struct {
	ctx  context.Context
	fn   func(w *wtx) error
	done chan error
	w    wtx
}

// wtx is the view a write function has of the shared transaction. What it
// records (changes, files to remove, blobs adopted) takes effect only when
// its savepoint is kept and the transaction commits.
type wtx struct {
	s       *Store
	conn    *sql.Conn
	ctx     context.Context
	changes []store.Change
	remove  []string        // files to delete after commit
	adopted []store.BlobID  // staged blobs now referenced by the database
	dirs    map[string]bool // blob directories to fsync before commit
	// batchAdopted holds the staged blobs adopted by earlier writes of the
	// same transaction: a later write naming one only adds references.
	batchAdopted map[store.BlobID]bool
	// batchModSeq holds each account's MODSEQ as raised by this group.
	batchModSeq map[store.AccountID]store.ModSeq
	// lastMessageID is the group's message id counter (0: not read yet).
	lastMessageID *int64
	// textAdded counts the texts the write left for the indexer.
	textAdded int
	stmts     map[string]*sql.Stmt
}

// write runs fn in the next group commit and waits until that commit is
// durable (or fails). Once queued, the write is always waited for, even if
// ctx ends: a caller must never believe a write failed that then commits.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return store.ErrClosed
	}
	op := &writeOp{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return store.ErrClosed
	}
	return <-op.done
}

func (s *Store) commitLoop(conn *sql.Conn) {
	defer s.wg.Done()
	defer conn.Close()
	defer s.packs.close()
	stmts := make(map[string]*sql.Stmt)
	for {
		var first *writeOp
		select {
		case first = <-s.writes:
		case <-s.stop:
			// Drain what was queued before Close.
			for {
				select {
				case op := <-s.writes:
					s.commitBatch(conn, stmts, []*writeOp{op})
				default:
					return
				}
			}
		}
		batch := []*writeOp{first}
	gather:
		for len(batch) < s.maxBatch {
			select {
			case op := <-s.writes:
				batch = append(batch, op)
			default:
				break gather
			}
		}
		s.commitBatch(conn, stmts, batch)
	}
}

// commitBatch runs a group of writes in one transaction and commits them
// with one fsync. Writes run without savepoints (SQLite's statement
// journals and FTS5's flush at every savepoint cost more than the writes):
// when one fails, the transaction is rolled back, that write gets its error,
// and the others run again without it. Write functions are therefore
// re-runnable: they reset what they report at their start.
func (s *Store) commitBatch(conn *sql.Conn, stmts map[string]*sql.Stmt, batch []*writeOp) {
	for len(batch) > 0 {
		failed, err := s.tryBatch(conn, stmts, batch)
		if failed < 0 {
			if err != nil { // the transaction itself failed
				for _, op := range batch {
					op.done <- err
				}
			}
			return
		}
		batch[failed].done <- err
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// tryBatch runs the batch in one transaction. It returns the index of a
// write that failed (everything rolled back), or -1 with nil after a
// successful commit (every write answered), or -1 with the error that
// failed the transaction as a whole (nobody answered).
func (s *Store) tryBatch(conn *sql.Conn, stmts map[string]*sql.Stmt, batch []*writeOp) (int, error) {
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return -1, fmt.Errorf("sqlite: begin: %w", err)
	}
	rollback := func() { conn.ExecContext(ctx, "ROLLBACK") }
	dirs := make(map[string]bool)
	adopted := make(map[store.BlobID]bool)
	modseqs := make(map[store.AccountID]store.ModSeq)
	var lastID int64
	for i, op := range batch {
		op.w = wtx{s: s, conn: conn, ctx: op.ctx, dirs: dirs, batchAdopted: adopted, batchModSeq: modseqs, lastMessageID: &lastID, stmts: stmts}
		if err := op.fn(&op.w); err != nil {
			rollback()
			return i, err
		}
	}
	if len(batch) > 0 {
		if err := batch[0].w.flushModSeqs(); err != nil {
			rollback()
			return -1, err
		}
	}
	// Bodies appended to a pack or renamed into blobs/ must be durable, with
	// their directory entries, before any row that names them commits.
	if err := s.packs.sync(); err != nil {
		rollback()
		return -1, err
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			rollback()
			return -1, fmt.Errorf("sqlite: fsync %s: %w", d, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback()
		return -1, fmt.Errorf("sqlite: commit: %w", err)
	}
	var changes []store.Change
	s.mu.Lock()
	for _, op := range batch {
		for _, id := range op.w.adopted {
			delete(s.staged, id)
		}
	}
	s.mu.Unlock()
	for _, op := range batch {
		for _, c := range op.w.changes {
			if c.Kind != 0 { // Kind 0 marks a MODSEQ bookmark, not a change
				changes = append(changes, c)
			}
		}
		for _, f := range op.w.remove {
			os.Remove(f)
		}
	}
	// Publish before answering, so a writer that subscribes right after
	// its write returns cannot receive that write's changes.
	s.feed.Publish(changes)
	added := 0
	for _, op := range batch {
		added += op.w.textAdded
	}
	if added > 0 {
		s.textBacklog.Add(int64(added))
		s.kickIndexer()
	}
	for _, op := range batch {
		op.done <- nil
	}
	return -1, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// stmt returns a prepared statement on the writer connection, cached.
func (w *wtx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare %q: %w", firstLine(query), err)
	}
	w.stmts[query] = st
	return st, nil
}

func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(w.ctx, args...)
}

func (w *wtx) queryRow(query string, args ...any) *sql.Row {
	st, err := w.stmt(query)
	if err != nil {
		// A *sql.Row cannot be built with an error from outside; run the
		// query unprepared so the error surfaces through Scan.
		return w.conn.QueryRowContext(w.ctx, query, args...)
	}
	return st.QueryRowContext(w.ctx, args...)
}

func (w *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(w.ctx, args...)
}

func (w *wtx) change(c store.Change) { w.changes = append(w.changes, c) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
