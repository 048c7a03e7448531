package sqlite

import (
	"context"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"posthorn/internal/store"
	"posthorn/internal/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.ChildMain(func(ctx context.Context, dir string) (store.Store, error) {
		return Open(ctx, Options{Dir: dir})
	})
	os.Exit(m.Run())
}

func factory() storetest.Factory {
	return storetest.Factory{
		New: func(t *testing.T) (store.Store, string) {
			dir := t.TempDir()
			s, err := Open(context.Background(), Options{Dir: dir})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s, dir
		},
		Open: func(ctx context.Context, dir string) (store.Store, error) {
			return Open(ctx, Options{Dir: dir})
		},
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, factory())
}

func BenchmarkAppend(b *testing.B) {
	storetest.BenchAppend(b, func(b *testing.B) store.Store {
		s, err := Open(context.Background(), Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}

// TestTextExtractedWhenIndexed: with Options.TextOf the index holds the
// text extracted from the body, read when the indexer runs (here: at the
// search), not the text the append carried; also after a reopen.
func TestTextExtractedWhenIndexed(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var calls atomic.Int32
	opts := Options{Dir: dir, TextOf: func(r io.Reader) (string, error) {
		calls.Add(1)
		b, err := io.ReadAll(r)
		return string(b), err
	}}
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	acct, err := s.CreateAccount(ctx, store.NewAccount{Address: "a@example.test", PasswordHash: "x", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	add := func(body string) store.BlobID {
		w, err := s.NewBlob(ctx)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
		id, _, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Append(ctx, store.Batch{Messages: []store.NewMessage{{AccountID: acct.ID, MailboxID: inbox.ID, BlobID: id,
			InternalDate: time.Now(), Text: "carried along"}}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := add("Subject: x\r\n\r\nthe zucchini body\r\n")
	match := func(s *Store, q string) []store.BlobID {
		t.Helper()
		got, err := s.MatchText(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := match(s, "zucchini"); len(got) != 1 || got[0] != first {
		t.Fatalf("zucchini: %v", got)
	}
	if got := match(s, "carried"); len(got) != 0 {
		t.Fatalf("the carried text was indexed: %v", got)
	}
	second := add("Subject: y\r\n\r\nan eggplant body\r\n")
	s.Close()
	s, err = Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := match(s, "eggplant"); len(got) != 1 || got[0] != second {
		t.Fatalf("eggplant after reopen: %v", got)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("TextOf called %d times, want 2", n)
	}
}
