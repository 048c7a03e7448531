package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"posthorn/internal/store"
)

// smallBlobMax is the largest body kept in memory until commit and then
// appended to a pack file. Larger bodies spill to a file of their own.
//
// Why packs: on this project's reference machine (ext4 on a virtio disk)
// creating and fsyncing one file per message tops out at 1,200–1,800
// durable messages/s however many run in parallel, because every create
// is a journal transaction; appending the same bodies to one file with one
// fsync per group commit sustains over 40,000/s. Dovecot's mdbox makes the
// same trade.
const smallBlobMax = 256 << 10

// packMax is the size at which the committer starts a new pack file.
const packMax = 64 << 20

// stagedBlob is a finished body not yet referenced by a committed row:
// either bytes in memory (small) or a fsynced file (large).
type stagedBlob struct {
	data []byte // small bodies
	path string // large bodies: tmp/ID until adopted, then blobs/HOUR/ID
	size int64
}

// newBlobID makes an id whose first part is the hour in hex: large bodies
// of one hour share a directory.
func newBlobID() store.BlobID {
	var b [12]byte
	rand.Read(b[:])
	return store.BlobID(fmt.Sprintf("%06x-%s", time.Now().Unix()/3600, hex.EncodeToString(b[:])))
}

// filePath returns where a large blob lives, or "" for a malformed id.
func (s *Store) filePath(id store.BlobID) string {
	str := string(id)
	i := strings.IndexByte(str, '-')
	if i <= 0 || strings.ContainsAny(str, `/\.`) {
		return ""
	}
	return filepath.Join(s.dir, "blobs", str[:i], str)
}

func (s *Store) packPath(name string) string { return filepath.Join(s.dir, "packs", name) }

// NewBlob implements store.Store.
func (s *Store) NewBlob(ctx context.Context) (store.BlobWriter, error) {
	return &blobWriter{s: s, id: newBlobID()}, nil
}

type blobWriter struct {
	s        *Store
	id       store.BlobID
	mem      bytes.Buffer
	f        *os.File // set once the body outgrew smallBlobMax
	path     string
	bw       *bufio.Writer
	size     int64
	finished bool
	aborted  bool
}

