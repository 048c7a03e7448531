package account

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"posthorn/internal/store/sqlite"
)

// fakeClock lets tests move time and see the sleeps a failed login asks for.
type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(d time.Duration) {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
}

func newService(t *testing.T) (*Service, *fakeClock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &fakeClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := New(Options{Store: st, FailDelay: time.Second, Now: clk.Now, Sleep: clk.Sleep})
	ctx := context.Background()
	for _, d := range []string{"example.test", "other.test"} {
		if _, err := s.AddDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice@example.test", "bob@example.test", "carol@other.test"} {
		if _, err := s.AddUser(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	return s, clk
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %s", h)
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, err := VerifyPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("verify right password: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "correct horsf"); ok {
		t.Fatal("wrong password verified")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "plain"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

var ip = netip.MustParseAddr("192.0.2.1")

func TestAuthenticate(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	a, err := s.Authenticate(ctx, "Alice@EXAMPLE.test", "pw-alice@example.test", ip)
	if err != nil || a.Address != "alice@example.test" {
		t.Fatalf("login: %+v %v", a, err)
	}
	if len(clk.slept) != 0 {
		t.Fatalf("a good login slept %v", clk.slept)
	}
	for _, c := range []struct{ user, pw string }{
		{"alice@example.test", "wrong"}, {"nobody@example.test", "x"}, {"not an address", "x"},
	} {
		clk.slept = nil
		_, err := s.Authenticate(ctx, c.user, c.pw, ip)
		if !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("%s: err = %v", c.user, err)
		}
		// The fixed minimum duration: the fake clock did not move during
		// verification, so the whole second is slept.
		if len(clk.slept) != 1 || clk.slept[0] != time.Second {
			t.Fatalf("%s: slept %v, want 1s", c.user, clk.slept)
		}
	}
}

func TestThrottlePerAccount(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	// Failures from many IPs against one account.
	for i := 0; i < 5; i++ {
		s.Authenticate(ctx, "bob@example.test", "wrong", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	_, err := s.Authenticate(ctx, "bob@example.test", "pw-bob@example.test", ip)
	var th *ThrottledError
	if !errors.As(err, &th) || th.Wait <= 0 {
		t.Fatalf("6th attempt on bob: err = %v, want throttled", err)
	}
	// Other accounts are not affected.
	if _, err := s.Authenticate(ctx, "alice@example.test", "pw-alice@example.test", ip); err != nil {
		t.Fatalf("alice throttled by bob's failures: %v", err)
	}
	clk.now = clk.now.Add(th.Wait)
	if _, err := s.Authenticate(ctx, "bob@example.test", "pw-bob@example.test", ip); err != nil {
		t.Fatalf("after the back-off: %v", err)
	}
}

func TestThrottlePerIPGrows(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	// A spray over many accounts from one IP.
	for i := 0; i < 10; i++ {
		s.Authenticate(ctx, "user"+string(rune('a'+i))+"@example.test", "x", ip)
	}
	_, err := s.Authenticate(ctx, "alice@example.test", "pw-alice@example.test", ip)
	var th *ThrottledError
	if !errors.As(err, &th) {
		t.Fatalf("after 10 failures from one IP: %v", err)
	}
	first := th.Wait
	clk.now = clk.now.Add(first)
	s.Authenticate(ctx, "zed@example.test", "x", ip)
	_, err = s.Authenticate(ctx, "alice@example.test", "pw-alice@example.test", ip)
	if !errors.As(err, &th) || th.Wait <= first {
		t.Fatalf("back-off did not grow: %v (first %v)", err, first)
	}
	// Another IP is fine.
	if _, err := s.Authenticate(ctx, "alice@example.test", "pw-alice@example.test", netip.MustParseAddr("2001:db8::1")); err != nil {
		t.Fatalf("other IP: %v", err)
	}
}

func addrs(rs []Recipient) []string {
	var out []string
	for _, r := range rs {
		tag := "remote:"
		if r.Account != nil {
			tag = "local:"
		}
		out = append(out, tag+r.Address)
	}
	slices.Sort(out)
	return out
}

func TestResolve(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	mustAlias := func(a string, targets ...string) {
		t.Helper()
		if _, err := s.AddAlias(ctx, a, targets); err != nil {
			t.Fatal(err)
		}
	}
	mustAlias("team@example.test", "alice@example.test", "bob@example.test", "ext@remote.test", "Alice@example.test")
	mustAlias("loop1@example.test", "loop2@example.test")
	mustAlias("loop2@example.test", "loop1@example.test", "bob@example.test")
	mustAlias("@other.test", "carol@other.test")
	cases := map[string][]string{
		"alice@example.test":       {"local:alice@example.test"},
		"ALICE@Example.Test":       {"local:alice@example.test"},
		"alice+lists@example.test": {"local:alice@example.test"},
		"team@example.test":        {"local:alice@example.test", "local:bob@example.test", "remote:ext@remote.test"},
		"team+x@example.test":      {"local:alice@example.test", "local:bob@example.test", "remote:ext@remote.test"},
		"loop1@example.test":       {"local:bob@example.test"},
		"anything@other.test":      {"local:carol@other.test"},
		"someone@remote.test":      {"remote:someone@remote.test"},
		"postmaster@example.test":  {"local:alice@example.test"},
	}
	for in, want := range cases {
		rs, err := s.Resolve(ctx, in)
		if err != nil {
			t.Errorf("Resolve(%s): %v", in, err)
			continue
		}
		if got := addrs(rs); !slices.Equal(got, want) {
			t.Errorf("Resolve(%s) = %v, want %v", in, got, want)
		}
	}
	for _, in := range []string{"nobody@example.test", "alice-x@example.test"} {
		if _, err := s.Resolve(ctx, in); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("Resolve(%s): err = %v, want ErrNoSuchUser", in, err)
		}
	}
	// The relay tricks of old MTAs are not addresses here.
	for _, in := range []string{"user%remote.test@example.test", `"user@remote.test"@example.test`, "remote.test!user@example.test", "@example.test:user@remote.test", "a@b@example.test"} {
		if _, err := s.Resolve(ctx, in); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("Resolve(%s): err = %v, want ErrInvalidAddress", in, err)
		}
	}
}

func TestPostmasterPrefersAPostmaster(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	if _, err := s.AddUser(ctx, "postmaster@other.test", "pw"); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Resolve(ctx, "postmaster@example.test")
	if err != nil || len(rs) != 1 || rs[0].Address != "postmaster@other.test" {
		t.Fatalf("postmaster@example.test -> %v %v", addrs(rs), err)
	}
}

func TestSenderAllowed(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	s.AddAlias(ctx, "info@example.test", []string{"alice@example.test"})
	s.AddAlias(ctx, "sales@example.test", []string{"bob@example.test"})
	alice, _ := s.User(ctx, "alice@example.test")
	for from, want := range map[string]bool{
		"alice@example.test": true, "Alice@Example.test": true, "alice+x@example.test": true, "info@example.test": true,
		"sales@example.test": false, "bob@example.test": false, "alice@remote.test": false, "": false,
	} {
		got, err := s.SenderAllowed(ctx, alice, from)
		if err != nil || got != want {
			t.Errorf("SenderAllowed(alice, %q) = %v, %v; want %v", from, got, err, want)
		}
	}
}

func TestAdmin(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	if _, err := s.AddDomain(ctx, "example.test"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate domain: %v", err)
	}
	if d, err := s.AddDomain(ctx, "Bücher.Test"); err != nil || d != "xn--bcher-kva.test" {
		t.Fatalf("IDN domain: %q %v", d, err)
	}
	if _, err := s.AddUser(ctx, "alice@example.test", "x"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	if _, err := s.AddUser(ctx, "x@nowhere.test", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("user in unknown domain: %v", err)
	}
	if _, err := s.AddUser(ctx, "a+b@example.test", "x"); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("user with +: %v", err)
	}
	if err := s.DeleteDomain(ctx, "example.test"); !errors.Is(err, ErrInUse) {
		t.Fatalf("delete domain in use: %v", err)
	}
	if err := s.SetPassword(ctx, "alice@example.test", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.test", "new", ip); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := s.DeleteUser(ctx, "alice@example.test"); err != nil {
		t.Fatal(err)
	}
	us, _ := s.Users(ctx, "example.test")
	if len(us) != 1 || us[0].Address != "bob@example.test" {
		t.Fatalf("users after delete: %+v", us)
	}
	if _, err := s.AddAlias(ctx, "x@example.test", []string{"x@example.test"}); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("self alias: %v", err)
	}
}
