package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"posthorn/internal/config"
	"posthorn/internal/message"
	"posthorn/internal/store"
	"posthorn/internal/store/postgres"
	"posthorn/internal/store/sqlite"
)

// messageText is the text a message contributes to the full-text index,
// the same that delivery and the mailbox service hand the store.
func messageText(r io.Reader) (string, error) {
	m, err := message.Analyze(r)
	if err != nil {
		return "", err
	}
	return m.Text, nil
}

// openStore opens the backend the configuration names.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	switch cfg.Store.Driver {
	case "sqlite":
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, sqlite.Options{Dir: dir, Logger: log, TextOf: messageText})
	case "postgres":
		return postgres.Open(ctx, postgres.Options{DSN: cfg.Store.DSN, Schema: cfg.Store.Schema, Logger: log})
	}
	return nil, fmt.Errorf("unknown store driver %q", cfg.Store.Driver)
}
