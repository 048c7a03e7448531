package postgres

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"posthorn/internal/store"
)

// maxTextBytes caps the text indexed per body: a tsvector holds at most
// 1 MiB, and a text whose vector outgrew that would fail the whole batch.
const maxTextBytes = 256 << 10

// errBlobVanished says a blob a write counted on was deleted by a concurrent
// transaction before the batch could add its reference: the batch runs
// again, and the write then finds the blob missing.
var errBlobVanished = fmt.Errorf("postgres: blob deleted concurrently: %w", store.ErrNotFound)

// stagedBlob is a finished body not yet in the database: bytes in memory,
// or a temporary file for a large one. The Append that names it inserts it.
type stagedBlob struct {
	data []byte
	path string
	size int64
}

// bytes returns the staged body.
func (st *stagedBlob) bytes() ([]byte, error) {
	if st.path == "" {
		return st.data, nil
	}
	return os.ReadFile(st.path)
}

func newBlobID() store.BlobID {
	var b [16]byte
	rand.Read(b[:])
	return store.BlobID(hex.EncodeToString(b[:]))
}

// NewBlob implements store.Store.
func (s *Store) NewBlob(ctx context.Context) (store.BlobWriter, error) {
	return &blobWriter{s: s, id: newBlobID()}, nil
}

type blobWriter struct {
	s        *Store
	id       store.BlobID
	mem      bytes.Buffer
	f        *os.File // set once the body outgrew BlobMemMax
	bw       *bufio.Writer
	size     int64
	finished bool
	aborted  bool
}

func (b *blobWriter) Write(p []byte) (int, error) {
	if b.finished || b.aborted {
		return 0, errors.New("postgres: write to a finished blob")
	}
	if b.f == nil && b.mem.Len()+len(p) > b.s.blobMemMax {
		if err := b.spill(); err != nil {
			return 0, err
		}
	}
	var n int
	var err error
	if b.f != nil {
		n, err = b.bw.Write(p)
	} else {
		n, err = b.mem.Write(p)
	}
	b.size += int64(n)
	return n, err
}

// spill moves the body to a temporary file.
func (b *blobWriter) spill() error {
	f, err := os.CreateTemp(b.s.tempDir, "posthorn-blob-*")
	if err != nil {
		return fmt.Errorf("postgres: new blob: %w", err)
	}
	b.f = f
	b.bw = bufio.NewWriterSize(f, 64<<10)
	_, err = b.bw.Write(b.mem.Bytes())
	b.mem = bytes.Buffer{}
	return err
}

// Finish stages the body in this process. It needs no fsync: the body
// becomes durable with the transaction of the Append that names it, which
// is what a caller waits for before acknowledging the message.
func (b *blobWriter) Finish() (store.BlobID, int64, error) {
	if b.aborted {
		return "", 0, errors.New("postgres: blob aborted")
	}
	if b.finished {
		return b.id, b.size, nil
	}
	st := &stagedBlob{size: b.size}
	if b.f == nil {
		st.data = b.mem.Bytes()
		if st.data == nil {
			st.data = []byte{}
		}
	} else {
		err := b.bw.Flush()
		if cerr := b.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(b.f.Name())
			b.aborted = true
			return "", 0, fmt.Errorf("postgres: write blob: %w", err)
		}
		st.path = b.f.Name()
	}
	b.finished = true
	b.s.mu.Lock()
	b.s.staged[b.id] = st
	b.s.mu.Unlock()
	return b.id, b.size, nil
}

// Abort implements store.BlobWriter: it forgets a staged body. Once an
// Append naming the body has committed, the body is no longer staged and
// Abort has nothing to do.
func (b *blobWriter) Abort() {
	if b.aborted {
		return
	}
	b.aborted = true
	if !b.finished {
		if b.f != nil {
			b.f.Close()
			os.Remove(b.f.Name())
		}
		return
	}
	b.s.mu.Lock()
	st, ok := b.s.staged[b.id]
	if ok {
		delete(b.s.staged, b.id)
	}
	b.s.mu.Unlock()
	if ok && st.path != "" {
		os.Remove(st.path)
	}
}

// dropStaged forgets staged bodies that a committed batch inserted.
func (s *Store) dropStaged(ids []store.BlobID) {
	if len(ids) == 0 {
		return
	}
	var files []string
	s.mu.Lock()
	for _, id := range ids {
		if st, ok := s.staged[id]; ok {
			delete(s.staged, id)
			if st.path != "" {
				files = append(files, st.path)
			}
		}
	}
	s.mu.Unlock()
	for _, f := range files {
		os.Remove(f)
	}
}

