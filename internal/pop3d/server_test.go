package pop3d

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestIdleTimeoutDeletesNothing: the autologout timer (RFC 1939 §3) ends a
// session in TRANSACTION without entering UPDATE.
func TestIdleTimeoutDeletesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPop(func(o *Options) { o.IdleTimeout = 200 * time.Millisecond }))
	e.fill(t, 2)
	// All commands in one write, so that a slow test machine cannot make
	// the short timer fire before the client has spoken.
	conn, err := dialRaw(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, c: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	c.send("USER alice@example.test\r\nPASS " + testPassword + "\r\nDELE 1\r\nDELE 2")
	for range 5 {
		if l := c.line(); !strings.HasPrefix(l, "+OK") {
			t.Fatalf("got %q", l)
		}
	}
	if !c.closed() {
		t.Fatal("idle session not closed")
	}
	e.waitUnlocked(t, "alice@example.test")
	if n := len(e.inbox(t, "alice@example.test")); n != 2 {
		t.Fatalf("%d messages left after a timeout, want 2", n)
	}
}

// TestShutdownDeletesNothing: Shutdown ends a session that waits for a
// command, returns without waiting for the client, and deletes nothing.
func TestShutdownDeletesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 1)
	c := e.dial(t)
	c.login("alice@example.test")
	c.ok("DELE 1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !c.closed() {
		t.Fatal("session open after Shutdown")
	}
	if e.drops.Locked(e.account(t, "alice@example.test").ID) {
		t.Fatal("maildrop still locked after Shutdown")
	}
	if n := len(e.inbox(t, "alice@example.test")); n != 1 {
		t.Fatalf("%d messages left after shutdown, want 1", n)
	}
	if _, err := dialRaw(e.addr); err == nil {
		t.Fatal("listener still accepts after Shutdown")
	}
}

// TestShutdownGivesUp: a session busy sending a big message to a client
// that does not read holds Shutdown until ctx ends; then Shutdown closes it,
// reports ctx's error, and nothing marked is deleted.
func TestShutdownGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := testMessage("big", strings.Repeat(strings.Repeat("x", 998)+"\r\n", 12<<10))
	e.appendRaw(t, "alice@example.test", big)
	e.fill(t, 1)
	c := e.dial(t)
	c.c.(*net.TCPConn).SetReadBuffer(4096)
	c.login("alice@example.test")
	c.ok("DELE 2")
	c.send("RETR 1") // 12 MiB that the client does not read
	// Wait until the server is stuck writing: its reply has started.
	c.line()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	e.waitUnlocked(t, "alice@example.test")
	if n := len(e.inbox(t, "alice@example.test")); n != 2 {
		t.Fatalf("%d messages left, want 2", n)
	}
}

func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPop(func(o *Options) { o.MaxConnectionsPerIP = 1 }))
	e.dial(t)
	c, err := dialRaw(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, _ := bufio.NewReader(c).ReadString('\n')
	if l != "-ERR [SYS/TEMP] Too many connections from your address\r\n" {
		t.Fatalf("over the limit: %q", l)
	}
}
