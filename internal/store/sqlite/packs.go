package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// packWriter appends small bodies to this process's current pack file. Only
// the committer goroutine uses it. Each process (a server, an admin command
// beside it) writes packs of its own, so they never append to one file.
type packWriter struct {
	dir   string // the packs/ directory
	f     *os.File
	name  string
	size  int64
	dirty bool // written since the last sync
}

// append writes data at the end of the current pack, starting a new pack
// when the current one is full. A new pack's directory goes into dirs, to be
// fsynced before COMMIT like any new directory entry.
func (p *packWriter) append(data []byte, dirs map[string]bool) (string, int64, error) {
	if p.f == nil || p.size >= packMax {
		if err := p.rotate(); err != nil {
			return "", 0, err
		}
		dirs[p.dir] = true
	}
	off := p.size
	if _, err := p.f.WriteAt(data, off); err != nil {
		return "", 0, fmt.Errorf("sqlite: pack write: %w", err)
	}
	p.size += int64(len(data))
	p.dirty = true
	return p.name, off, nil
}

func (p *packWriter) rotate() error {
	if p.f != nil {
		if err := p.sync(); err != nil {
			return err
		}
		p.f.Close()
		p.f = nil
	}
	var r [6]byte
	rand.Read(r[:])
	name := fmt.Sprintf("%016x-%s.pack", time.Now().UnixNano(), hex.EncodeToString(r[:]))
	f, err := os.OpenFile(filepath.Join(p.dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: new pack: %w", err)
	}
	p.f, p.name, p.size = f, name, 0
	return nil
}

// sync makes everything appended so far durable (data and file size).
func (p *packWriter) sync() error {
	if !p.dirty {
		return nil
	}
	if err := unix.Fdatasync(int(p.f.Fd())); err != nil {
		return fmt.Errorf("sqlite: pack fsync: %w", err)
	}
	p.dirty = false
	return nil
}

func (p *packWriter) close() {
	if p.f != nil {
		p.sync()
		p.f.Close()
		p.f = nil
	}
}

// Maintain implements store.Maintainer: it compacts pack files in which
// less than half the bytes still belong to live bodies, one pack per write
// so the writer is never held for long.
func (s *Store) Maintain(ctx context.Context) error {
	type packStat struct {
		name string
		live int64
	}
	rows, err := s.query(ctx, `SELECT pack, sum(size) FROM blobs WHERE pack <> '' GROUP BY pack`)
	if err != nil {
		return err
	}
	live := map[string]int64{}
	for rows.Next() {
		var ps packStat
		if err := rows.Scan(&ps.name, &ps.live); err != nil {
			rows.Close()
			return err
		}
		live[ps.name] = ps.live
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, "packs"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		// A pack written to in the last ten minutes may be some process's
		// current pack: leave it.
		if err != nil || time.Since(info.ModTime()) < 10*time.Minute || info.Size() == 0 {
			continue
		}
		if l := live[e.Name()]; l*2 < info.Size() {
			if err := s.compactPack(ctx, e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// compactPack copies the live bodies of a pack into the current pack and
// deletes the old pack after the commit. Readers that opened the old pack
// keep reading it (the file lives on until closed); new ones find the new
// place, or retry once if they looked it up just before the commit.
func (s *Store) compactPack(ctx context.Context, name string) error {
	return s.write(ctx, func(w *wtx) error {
		if name == s.packs.name {
			return nil
		}
		old, err := os.Open(s.packPath(name))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer old.Close()
		rows, err := w.query(`SELECT seq, off, size FROM blobs WHERE pack = ?`, name)
		if err != nil {
			return err
		}
		type loc struct{ seq, off, size int64 }
		var locs []loc
		for rows.Next() {
			var l loc
			if err := rows.Scan(&l.seq, &l.off, &l.size); err != nil {
				rows.Close()
				return err
			}
			locs = append(locs, l)
		}
		rows.Close()
		for _, l := range locs {
			buf := make([]byte, l.size)
			if _, err := old.ReadAt(buf, l.off); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("sqlite: compact %s: %w", name, err)
			}
			pack, off, err := s.packs.append(buf, w.dirs)
			if err != nil {
				return err
			}
			if _, err := w.exec(`UPDATE blobs SET pack = ?, off = ? WHERE seq = ?`, pack, off, l.seq); err != nil {
				return err
			}
		}
		w.remove = append(w.remove, s.packPath(name))
		return nil
	})
}