func (b *blobWriter) Write(p []byte) (int, error) {
	if b.finished || b.aborted {
		return 0, errors.New("sqlite: write to a finished blob")
	}
	if b.f == nil && b.mem.Len()+len(p) > smallBlobMax {
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

// spill moves the body to a file of its own in tmp/.
func (b *blobWriter) spill() error {
	b.path = filepath.Join(b.s.dir, "tmp", string(b.id))
	f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: new blob: %w", err)
	}
	b.f = f
	b.bw = bufio.NewWriterSize(f, 64<<10)
	_, err = b.bw.Write(b.mem.Bytes())
	b.mem = bytes.Buffer{}
	return err
}

// Finish makes a large body durable in the caller's goroutine (so many
// deliveries fsync in parallel); a small one waits in memory for the
// committer, which appends it to a pack and fsyncs the pack before COMMIT.
func (b *blobWriter) Finish() (store.BlobID, int64, error) {
	if b.aborted {
		return "", 0, errors.New("sqlite: blob aborted")
	}
	if b.finished {
		return b.id, b.size, nil
	}
	st := &stagedBlob{size: b.size}
	if b.f == nil {
		st.data = b.mem.Bytes()
	} else {
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
		st.path = b.path
	}
	b.finished = true
	b.s.mu.Lock()
	b.s.staged[b.id] = st
	b.s.mu.Unlock()
	return b.id, b.size, nil
}

func (b *blobWriter) Abort() {
	if b.aborted {
		return
	}
	b.aborted = true
	if !b.finished {
		if b.f != nil {
			b.f.Close()
			os.Remove(b.path)
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

// OpenBlob implements store.Store.
func (s *Store) OpenBlob(ctx context.Context, id store.BlobID) (store.Blob, error) {
	s.mu.Lock()
	st, ok := s.staged[id]
	s.mu.Unlock()
	if ok && st.data != nil {
		return memBlob{bytes.NewReader(st.data)}, nil
	}
	if ok {
		if f, err := os.Open(st.path); err == nil {
			return fileBlob(f, 0, st.size), nil
		}
		// Adopted by the committer meanwhile: look it up below.
	}
	for try := 0; ; try++ {
		var pack string
		var off, size int64
		err := s.queryRow(ctx, `SELECT pack, off, size FROM blobs WHERE id = ?`, string(id)).Scan(&pack, &off, &size)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("blob %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		path := s.filePath(id)
		if pack != "" {
			path = s.packPath(pack)
		}
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && try == 0 {
			continue // compaction moved it between the lookup and the open
		}
		if err != nil {
			return nil, fmt.Errorf("blob %q: %w", id, err)
		}
		return fileBlob(f, off, size), nil
	}
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

// sectionBlob is a body in a file: a whole file or a range of a pack.
type sectionBlob struct {
	*io.SectionReader
	f *os.File
}

func fileBlob(f *os.File, off, size int64) store.Blob {
	return &sectionBlob{SectionReader: io.NewSectionReader(f, off, size), f: f}
}

func (b *sectionBlob) Close() error { return b.f.Close() }

// refBlob adds n references to a blob inside a write. A staged blob is
// adopted: appended to the pack (small) or renamed into blobs/ (large),
// inserted with n references, and its text indexed. It returns the size.
func (w *wtx) refBlob(id store.BlobID, n int, text string) (int64, error) {
	w.s.mu.Lock()
	st, staged := w.s.staged[id]
	w.s.mu.Unlock()
	if !staged || w.batchAdopted[id] {
		var size int64
		err := w.queryRow(`UPDATE blobs SET refs = refs + ? WHERE id = ? RETURNING size`, n, string(id)).Scan(&size)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("blob %q: %w", id, store.ErrNotFound)
		}
		return size, err
	}
	pack, off := "", int64(0)
	if st.data != nil {
		var err error
		if pack, off, err = w.s.packs.append(st.data, w.dirs); err != nil {
			return 0, err
		}
	} else {
		final := w.s.filePath(id)
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
	}
	var seq int64
	if err := w.queryRow(`INSERT INTO blobs (id, size, refs, pack, off) VALUES (?, ?, ?, ?, ?) RETURNING seq`,
		string(id), st.size, n, pack, off).Scan(&seq); err != nil {
		return 0, err
	}
	if text != "" {
		// Indexed later, in large batches (textindex.go); searches index
		// what is pending before they look. With an extractor the text is
		// read from the body then, not kept here.
		var keep any = text
		if w.s.textOf != nil {
			keep = nil
		}
		if _, err := w.exec(`INSERT INTO blob_text_pending (seq, text) VALUES (?, ?)`, seq, keep); err != nil {
			return 0, err
		}
		w.s.textPending.Store(true)
		w.textAdded++
	}
	w.adopted = append(w.adopted, id)
	w.batchAdopted[id] = true
	return st.size, nil
}

// unrefBlob drops n references; the last one deletes the row, its text
// index entry and (after commit) the file of a large body. A small body's
// bytes become dead space in its pack, which compaction reclaims.
func (w *wtx) unrefBlob(id store.BlobID, n int) error {
	var refs, seq int64
	var pack string
	err := w.queryRow(`UPDATE blobs SET refs = refs - ? WHERE id = ? RETURNING refs, seq, pack`, n, string(id)).Scan(&refs, &seq, &pack)
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
	if _, err := w.exec(`DELETE FROM blob_text_pending WHERE seq = ?`, seq); err != nil {
		return err
	}
	if pack == "" {
		w.remove = append(w.remove, w.s.filePath(id))
	}
	return nil
}
