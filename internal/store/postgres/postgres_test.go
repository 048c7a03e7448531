package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
	"posthorn/internal/store/storetest"
)

// The suite runs against the database named by POSTHORN_TEST_POSTGRES, each
// test in a schema of its own that is dropped afterwards. Without the
// variable the tests are skipped, except under CI=true, where a missing or
// unreachable database fails them: CI must never pass by skipping.
const envDSN = "POSTHORN_TEST_POSTGRES"

func TestMain(m *testing.M) {
	storetest.ChildMain(openLocation)
	os.Exit(m.Run())
}

// A location names a store for the suite's reopen and crash tests: the
// schema, a space, and the DSN (a schema name has no spaces).
func location(dsn, schema string) string { return schema + " " + dsn }

func openLocation(ctx context.Context, loc string) (store.Store, error) {
	schema, dsn, ok := strings.Cut(loc, " ")
	if !ok {
		return nil, fmt.Errorf("bad location %q", loc)
	}
	return Open(ctx, Options{DSN: dsn, Schema: schema})
}

// testDSN returns the DSN to test against, after checking the server
// answers; it skips (or under CI fails) otherwise.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(envDSN)
	ci := os.Getenv("CI") == "true"
	if dsn == "" {
		if ci {
			tb.Fatalf("%s is not set; under CI=true the PostgreSQL tests must run", envDSN)
		}
		tb.Skipf("%s not set", envDSN)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if ci {
			tb.Fatalf("PostgreSQL at %s unreachable: %v", envDSN, err)
		}
		tb.Skipf("PostgreSQL at %s unreachable: %v", envDSN, err)
	}
	return dsn
}

// newSchema names a fresh schema and drops it when the test ends (after
// the stores opened on it are closed, which their own cleanups do first).
func newSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	var b [8]byte
	rand.Read(b[:])
	schema := "posthorn_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func factory(dsn string) storetest.Factory {
	return storetest.Factory{
		New: func(t *testing.T) (store.Store, string) {
			schema := newSchema(t, dsn)
			s, err := Open(context.Background(), Options{DSN: dsn, Schema: schema})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s, location(dsn, schema)
		},
		Open: openLocation,
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, factory(testDSN(t)))
}

func TestSynchronousCommit(t *testing.T) {
	dsn := testDSN(t)
	s, err := Open(context.Background(), Options{DSN: dsn, Schema: newSchema(t, dsn)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	if err := s.pool.QueryRow(context.Background(), `SHOW synchronous_commit`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode == "off" {
		t.Fatalf("synchronous_commit = %s: Append would return before its transaction is durable", mode)
	}
}

func BenchmarkAppend(b *testing.B) {
	dsn := testDSN(b)
	storetest.BenchAppend(b, func(b *testing.B) store.Store {
		s, err := Open(context.Background(), Options{DSN: dsn, Schema: newSchema(b, dsn)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
