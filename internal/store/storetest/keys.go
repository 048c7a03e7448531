package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"posthorn/internal/store"
)

func init() {
	register("DKIMKeyCRUD", testDKIMKeyCRUD)
	register("DKIMKeyActivation", testDKIMKeyActivation)
	register("DKIMKeysGoWithTheDomain", testDKIMKeysGoWithDomain)
	register("DKIMKeysSurviveReopen", testDKIMKeysSurviveReopen)
	register("DKIMKeysConcurrentCreate", testDKIMKeysConcurrentCreate)
}

func keyStore(t *testing.T, s store.Store) store.KeyStore {
	t.Helper()
	ks, ok := s.(store.KeyStore)
	if !ok {
		t.Fatalf("%T does not implement store.KeyStore", s)
	}
	return ks
}

// pemFor is a stand-in private key: the store keeps the bytes, it never
// parses them.
func pemFor(sel string) []byte {
	return []byte("-----BEGIN PRIVATE KEY-----\n" + sel + "\n-----END PRIVATE KEY-----\n")
}

func dkimKey(domain, sel, alg string, created time.Time, active bool) store.DKIMKey {
	return store.DKIMKey{Domain: domain, Selector: sel, Algorithm: alg, PrivateKey: pemFor(sel), CreatedAt: created, Active: active}
}

func selectors(ks []store.DKIMKey) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Selector)
	}
	return out
}

