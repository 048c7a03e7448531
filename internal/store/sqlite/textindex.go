package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"posthorn/internal/store"
)

// The full-text index is fed in batches, off the path of an append: each
// append leaves a row in blob_text_pending (with the text, or without it
// when Options.TextOf can extract it from the body later), and the indexer
// moves pending text into the FTS5 table blob_text a few thousand bodies at
// a time, once appends pause. FTS5 writes one index segment per
// transaction; fed by every group commit, it wrote (and later merged) a
// small segment per ~20 messages, and tokenising (unicode61, in the
// transpiled C) was close to half the CPU of a bulk APPEND. Deferred, that
// work leaves a burst (a bulk APPEND, an MX flood, a migration) and is done
// in the pause after it, as Dovecot's FTS plugins index lazily. It is
// deferred, not saved: about 150 µs of CPU per 8 KiB text message here.
//
// A search first indexes whatever is pending (flushText), so it never
// misses a message that was appended; under load that never pauses the
// indexer runs at textBacklogMax, which bounds what such a search waits for
// (100,000 texts, about 15 s here: the price of an index that does not tax
// every append).

// textBatch is how many texts one indexing write moves.
const textBatch = 2000

// indexQuiet is how long appends must pause before the indexer runs.
const indexQuiet = time.Second

// textBacklogMax is the backlog at which the indexer runs without a pause.
const textBacklogMax = 100000

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
// pending. Texts to extract (Options.TextOf) are read from their bodies
// outside the writer, so appends go on meanwhile.
func (s *Store) flushText(ctx context.Context) error {
	if !s.textPending.Load() {
		return nil
	}
	// One flusher at a time (the indexer, searches): a second would read
	// and extract the same batch again.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.textBacklog.Store(0)
	for s.textPending.Load() {
		batch, err := s.pendingTexts(ctx)
		if err != nil {
			return err
		}
		err = s.write(ctx, func(w *wtx) error {
			if len(batch) == 0 {
				// Clear the flag inside the writer, where no append is
				// between the count and the store.
				var n int
				if err := w.queryRow(`SELECT count(*) FROM blob_text_pending`).Scan(&n); err != nil {
					return err
				}
				if n == 0 {
					s.textPending.Store(false)
				}
				return nil
			}
			for _, p := range batch {
				// A body expunged since the read took its pending row along
				// (unrefBlob): index only what is still pending.
				res, err := w.exec(`DELETE FROM blob_text_pending WHERE seq = ?`, p.seq)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 || p.text == "" {
					continue
				}
				if _, err := w.exec(`INSERT INTO blob_text (rowid, text) VALUES (?, ?)`, p.seq, p.text); err != nil {
					return err
				}
			}
			return nil
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

// pendingText is one body waiting for the index.
type pendingText struct {
	seq  int64
	text string
}

// pendingTexts reads the oldest pending bodies (up to textBatch) with their
// text, extracting what was not kept.
func (s *Store) pendingTexts(ctx context.Context) ([]pendingText, error) {
	rows, err := s.query(ctx, `SELECT p.seq, b.id, p.text FROM blob_text_pending p JOIN blobs b ON b.seq = p.seq ORDER BY p.seq LIMIT ?`, textBatch)
	if err != nil {
		return nil, err
	}
	var out []pendingText
	var extract []store.BlobID // per entry of out; "" where the text was kept
	for rows.Next() {
		var p pendingText
		var id string
		var text sql.NullString
		if err := rows.Scan(&p.seq, &id, &text); err != nil {
			rows.Close()
			return nil, err
		}
		p.text = text.String
		if text.Valid {
			id = ""
		}
		out, extract = append(out, p), append(extract, store.BlobID(id))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Extract after the rows are closed: reading a body may need a
	// connection of the reader pool too.
	for i, id := range extract {
		if id != "" && s.textOf != nil {
			out[i].text = s.extractText(ctx, id)
		}
	}
	return out, nil
}

// extractText reads a body's text with Options.TextOf; a body that cannot
// be read is indexed without text (and logged).
func (s *Store) extractText(ctx context.Context, id store.BlobID) string {
	b, err := s.OpenBlob(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("sqlite: full-text indexing: reading body", "blob", id, "err", err)
		}
		return ""
	}
	defer b.Close()
	text, err := s.textOf(b)
	if err != nil {
		s.log.Warn("sqlite: full-text indexing: extracting text", "blob", id, "err", err)
	}
	return text
}
