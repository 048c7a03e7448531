package sqlite

import (
	"context"
	"time"
)

// The full-text index is fed in batches, off the path of an append: each
// append leaves its text in blob_text_pending, and the indexer moves
// pending text into the FTS5 table blob_text a few thousand messages at a
// time, when appends pause. FTS5 writes one index segment per transaction;
// fed by every group commit, it wrote (and later merged) a small segment
// per ~20 messages, and tokenising is most of the CPU an append costs
// (unicode61 in the transpiled C). Deferring it keeps that work out of a
// burst (a bulk APPEND, an MX flood) and does it at once afterwards, as
// Dovecot's lazy FTS indexing does. A search first indexes whatever is
// pending (flushText), so it never misses a message that was appended,
// and the backlog is capped (textBacklogMax) so that such a search stays
// quick under endless load.

// textBatch is how many texts one indexing write moves.
const textBatch = 2000

// indexQuiet is how long appends must pause before the indexer runs.
const indexQuiet = time.Second

// textBacklogMax is the backlog at which the indexer runs without a pause.
const textBacklogMax = 10000

func (s *Store) kickIndexer() {
	select {
	case s.indexKick <- struct{}{}:
	default:
	}
}

// indexLoop runs the indexer until the store closes.
func (s *Store) indexLoop() {
	defer s.wg.Done()
	quiet := time.NewTimer(indexQuiet)
	quiet.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.indexKick:
		}
		// Wait for a quiet spell: every further append restarts the wait,
		// unless the backlog is already large.
		quiet.Reset(indexQuiet)
	wait:
		for s.textBacklog.Load() < textBacklogMax {
			select {
			case <-s.stop:
				return
			case <-s.indexKick:
				quiet.Reset(indexQuiet)
			case <-quiet.C:
				break wait
			}
		}
		quiet.Stop()
		if err := s.flushText(context.Background()); err != nil {
			s.log.Warn("sqlite: full-text indexing", "err", err)
		}
	}
}

// flushText indexes every pending text. It is cheap when nothing is
// pending.
func (s *Store) flushText(ctx context.Context) error {
	s.textBacklog.Store(0)
	for s.textPending.Load() {
		var moved int64
		err := s.write(ctx, func(w *wtx) error {
			moved = 0
			var last int64
			err := w.queryRow(`SELECT coalesce(max(seq), 0), count(*) FROM (SELECT seq FROM blob_text_pending ORDER BY seq LIMIT ?)`, textBatch).Scan(&last, &moved)
			if err != nil || moved == 0 {
				if err == nil {
					s.textPending.Store(false) // inside the writer: no append is between
				}
				return err
			}
			if _, err := w.exec(`INSERT INTO blob_text (rowid, text) SELECT seq, text FROM blob_text_pending WHERE seq <= ?`, last); err != nil {
				return err
			}
			_, err = w.exec(`DELETE FROM blob_text_pending WHERE seq <= ?`, last)
			return err
		})
		if err != nil {
			s.textPending.Store(true) // the write may not have landed
			return err
		}
		// Loop until a write finds nothing pending (and clears the flag);
		// appends committed meanwhile set it again.
	}
	return nil
}
