package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"posthorn/internal/store"
)

// Options configure Open. The zero value works apart from Dir.
type Options struct {
	// Dir is the data directory; it is created when missing.
	Dir string
	// Logger receives warnings about cleanup; slog.Default when nil.
	Logger *slog.Logger
	// MaxBatch caps how many writes one group commit takes (default 256).
	MaxBatch int
	// ReadConns is the size of the reader pool (default 8).
	ReadConns int
	// TextOf, when set, extracts a body's text for the full-text index
	// from the body itself (message.Analyze's Text), when the indexer runs:
	// an append then keeps no copy of NewMessage.Text, which for text mail
	// doubled what a commit wrote. Unset, NewMessage.Text is kept until
	// indexed.
	TextOf func(io.Reader) (string, error)
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	dir    string
	log    *slog.Logger
	read   *sql.DB // the reader pool
	wdb    *sql.DB // holds the writer's connection
	writes chan *writeOp
	stop   chan struct{}
	wg     sync.WaitGroup
	feed   store.Feed

	mu     sync.Mutex
	staged map[store.BlobID]*stagedBlob
	closed bool

	packs packWriter // used by the committer goroutine only

	// The full-text indexer (textindex.go).
	textOf      func(io.Reader) (string, error)
	textPending atomic.Bool   // blob_text_pending may have rows
	textBacklog atomic.Int64  // texts appended since the indexer last ran (about)
	flushMu     sync.Mutex    // held by the one running flushText
	indexKick   chan struct{} // wakes the indexer

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared statements of the reader pool

	maxBatch int
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
)

// Open opens (creating when needed) the store in opts.Dir and applies the
// schema migrations it lacks.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("sqlite: no data directory given")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 8
	}
	for _, d := range []string{opts.Dir, filepath.Join(opts.Dir, "blobs"), filepath.Join(opts.Dir, "packs"), filepath.Join(opts.Dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	path := filepath.Join(opts.Dir, "posthorn.db")
	// synchronous=FULL: in WAL mode NORMAL may lose the last commits on a
	// power failure, and we answer 250 only for durable mail.
	common := "_pragma=temp_store(MEMORY)&_pragma=busy_timeout(15000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	wdb, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	read.SetConnMaxIdleTime(0)
	s := &Store{
		dir:      opts.Dir,
		log:      opts.Logger,
		textOf:   opts.TextOf,
		read:     read,
		wdb:      wdb,
		writes:   make(chan *writeOp, 1024),
		stop:     make(chan struct{}),
		staged:   make(map[store.BlobID]*stagedBlob),
		stmts:    make(map[string]*sql.Stmt),
		maxBatch: opts.MaxBatch,
	}
	s.packs.dir = filepath.Join(opts.Dir, "packs")
	s.cleanTmp()
	conn, err := wdb.Conn(ctx)
	if err != nil {
		s.read.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.wg.Add(2)
	go s.commitLoop(conn)
	s.indexKick = make(chan struct{}, 1)
	s.textPending.Store(true) // a previous process may have left text
	go s.indexLoop()
	s.kickIndexer()
	return s, nil
}

// cleanTmp removes bodies of deliveries that never committed. Only old
// files go: another process (the CLI beside a running server) may be
// receiving into tmp/ right now.
func (s *Store) cleanTmp() {
	dir := filepath.Join(s.dir, "tmp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-24 * time.Hour)
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && info.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Subscribe implements store.Store.
func (s *Store) Subscribe(fn func([]store.Change)) func() { return s.feed.Subscribe(fn) }

// Close waits for pending writes, then closes the databases.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	s.feed.Close()
	err1 := s.read.Close()
	err2 := s.wdb.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// readStmt returns a prepared statement of the reader pool, cached:
// preparing costs more than running most of our queries. database/sql
// prepares it again on each pool connection as needed.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// maxReadStmts bounds the statement cache: queries built for a UID set or
// an id list differ by shape, and those beyond the bound run unprepared.
const maxReadStmts = 256

func (s *Store) cached(query string) bool {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	_, ok := s.stmts[query]
	return ok || len(s.stmts) < maxReadStmts
}

// query runs a read with a cached statement.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !s.cached(query) {
		return s.read.QueryContext(ctx, query, args...)
	}
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a one-row read with a cached statement.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if !s.cached(query) {
		return s.read.QueryRowContext(ctx, query, args...)
	}
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return s.read.QueryRowContext(ctx, query, args...) // surfaces err through Scan
	}
	return st.QueryRowContext(ctx, args...)
}
