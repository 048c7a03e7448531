package mailauth

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"posthorn/internal/store"
)

func TestKeyEncoding(t *testing.T) {
	for _, alg := range []string{store.DKIMEd25519, store.DKIMRSA} {
		k, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := MarshalKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, gotAlg, err := ParseKey(p)
		if err != nil || gotAlg != alg {
			t.Fatalf("ParseKey: %s %v", gotAlg, err)
		}
		rec1, _ := KeyRecord(k)
		rec2, _ := KeyRecord(back)
		if rec1 != rec2 || !strings.HasPrefix(rec1, "v=DKIM1; k="+alg+"; p=") {
			t.Fatalf("records differ or are malformed: %q %q", rec1, rec2)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			if k.N.BitLen() != 2048 {
				t.Fatalf("RSA key of %d bits", k.N.BitLen())
			}
		case ed25519.PrivateKey:
		default:
			t.Fatalf("key type %T", k)
		}
	}
	if _, err := GenerateKey("dsa"); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
	if _, _, err := ParseKey([]byte("not a key")); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	ks := newKeyStore(t, "example.org", "other.test")
	m := NewKeys(ks, func() time.Time { return now })

	first, err := m.Generate(ctx, "Example.ORG", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].Selector != "ph20260315ae" || first[1].Selector != "ph20260315ar" ||
		first[0].Algorithm != store.DKIMEd25519 || first[1].Algorithm != store.DKIMRSA || !first[0].Active {
		t.Fatalf("first generation = %+v", first)
	}
	// A rotation the same day gets the next letter, staged.
	now = now.Add(time.Hour)
	second, err := m.Generate(ctx, "example.org", false)
	if err != nil || second[0].Selector != "ph20260315be" || second[0].Active {
		t.Fatalf("second generation = %+v, %v", second, err)
	}
	keys, _ := m.List(ctx, "example.org")
	if got := States(keys); strings.Join(statesOf(got), ",") != "active,active,staged,staged" {
		t.Fatalf("states after staging = %v", got)
	}
	active, err := m.Activate(ctx, "example.org")
	if err != nil || len(active) != 2 || active[0].Selector != "ph20260315be" || active[1].Selector != "ph20260315br" {
		t.Fatalf("Activate = %+v, %v", active, err)
	}
	keys, _ = m.List(ctx, "example.org")
	if got := States(keys); strings.Join(statesOf(got), ",") != "retired,retired,active,active" {
		t.Fatalf("states after activation = %v", got)
	}
	// An active key cannot be removed; a retired one can.
	if err := m.Remove(ctx, "example.org", "ph20260315be"); err == nil {
		t.Fatal("removed an active key")
	}
	if err := m.Remove(ctx, "example.org", "ph20260315ae"); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "example.org", "ph20260315ae"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second removal: %v", err)
	}
	// Ensure gives keys only to domains without any.
	made, err := m.Ensure(ctx, []string{"example.org", "other.test"})
	if err != nil || len(made) != 1 || made[0] != "other.test" {
		t.Fatalf("Ensure = %v, %v", made, err)
	}
	if _, err := m.Activate(ctx, "nokeys.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Activate without keys: %v", err)
	}
	if _, err := m.Generate(ctx, "nowhere.test", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("keys for a domain that is not local: %v", err)
	}
}

func statesOf(s []KeyState) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

// TestSignerFollowsRotation: the signer keeps a domain's keys for CacheFor
// and then signs with the newly activated generation.
func TestSignerFollowsRotation(t *testing.T) {
	ctx := context.Background()
	keyTime := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	now := keyTime
	ks := newKeyStore(t, "example.org")
	m := NewKeys(ks, func() time.Time { return keyTime })
	if _, err := m.Generate(ctx, "example.org", true); err != nil {
		t.Fatal(err)
	}
	s := NewSigner(SignerOptions{Keys: ks, Now: func() time.Time { return now }, CacheFor: time.Minute})
	selectors := func() string {
		sig, err := s.Sign(ctx, "example.org", strings.NewReader(plainMessage))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tags := range signatureTags([]byte(sig + "\r\n")) {
			out = append(out, tags["s"])
		}
		return strings.Join(out, ",")
	}
	if got := selectors(); got != "ph20260315ae,ph20260315ar" {
		t.Fatalf("signed with %s", got)
	}
	keyTime = keyTime.Add(24 * time.Hour)
	if _, err := m.Generate(ctx, "example.org", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Activate(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	if got := selectors(); got != "ph20260315ae,ph20260315ar" {
		t.Fatalf("cache ignored: signed with %s", got)
	}
	now = now.Add(2 * time.Minute)
	if got := selectors(); got != "ph20260316ae,ph20260316ar" {
		t.Fatalf("after the cache expired: signed with %s", got)
	}
	// A domain without keys is not signed, without error.
	if sig, err := s.Sign(ctx, "other.test", strings.NewReader(plainMessage)); sig != "" || err != nil {
		t.Fatalf("no keys: %q, %v", sig, err)
	}
}

func TestHeaderKeys(t *testing.T) {
	head := "From: a@x.test\r\nReceived: x\r\nTo: b@y.test\r\nCc: c@y.test\r\nCc: d@y.test\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nX-Other: 1\r\n\r\n"
	got := strings.Join(headerKeys([]byte(head)), ":")
	want := "From:From:Subject:To:To:Cc:Cc:List-Unsubscribe-Post"
	if got != want {
		t.Fatalf("headerKeys = %s, want %s", got, want)
	}
	if got := strings.Join(headerKeys(nil), ":"); got != "From:Subject:To" {
		t.Fatalf("empty header: %s", got)
	}
}

func TestSignHeaderTooLong(t *testing.T) {
	s := newSigningSetup(t)
	huge := "X-Big: " + strings.Repeat("a", maxSignHeader) + "\r\n\r\nbody"
	if _, err := s.signer.Sign(context.Background(), "example.org", strings.NewReader(huge)); !errors.Is(err, ErrHeaderTooLong) {
		t.Fatalf("err = %v", err)
	}
}

// TestSignAuthor signs as the From domain, and not at all when there is no
// single author domain or it has no keys.
func TestSignAuthor(t *testing.T) {
	s := newSigningSetup(t)
	ctx := context.Background()
	sig, err := s.signer.SignAuthor(ctx, strings.NewReader(plainMessage))
	if err != nil || strings.Count(sig, "d=example.org;") != 2 {
		t.Fatalf("SignAuthor: %q %v", sig, err)
	}
	v := checkFrom(t, newChecker(s.zone), "198.51.100.1", sig+plainMessage)
	if v.DMARC.Result != DMARCPass {
		t.Fatalf("author signature: %+v", v.DMARC)
	}
	for _, msg := range []string{
		"From: a@other.test\r\n\r\nbody\r\n",
		"From: a@example.org, b@other.test\r\n\r\nbody\r\n",
		"Subject: no author\r\n\r\nbody\r\n",
	} {
		if sig, err := s.signer.SignAuthor(ctx, strings.NewReader(msg)); sig != "" || err != nil {
			t.Errorf("%q signed: %q %v", msg, sig, err)
		}
	}
	if d := AuthorDomain([]byte("From: A <a@Example.ORG>\r\n\r\n")); d != "example.org" {
		t.Fatalf("AuthorDomain = %q", d)
	}
}
