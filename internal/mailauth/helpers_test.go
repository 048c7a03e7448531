package mailauth

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// crlf turns a test message written with LF line ends into the CRLF form
// of the wire.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func newChecker(z *dnstest.Zone, mod ...func(*Options)) *Checker {
	o := Options{Resolver: z, Hostname: "mx.example.test", Logger: slog.New(slog.DiscardHandler)}
	for _, m := range mod {
		m(&o)
	}
	return NewChecker(o)
}

// newKeyStore opens a real SQLite store with the given local domains.
func newKeyStore(t *testing.T, domains ...string) store.KeyStore {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, d := range domains {
		if err := st.CreateDomain(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	return st
}
