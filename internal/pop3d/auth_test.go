package pop3d

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"posthorn/internal/account"
)

func plain(authz, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
}

func noPlaintext(c *envConfig) {
	prev := c.pop
	c.pop = func(o *Options) {
		if prev != nil {
			prev(o)
		}
		o.AllowPlaintextOnLoopback = false
	}
}

func withPop(fn func(*Options)) func(*envConfig) {
	return func(c *envConfig) { c.pop = fn }
}

func TestCapa(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(t)
	c.ok("CAPA")
	want := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "SASL PLAIN", "STLS", "IMPLEMENTATION Posthorn"}
	if got := c.multi(); !slices.Equal(got, want) {
		t.Fatalf("CAPA before login = %q, want %q", got, want)
	}
	c.login("alice@example.test")
	c.ok("CAPA")
	want = []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION Posthorn"}
	if got := c.multi(); !slices.Equal(got, want) {
		t.Fatalf("CAPA after login = %q, want %q", got, want)
	}
	for _, cmd := range []string{"USER x", "PASS y", "AUTH PLAIN", "STLS"} {
		if r := c.cmd(cmd); r != "-ERR Command not valid in this state" {
			t.Fatalf("%s in TRANSACTION = %q", cmd, r)
		}
	}
}

func TestPassWithSpaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.accts.SetPassword(t.Context(), "bob@example.test", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := e.dial(t)
	c.ok("USER bob@example.test")
	c.ok("PASS correct horse battery")
}

func TestAuthFailedNeedsUserAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(t)
	if r := c.cmd("PASS x"); r != "-ERR USER first" {
		t.Fatalf("PASS without USER = %q", r)
	}
	c.ok("USER alice@example.test")
	if r := c.cmd("PASS wrong"); r != "-ERR [AUTH] Authentication failed" {
		t.Fatalf("wrong PASS = %q", r)
	}
	if r := c.cmd("PASS " + testPassword); r != "-ERR USER first" {
		t.Fatalf("PASS after a failed PASS = %q", r)
	}
	c.ok("USER nobody@example.test")
	if r := c.cmd("PASS " + testPassword); r != "-ERR [AUTH] Authentication failed" {
		t.Fatalf("unknown user = %q", r)
	}
	c.login("alice@example.test")
}

func TestAuthPlain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(t)
	if r := c.ok("AUTH"); r != "+OK" {
		t.Fatalf("AUTH = %q", r)
	}
	if got := c.multi(); !slices.Equal(got, []string{"PLAIN"}) {
		t.Fatalf("AUTH mechanisms = %q", got)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"AUTH CRAM-MD5", "-ERR Unsupported authentication mechanism"},
		{"AUTH PLAIN !!!", "-ERR Invalid base64 data"},
		{"AUTH PLAIN =", "-ERR Syntax error in arguments"},
		{"AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("no-nuls")), "-ERR Syntax error in arguments"},
		{"AUTH PLAIN " + plain("", "alice@example.test", "wrong"), "-ERR [AUTH] Authentication failed"},
		{"AUTH PLAIN " + plain("bob@example.test", "alice@example.test", testPassword), "-ERR [AUTH] Authentication failed"},
	} {
		if r := c.cmd(tc.cmd); r != tc.want {
			t.Fatalf("%s = %q, want %q", tc.cmd, r, tc.want)
		}
	}
	// Without an initial response: an empty challenge, then the response;
	// "*" cancels (RFC 5034 §4).
	if r := c.cmd("AUTH PLAIN"); r != "+ " {
		t.Fatalf("challenge = %q", r)
	}
	if r := c.cmd("*"); r != "-ERR Authentication cancelled" {
		t.Fatalf("cancel = %q", r)
	}
	if r := c.cmd("auth plain"); r != "+ " {
		t.Fatalf("challenge = %q", r)
	}
	if r := c.cmd(plain("alice@example.test", "alice@example.test", testPassword)); !strings.HasPrefix(r, "+OK Logged in") {
		t.Fatalf("AUTH PLAIN continuation = %q", r)
	}
	c.ok("QUIT")

	c = e.dial(t)
	if r := c.cmd("AUTH PLAIN " + plain("", "bob@example.test", testPassword)); !strings.HasPrefix(r, "+OK Logged in; maildrop has 0 messages") {
		t.Fatalf("AUTH PLAIN with initial response = %q", r)
	}
}

func TestPlaintextNeedsTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noPlaintext)
	c := e.dial(t)
	c.ok("CAPA")
	if got := c.multi(); slices.Contains(got, "USER") || slices.Contains(got, "SASL PLAIN") || !slices.Contains(got, "STLS") {
		t.Fatalf("CAPA without TLS = %q", got)
	}
	for _, cmd := range []string{"USER alice@example.test", "PASS x", "AUTH PLAIN " + plain("", "alice@example.test", testPassword)} {
		if r := c.cmd(cmd); r != "-ERR Plaintext authentication needs TLS; use STLS" {
			t.Fatalf("%s without TLS = %q", cmd, r)
		}
	}
	c.ok("STLS")
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	c.ok("CAPA")
	if got := c.multi(); !slices.Contains(got, "USER") || !slices.Contains(got, "SASL PLAIN") || slices.Contains(got, "STLS") {
		t.Fatalf("CAPA under TLS = %q", got)
	}
	if r := c.cmd("STLS"); r != "-ERR Command not permitted when TLS active" {
		t.Fatalf("second STLS = %q", r)
	}
	c.login("alice@example.test")
}

// TestSTLSInjection: plaintext pipelined behind STLS must not be run as if
// it came under TLS.
func TestSTLSInjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noPlaintext)
	c := e.dial(t)
	c.send("STLS\r\nCAPA")
	if r := c.line(); r != "+OK Begin TLS negotiation" {
		t.Fatalf("STLS = %q", r)
	}
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	if r := c.cmd("QUIT"); r != "+OK pop.example.test POP3 server signing off" {
		t.Fatalf("first answer under TLS = %q (the injected CAPA was run)", r)
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noPlaintext)
	e.fill(t, 1)
	c := e.dialTLS(t)
	c.ok("CAPA")
	if got := c.multi(); !slices.Contains(got, "USER") || slices.Contains(got, "STLS") {
		t.Fatalf("CAPA on pop3s = %q", got)
	}
	c.login("alice@example.test")
	c.ok("RETR 1")
	if body := c.multi(); body[len(body)-1] != "last" {
		t.Fatalf("RETR over TLS ends with %q", body[len(body)-1])
	}
	c.ok("QUIT")
}

func TestNoTLSConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPop(func(o *Options) {
		if !o.ImplicitTLS {
			o.TLS = nil
		}
	}))
	c := e.dial(t)
	c.ok("CAPA")
	if got := c.multi(); slices.Contains(got, "STLS") {
		t.Fatalf("CAPA offers STLS without a certificate: %q", got)
	}
	if r := c.cmd("STLS"); r != "-ERR STLS is not available" {
		t.Fatalf("STLS = %q", r)
	}
}

func TestInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 1)
	c1 := e.dial(t)
	c1.login("alice@example.test")
	c1.ok("DELE 1")
	// A second session, also over the other listener, is refused after a
	// successful authentication (RFC 2449 §8.1.2).
	for _, c2 := range []*client{e.dial(t), e.dialTLS(t)} {
		c2.ok("USER alice@example.test")
		if r := c2.cmd("PASS " + testPassword); r != "-ERR [IN-USE] Maildrop is in use by another session" {
			t.Fatalf("second session = %q", r)
		}
		if r := c2.cmd("AUTH PLAIN " + plain("", "alice@example.test", testPassword)); !strings.HasPrefix(r, "-ERR [IN-USE]") {
			t.Fatalf("second session by AUTH = %q", r)
		}
		c2.login("bob@example.test") // another account is free
		c2.ok("QUIT")
		e.waitUnlocked(t, "bob@example.test")
	}
	c1.ok("QUIT")
	e.waitUnlocked(t, "alice@example.test")
	c3 := e.dial(t)
	c3.login("alice@example.test")
	if r := c3.ok("STAT"); r != "+OK 0 0" {
		t.Fatalf("STAT after the first session's QUIT = %q", r)
	}
}

func TestThrottledLogin(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, func(c *envConfig) {
		c.acct = account.Options{FailDelay: time.Nanosecond, Now: func() time.Time { return now }, Sleep: func(time.Duration) {}}
	})
	c := e.dial(t)
	var last string
	for range 6 {
		c.ok("USER alice@example.test")
		last = c.cmd("PASS wrong")
	}
	if last != "-ERR [SYS/TEMP] Too many failed logins; try again later" {
		t.Fatalf("after 6 failures: %q", last)
	}
	// The right password does not get through while the back-off lasts,
	// and the reply does not say whether it was right.
	c.ok("USER alice@example.test")
	if r := c.cmd("PASS " + testPassword); r != last {
		t.Fatalf("right password during back-off = %q", r)
	}
}