func activeSelectors(ks []store.DKIMKey) []string {
	var out []string
	for _, k := range ks {
		if k.Active {
			out = append(out, k.Selector)
		}
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testDKIMKeyCRUD(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	ks := keyStore(t, fx.s)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	// Inserted out of order: the listing is by creation time, then selector.
	must(t, ks.CreateDKIMKey(fx.ctx, dkimKey("example.test", "s2r", store.DKIMRSA, t0.Add(time.Hour), false)), "create s2r")
	must(t, ks.CreateDKIMKey(fx.ctx, dkimKey("example.test", "s1r", store.DKIMRSA, t0, true)), "create s1r")
	must(t, ks.CreateDKIMKey(fx.ctx, dkimKey("example.test", "s1e", store.DKIMEd25519, t0, true)), "create s1e")
	wantErr(t, ks.CreateDKIMKey(fx.ctx, dkimKey("example.test", "s1e", store.DKIMEd25519, t0, true)), store.ErrExists, "duplicate selector")
	wantErr(t, ks.CreateDKIMKey(fx.ctx, dkimKey("nowhere.test", "x", store.DKIMEd25519, t0, true)), store.ErrNotFound, "unknown domain")
	wantErr(t, ks.CreateDKIMKey(fx.ctx, store.DKIMKey{Domain: "example.test", Selector: "y", Algorithm: store.DKIMRSA}), store.ErrInvalid, "no key")

	got, err := ks.DKIMKeys(fx.ctx, "example.test")
	must(t, err, "DKIMKeys")
	if !sameStrings(selectors(got), []string{"s1e", "s1r", "s2r"}) {
		t.Fatalf("DKIMKeys order = %v", selectors(got))
	}
	k := got[0]
	if k.Domain != "example.test" || k.Algorithm != store.DKIMEd25519 || !k.Active || !bytes.Equal(k.PrivateKey, pemFor("s1e")) || !k.CreatedAt.Equal(t0) {
		t.Fatalf("stored key = %+v", k)
	}
	if got[2].Active {
		t.Fatal("s2r was stored inactive but reads back active")
	}

	// The same selector may exist in another domain; "" lists all domains.
	must(t, fx.s.CreateDomain(fx.ctx, "other.test"), "CreateDomain")
	must(t, ks.CreateDKIMKey(fx.ctx, dkimKey("other.test", "s1e", store.DKIMEd25519, t0, true)), "same selector, other domain")
	all, err := ks.DKIMKeys(fx.ctx, "")
	must(t, err, "DKIMKeys all")
	if len(all) != 4 || all[0].Domain != "example.test" || all[3].Domain != "other.test" {
		t.Fatalf("all keys = %v", all)
	}
	none, err := ks.DKIMKeys(fx.ctx, "nowhere.test")
	must(t, err, "DKIMKeys of an unknown domain")
	if len(none) != 0 {
		t.Fatalf("keys of an unknown domain: %v", none)
	}

	must(t, ks.DeleteDKIMKey(fx.ctx, "example.test", "s2r"), "DeleteDKIMKey")
	wantErr(t, ks.DeleteDKIMKey(fx.ctx, "example.test", "s2r"), store.ErrNotFound, "DeleteDKIMKey twice")
	got, _ = ks.DKIMKeys(fx.ctx, "example.test")
	if !sameStrings(selectors(got), []string{"s1e", "s1r"}) {
		t.Fatalf("after delete: %v", selectors(got))
	}
}

func testDKIMKeyActivation(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	ks := keyStore(t, fx.s)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, sel := range []string{"olde", "oldr", "newe", "newr"} {
		alg := store.DKIMEd25519
		if sel[len(sel)-1] == 'r' {
			alg = store.DKIMRSA
		}
		must(t, ks.CreateDKIMKey(fx.ctx, dkimKey("example.test", sel, alg, t0.Add(time.Duration(i/2)*time.Hour), i < 2)), "create "+sel)
	}
	must(t, ks.SetActiveDKIMKeys(fx.ctx, "example.test", []string{"newe", "newr"}), "activate the new pair")
	got, _ := ks.DKIMKeys(fx.ctx, "example.test")
	if !sameStrings(activeSelectors(got), []string{"newe", "newr"}) {
		t.Fatalf("active after rotation = %v", activeSelectors(got))
	}
	// An unknown selector changes nothing.
	wantErr(t, ks.SetActiveDKIMKeys(fx.ctx, "example.test", []string{"olde", "gone"}), store.ErrNotFound, "unknown selector")
	got, _ = ks.DKIMKeys(fx.ctx, "example.test")
	if !sameStrings(activeSelectors(got), []string{"newe", "newr"}) {
		t.Fatalf("a failed activation changed the keys: %v", activeSelectors(got))
	}
	wantErr(t, ks.SetActiveDKIMKeys(fx.ctx, "other.test", []string{"newe"}), store.ErrNotFound, "selector of another domain")
	// None active: the domain stops signing.
	must(t, ks.SetActiveDKIMKeys(fx.ctx, "example.test", nil), "deactivate all")
	got, _ = ks.DKIMKeys(fx.ctx, "example.test")
	if len(activeSelectors(got)) != 0 || len(got) != 4 {
		t.Fatalf("after deactivating all: %+v", got)
	}
}

func testDKIMKeysGoWithDomain(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	ks := keyStore(t, fx.s)
	must(t, fx.s.CreateDomain(fx.ctx, "b.test"), "CreateDomain")
	must(t, ks.CreateDKIMKey(fx.ctx, dkimKey("b.test", "k", store.DKIMEd25519, time.Now(), true)), "create key")
	// Keys do not keep a domain in use.
	must(t, fx.s.DeleteDomain(fx.ctx, "b.test"), "DeleteDomain with keys")
	must(t, fx.s.CreateDomain(fx.ctx, "b.test"), "CreateDomain again")
	got, err := ks.DKIMKeys(fx.ctx, "b.test")
	must(t, err, "DKIMKeys")
	if len(got) != 0 {
		t.Fatalf("keys outlived their domain: %v", selectors(got))
	}
}

func testDKIMKeysSurviveReopen(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	must(t, keyStore(t, fx.s).CreateDKIMKey(fx.ctx, dkimKey("example.test", "k", store.DKIMRSA, time.Now(), true)), "create key")
	must(t, fx.s.Close(), "Close")
	s2, err := f.Open(context.Background(), fx.loc)
	must(t, err, "reopen")
	defer s2.Close()
	got, err := keyStore(t, s2).DKIMKeys(fx.ctx, "example.test")
	must(t, err, "DKIMKeys after reopening")
	if len(got) != 1 || !got[0].Active || got[0].Algorithm != store.DKIMRSA {
		t.Fatalf("after reopening: %+v", got)
	}
}

// testDKIMKeysConcurrentCreate: two writers racing for one selector (two
// nodes running `posthorn dkim rotate` at once): exactly one wins.
func testDKIMKeysConcurrentCreate(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	ks := keyStore(t, fx.s)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ks.CreateDKIMKey(fx.ctx, dkimKey("example.test", "race", store.DKIMEd25519, time.Now(), true))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		default:
			wantErr(t, err, store.ErrExists, "losing writer")
		}
	}
	if won != 1 {
		t.Fatalf("%d writers created the same selector", won)
	}
}
