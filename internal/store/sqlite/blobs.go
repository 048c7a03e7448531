package sqlite

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"posthorn/internal/store"
)

// stagedBlob is a body that is durable on disk but not yet referenced by a
// committed row.
type stagedBlob struct {
	path string // tmp/ID until adopted, then blobs/HOUR/ID
	size int64
}

// newBlobID makes an id whose first part is the hour in hex: the bodies of
// one hour share a directory.
func newBlobID() store.BlobID {
	var b [12]byte
	rand.Read(b[:])
	return store.BlobID(fmt.Sprintf("%06x-%s", time.Now().Unix()/3600, hex.EncodeToString(b[:])))
}

// blobPath returns where a committed blob lives, or "" for a malformed id.
func (s *Store) blobPath(id store.BlobID) string {
	str := string(id)
	i := strings.IndexByte(str, '-')
	if i <= 0 || strings.ContainsAny(str, `/\.`) {
		return ""
	}
	return filepath.Join(s.dir, "blobs", str[:i], str)
}

// NewBlob implements store.Store.
func (s *Store) NewBlob(ctx context.Context) (store.BlobWriter, error) {
	id := newBlobID()
	path := filepath.Join(s.dir, "tmp", string(id))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: new blob: %w", err)
	}
	return &blobWriter{s: s, id: id, path: path, f: f, bw: bufio.NewWriterSize(f, 64<<10)}, nil
}

type blobWriter struct {
	s        *Store
	id       store.BlobID
	path     string
	f        *os.File
	bw       *bufio.Writer
	size     int64
	finished bool
	aborted  bool
}

func (b *blobWriter) Write(p []byte) (int, error) {
	if b.finished || b.aborted {
		return 0, errors.New("sqlite: write to a finished blob")
	}
	n, err := b.bw.Write(p)
	b.size += int64(n)
	return n, err
}

// Finish flushes and fsyncs the body in the caller's goroutine, so that many
// deliveries fsync in parallel; the committer later renames it into blobs/.
func (b *blobWriter) Finish() (store.BlobID, int64, error) {
	if b.aborted {
		return "", 0, errors.New("sqlite: blob aborted")
	}
	if b.finished {
		return b.id, b.size, nil
	}
	err := b.bw.Flush()
	if err == nil {
		err = b.f.Sync()
	}
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(b.path)
		b.aborted = true
		return "", 0, fmt.Errorf("sqlite: write blob: %w", err)
	}
	b.finished = true
	b.s.mu.Lock()
	b.s.staged[b.id] = &stagedBlob{path: b.path, size: b.size}
	b.s.mu.Unlock()
	return b.id, b.size, nil
}

func (b *blobWriter) Abort() {
	if b.aborted {
		return
	}
	b.aborted = true
	if !b.finished {
		b.f.Close()
		os.Remove(b.path)
		return
	}
	b.s.mu.Lock()
	st, ok := b.s.staged[b.id]
	if ok {
		delete(b.s.staged, b.id)
	}
	b.s.mu.Unlock()
	if ok {
		os.Remove(st.path)
	}
}

// OpenBlob implements store.Store.
func (s *Store) OpenBlob(ctx context.Context, id store.BlobID) (store.Blob, error) {
	s.mu.Lock()
	st, ok := s.staged[id]
	s.mu.Unlock()
	path := s.blobPath(id)
	if ok {
		path = st.path
	}
	if path == "" {
		return nil, fmt.Errorf("blob %q: %w", id, store.ErrNotFound)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && ok {
		// Adopted by the committer between our lookup and the open.
		f, err = os.Open(s.blobPath(id))
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("blob %q: %w", id, store.ErrNotFound)
		}
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileBlob{File: f, size: info.Size()}, nil
}

type fileBlob struct {
	*os.File
	size int64
}

func (b *fileBlob) Size() int64 { return b.size }

// refBlob adds n references to a blob inside a write. A staged blob is
// adopted: renamed into blobs/, inserted with n references and its text
// indexed. It returns the blob's size.
func (w *wtx) refBlob(id store.BlobID, n int, text string) (int64, error) {
	w.s.mu.Lock()
	st, staged := w.s.staged[id]
	w.s.mu.Unlock()
	if !staged {
		var size int64
		err := w.queryRow(`UPDATE blobs SET refs = refs + ? WHERE id = ? RETURNING size`, n, string(id)).Scan(&size)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("blob %q: %w", id, store.ErrNotFound)
		}
		return size, err
	}
	final := w.s.blobPath(id)
	if st.path != final {
		if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
			return 0, err
		}
		if err := os.Rename(st.path, final); err != nil {
			return 0, fmt.Errorf("sqlite: adopt blob: %w", err)
		}
		w.s.mu.Lock()
		st.path = final
		w.s.mu.Unlock()
	}
	w.dirs[filepath.Dir(final)] = true
	var seq int64
	if err := w.queryRow(`INSERT INTO blobs (id, size, refs) VALUES (?, ?, ?) RETURNING seq`, string(id), st.size, n).Scan(&seq); err != nil {
		return 0, err
	}
	if text != "" {
		if _, err := w.exec(`INSERT INTO blob_text (rowid, text) VALUES (?, ?)`, seq, text); err != nil {
			return 0, err
		}
	}
	w.adopted = append(w.adopted, id)
	return st.size, nil
}

// unrefBlob drops one reference; the last one deletes the row, its text
// index entry and (after commit) the file.
func (w *wtx) unrefBlob(id store.BlobID, n int) error {
	var refs, seq int64
	err := w.queryRow(`UPDATE blobs SET refs = refs - ? WHERE id = ? RETURNING refs, seq`, n, string(id)).Scan(&refs, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil || refs > 0 {
		return err
	}
	if _, err := w.exec(`DELETE FROM blobs WHERE seq = ?`, seq); err != nil {
		return err
	}
	if _, err := w.exec(`DELETE FROM blob_text WHERE rowid = ?`, seq); err != nil {
		return err
	}
	w.remove = append(w.remove, w.s.blobPath(id))
	return nil
}
