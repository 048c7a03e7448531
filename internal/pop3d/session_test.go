package pop3d

import (
	"strings"
	"testing"
)

func TestStateAndUnknownCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(t)
	for _, cmd := range []string{"STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL"} {
		if r := c.cmd(cmd); r != "-ERR Command not valid in this state" {
			t.Fatalf("%s before login = %q", cmd, r)
		}
	}
	// A fresh connection: the first one has used up most of its errors.
	c = e.dial(t)
	for _, cmd := range []string{"APOP alice@example.test c4c9334bac560ecc979e58001b3e22fb", "XYZZY", "A", "", "US\x01R x", "TOOLONGKEYWORD"} {
		if r := c.cmd(cmd); r != "-ERR Unknown command" {
			t.Fatalf("%q = %q", cmd, r)
		}
	}
	// Keywords are case-insensitive (RFC 1939 §3).
	c.ok("user alice@example.test")
	c.ok("pass " + testPassword)
	c.ok("stat")
}

func TestTooManyErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(t)
	for i := range 9 {
		if r := c.cmd("BOGUS"); r != "-ERR Unknown command" {
			t.Fatalf("error %d = %q", i+1, r)
		}
	}
	if r := c.cmd("BOGUS"); r != "-ERR Too many errors; closing connection" {
		t.Fatalf("tenth error = %q", r)
	}
	if !c.closed() {
		t.Fatal("connection still open")
	}
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(t)
	// The rest of the over-long line must not be read as a command.
	if r := c.cmd("NOOP " + strings.Repeat("x", 3000) + " QUIT"); r != "-ERR Line too long" {
		t.Fatalf("long line = %q", r)
	}
	c.ok("CAPA")
	c.multi()
	// A long but allowed AUTH PLAIN initial response (RFC 5034 §4 lets it
	// pass RFC 2449's 255 octets).
	long := strings.Repeat("p", 300)
	if err := e.accts.SetPassword(t.Context(), "bob@example.test", long); err != nil {
		t.Fatal(err)
	}
	c.ok("AUTH PLAIN " + plain("", "bob@example.test", long))
}

func TestHTTPProbe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial(t)
	c.send("GET / HTTP/1.1\r\nHost: x")
	if r := c.line(); r != "-ERR Unknown command" {
		t.Fatalf("HTTP request = %q", r)
	}
	if !c.closed() {
		t.Fatal("connection still open after an HTTP request")
	}
}
