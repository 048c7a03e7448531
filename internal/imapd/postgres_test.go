package imapd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
	"posthorn/internal/store/postgres"
)

// The IMAP server on the PostgreSQL store (its store.Searcher included),
// when POSTHORN_TEST_POSTGRES holds a DSN; required in CI.

func postgresHarness(t *testing.T) *harness {
	t.Helper()
	dsn := os.Getenv("POSTHORN_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("POSTHORN_TEST_POSTGRES is not set (required in CI)")
		}
		t.Skip("POSTHORN_TEST_POSTGRES is not set")
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "posthorn_imapd_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
			conn.Close(ctx)
		}
	})
	st, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	return newHarnessOn(t, st, t.TempDir())
}

func TestPostgresSearchKeys(t *testing.T) {
	h := postgresHarness(t)
	if _, ok := h.st.(store.Searcher); !ok {
		t.Fatal("the PostgreSQL store lacks store.Searcher")
	}
	rc := h.login()
	populateSearch(rc)
	checkSearchKeys(t, rc, false)
}

func TestPostgresSession(t *testing.T) {
	h := postgresHarness(t)
	h.deliver(h.alice, "INBOX", multipartMessage, 0)
	rc := h.login()
	rc.ok("SELECT INBOX")
	mustHave(t, rc.ok("FETCH 1 (BODY.PEEK[3.TEXT] BODYSTRUCTURE)"), "BODY[3.TEXT] {10}")
	rc.ok(`STORE 1 +FLAGS (\Deleted)`)
	rc.ok("COPY 1 Archive")
	mustHave(t, rc.ok("EXPUNGE"), "* 1 EXPUNGE")
	mustHave(t, rc.ok("STATUS Archive (MESSAGES)"), "MESSAGES 1")
}
