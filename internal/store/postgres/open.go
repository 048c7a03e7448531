package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"posthorn/internal/store"
)

// Options configure Open. Only DSN is required.
type Options struct {
	// DSN is a libpq connection string or URL ("postgres://user@host/db").
	DSN string
	// Schema holds the tables. It is created when missing and put first on
	// every connection's search_path. Empty uses the connection's own
	// search_path (normally "public").
	Schema string
	// Logger receives warnings (the listener reconnecting, say);
	// slog.Default when nil.
	Logger *slog.Logger
	// MaxConns caps the connection pool. Zero means 16, unless the DSN sets
	// pool_max_conns.
	MaxConns int32
	// Committers is the number of goroutines that commit writes, each
	// gathering the writes waiting for it into one transaction (default 4).
	// Writes are routed by account, so one account's writes share batches.
	Committers int
	// MaxBatch caps how many writes one transaction takes (default 256).
	MaxBatch int
	// BlobMemMax is the size up to which a new body is kept in memory;
	// larger ones spill to a temporary file (default 1 MiB).
	BlobMemMax int
	// TempDir receives spilled bodies; os.TempDir() when empty.
	TempDir string
}

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	schema  string // the schema holding the tables, as current_schema() names it
	channel string // the NOTIFY channel of this schema
	feed    store.Feed

	shards   []chan *writeOp
	maxBatch int
	stop     chan struct{}
	wg       sync.WaitGroup // committers

	listenCancel context.CancelFunc
	listenDone   chan struct{}

	blobMemMax int
	tempDir    string

	// closeMu orders enqueueing writes against Close: a write enqueues under
	// the read lock, so once Close holds the lock no write can slip in after
	// the committers have drained their queues.
	closeMu sync.RWMutex
	closed  bool

	mu     sync.Mutex
	staged map[store.BlobID]*stagedBlob
}

var _ store.Store = (*Store)(nil)

// Open connects to the database, applies the schema migrations it lacks,
// starts listening for changes and returns the store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.DSN == "" {
		return nil, errors.New("postgres: no DSN given")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Committers <= 0 {
		opts.Committers = 4
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.BlobMemMax <= 0 {
		opts.BlobMemMax = 1 << 20
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(opts.DSN, "pool_max_conns"):
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	schema, err := migrate(ctx, pool, opts.Schema)
	if err == nil {
		err = checkDurable(ctx, pool)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{
		pool:       pool,
		log:        opts.Logger,
		schema:     schema,
		channel:    channelName(schema),
		maxBatch:   opts.MaxBatch,
		stop:       make(chan struct{}),
		blobMemMax: opts.BlobMemMax,
		tempDir:    opts.TempDir,
		staged:     make(map[store.BlobID]*stagedBlob),
	}
	// LISTEN before Open returns, so every change committed after Open
	// reaches the subscribers.
	lconn, err := s.connectListener(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.listenCancel, s.listenDone = cancel, make(chan struct{})
	go s.listen(lctx, lconn)
	for i := 0; i < opts.Committers; i++ {
		ch := make(chan *writeOp, 1024)
		s.shards = append(s.shards, ch)
		s.wg.Add(1)
		go s.commitLoop(ch)
	}
	return s, nil
}

// checkDurable refuses a server (or DSN) that turned synchronous_commit
// off: Append must not return before its transaction is on disk, since
// SMTP answers 250 on its return.
func checkDurable(ctx context.Context, pool *pgxpool.Pool) error {
	var mode string
	if err := pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&mode); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if mode == "off" {
		return errors.New("postgres: synchronous_commit is off, so a crash could lose acknowledged mail; turn it on")
	}
	return nil
}

// channelName is the NOTIFY channel for a schema: posthorn_changes for
// public, and a channel of its own for any other schema, so that stores in
// different schemas of one database do not hear each other.
func channelName(schema string) string {
	const base = "posthorn_changes"
	if schema == "" || schema == "public" {
		return base
	}
	ch := base + ":" + schema
	if len(ch) > 63 { // NAMEDATALEN-1: longer channel names are refused
		sum := sha256.Sum256([]byte(schema))
		ch = base + ":" + hex.EncodeToString(sum[:])[:40]
	}
	return ch
}

// Close waits for the writes already queued, then stops the listener and
// closes the pool. Bodies staged but never appended are discarded.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	s.wg.Wait()
	s.listenCancel()
	<-s.listenDone
	s.feed.Close()
	s.pool.Close()
	s.mu.Lock()
	for id, st := range s.staged {
		if st.path != "" {
			os.Remove(st.path)
		}
		delete(s.staged, id)
	}
	s.mu.Unlock()
	return nil
}

// Schema returns the schema that holds the store's tables.
func (s *Store) Schema() string { return s.schema }