// OpenBlob implements store.Store. A stored body is read into memory whole.
func (s *Store) OpenBlob(ctx context.Context, id store.BlobID) (store.Blob, error) {
	s.mu.Lock()
	st, ok := s.staged[id]
	s.mu.Unlock()
	if ok && st.path == "" {
		return memBlob{bytes.NewReader(st.data)}, nil
	}
	if ok {
		if f, err := os.Open(st.path); err == nil {
			return &fileBlob{SectionReader: io.NewSectionReader(f, 0, st.size), f: f}, nil
		}
		// Inserted by a batch and removed meanwhile: read it below.
	}
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM blobs WHERE id = $1`, string(id)).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("blob", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: blob %s: %w", id, err)
	}
	return memBlob{bytes.NewReader(data)}, nil
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

type fileBlob struct {
	*io.SectionReader
	f *os.File
}

func (b *fileBlob) Close() error { return b.f.Close() }

// stagedSize returns the size of a staged blob.
func (s *Store) stagedSize(id store.BlobID) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.staged[id]; ok {
		return st.size, true
	}
	return 0, false
}

// blobSize returns the size of a stored blob inside a write.
func (w *wtx) blobSize(id store.BlobID) (int64, error) {
	var size int64
	err := w.queryRow(`SELECT size FROM blobs WHERE id = $1`, string(id)).Scan(&size)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("blob", id)
	}
	return size, err
}

// applyBlobRefs applies the batch's reference deltas, blob by blob in id
// order (the last lock class, after accounts and mailboxes). Staged bodies
// are inserted with their references and their text indexed; stored ones
// are counted up or down, and deleted when no reference is left. What
// cannot fail for want of a row is queued on tail, to go with COMMIT. It
// returns the staged blobs inserted.
func (s *Store) applyBlobRefs(ctx context.Context, conn *pgxpool.Conn, batch []*writeOp, tail *pgx.Batch) ([]store.BlobID, error) {
	refs := map[store.BlobID]int64{}
	text := map[store.BlobID]string{}
	for _, op := range batch {
		for id, n := range op.w.refs {
			refs[id] += n
		}
		for id, t := range op.w.text {
			text[id] = t
		}
	}
	ids := make([]store.BlobID, 0, len(refs))
	for id, n := range refs {
		if n != 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var ins blobRows
	var old []string
	var oldN []int64
	for _, id := range ids {
		s.mu.Lock()
		st, staged := s.staged[id]
		s.mu.Unlock()
		if staged && refs[id] > 0 {
			data, err := st.bytes()
			if err == nil {
				ins.add(id, st.size, refs[id], data, text[id])
				continue
			}
			if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("postgres: read staged blob: %w", err)
			}
			// Inserted by another batch meanwhile: count it as stored.
		}
		old = append(old, string(id))
		oldN = append(oldN, refs[id])
	}
	if len(old) > 0 {
		if slices.ContainsFunc(oldN, func(n int64) bool { return n > 0 }) {
			// A reference added to a stored blob: check before COMMIT that
			// the blob is still there.
			if err := countRefs(ctx, conn, old, oldN); err != nil {
				return nil, err
			}
		} else {
			queueCountRefs(tail, old, oldN, nil)
		}
	}
	ins.queue(tail)
	return ins.adopted, nil
}

// blobRows collects staged bodies to insert with one statement.
type blobRows struct {
	ids     []string
	sizes   []int64
	refs    []int64
	data    [][]byte
	textIDs []string
	texts   []string
	adopted []store.BlobID
}

func (r *blobRows) add(id store.BlobID, size, refs int64, data []byte, text string) {
	r.ids = append(r.ids, string(id))
	r.sizes = append(r.sizes, size)
	r.refs = append(r.refs, refs)
	r.data = append(r.data, data)
	r.adopted = append(r.adopted, id)
	if text != "" {
		r.textIDs = append(r.textIDs, string(id))
		r.texts = append(r.texts, clean(truncateText(text)))
	}
}

// queue inserts the bodies and indexes their text. A body another batch
// inserted first (the same staged blob named by two concurrent Appends)
// gains the references instead, and keeps its index entry.
func (r *blobRows) queue(b *pgx.Batch) {
	if len(r.ids) == 0 {
		return
	}
	b.Queue(`WITH ins AS (
			INSERT INTO blobs (id, size, refs, data)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[])
			ON CONFLICT (id) DO UPDATE SET refs = blobs.refs + excluded.refs
			RETURNING id)
		INSERT INTO blob_text (blob_id, tsv)
		SELECT x.id, to_tsvector('simple', x.t) FROM unnest($5::text[], $6::text[]) AS x(id, t) JOIN ins ON ins.id = x.id
		ON CONFLICT (blob_id) DO NOTHING`, r.ids, r.sizes, r.refs, r.data, textArray(r.textIDs), textArray(r.texts))
}

// queueCountRefs adds deltas to stored blobs, locking them in id order
// first, and deletes those left without references (their text goes by
// cascade). found, when set, receives the ids of the blobs updated.
func queueCountRefs(b *pgx.Batch, ids []string, deltas []int64, found map[string]bool) {
	b.Queue(`SELECT id FROM blobs WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`, ids)
	q := b.Queue(`UPDATE blobs SET refs = blobs.refs + d.n
		FROM unnest($1::text[], $2::bigint[]) AS d(id, n) WHERE blobs.id = d.id RETURNING blobs.id`, ids, deltas)
	if found != nil {
		q.Query(func(rows pgx.Rows) error {
			var id string
			_, err := pgx.ForEachRow(rows, []any{&id}, func() error { found[id] = true; return nil })
			return err
		})
	}
	b.Queue(`DELETE FROM blobs WHERE id = ANY($1::text[]) AND refs <= 0`, ids)
}

// countRefs runs queueCountRefs now and fails with errBlobVanished when a
// blob that gains references is gone.
func countRefs(ctx context.Context, conn *pgxpool.Conn, ids []string, deltas []int64) error {
	b := &pgx.Batch{}
	found := map[string]bool{}
	queueCountRefs(b, ids, deltas, found)
	if err := sendBatch(ctx, conn, b); err != nil {
		return fmt.Errorf("postgres: count blob references: %w", err)
	}
	for i, id := range ids {
		if deltas[i] > 0 && !found[id] {
			return errBlobVanished
		}
	}
	return nil
}

// truncateText cuts s to maxTextBytes at a character boundary.
func truncateText(s string) string {
	if len(s) <= maxTextBytes {
		return s
	}
	i := maxTextBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
