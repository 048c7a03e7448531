package sqlite

import (
	"context"
	"os"
	"testing"

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
