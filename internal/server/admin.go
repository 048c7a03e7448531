package server

import (
	"context"
	"log/slog"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/config"
	"posthorn/internal/queue"
	"posthorn/internal/store"
)

// Admin is what the command line's administration commands use: the
// account service over the configured store. It is safe to use while a
// server runs on the same store (SQLite serialises writers across
// processes; PostgreSQL is shared by design).
type Admin struct {
	*account.Service
	Store store.Store
}

// OpenAdmin opens the store of cfg for administration.
func OpenAdmin(ctx context.Context, cfg config.Config) (*Admin, error) {
	log := slog.New(slog.DiscardHandler)
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &Admin{Service: account.New(account.Options{Store: st, Logger: log}), Store: st}, nil
}

// Close closes the store.
func (a *Admin) Close() error { return a.Store.Close() }

// QueueEntries lists the outbound queue.
func (a *Admin) QueueEntries(ctx context.Context) ([]store.QueueEntry, error) {
	return a.Store.QueueEntries(ctx)
}

// QueueEntry returns one queue entry.
func (a *Admin) QueueEntry(ctx context.Context, id store.QueueID) (store.QueueEntry, error) {
	return a.Store.QueueEntry(ctx, id)
}

// QueueRetry makes an entry (all for id 0) due now.
func (a *Admin) QueueRetry(ctx context.Context, id store.QueueID) error {
	return queue.AdminRetry(ctx, a.Store, id, time.Now())
}

// QueueDelete removes an entry without telling the sender.
func (a *Admin) QueueDelete(ctx context.Context, id store.QueueID) error {
	return queue.AdminDelete(ctx, a.Store, id)
}

// QueueBounce returns an entry to its sender now.
func (a *Admin) QueueBounce(ctx context.Context, id store.QueueID) error {
	return queue.AdminBounce(ctx, a.Store, id, time.Now())
}
