package imapd

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestBadCommands(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBadCommands = 3 })
	rc := h.dial()
	rc.fail("BAD", "FROBNICATE")
	rc.fail("BAD", "SELECT INBOX") // not authenticated
	rc.ok("NOOP")                  // a good command resets the count
	rc.fail("BAD", "UID NOOP")
	rc.send("\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "* BAD") {
		t.Errorf("empty line: %q", l)
	}
	rc.send("A3 X\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "A3 BAD") {
		t.Errorf("%q", l)
	}
	if l := rc.line(); l != "* BYE Too many invalid commands" {
		t.Errorf("%q", l)
	}
}

// allocatedDuring reports the heap allocation of the process during fn.
func allocatedDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileInput(t *testing.T) {
	h := newHarness(t)
	huge := []byte("A1 NOOP " + strings.Repeat("x", 10<<20) + "\r\n")
	// A 10 MB line: the server reads at most its budget, then says BYE.
	rc := h.dial()
	alloc := allocatedDuring(func() {
		go rc.c.Write(huge)
		if l := rc.line(); !strings.HasPrefix(l, "* BYE [TOOBIG]") {
			t.Errorf("%q", l)
		}
	})
	if alloc > 4<<20 {
		t.Errorf("a 10 MB line cost %d octets of allocation", alloc)
	}
	// Before login: lines are short.
	rc = h.dial()
	rc.send("A1 LOGIN " + strings.Repeat("y", 9000) + " x\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "* BYE [TOOBIG]") {
		t.Errorf("long pre-auth line: %q", l)
	}
	// A 4 GB synchronizing literal is refused without a continuation and
	// the session goes on.
	rc = h.dial()
	alloc = allocatedDuring(func() {
		if done := rc.fail("BAD", "LOGIN {4294967295}"); !strings.Contains(done, "[TOOBIG]") {
			t.Errorf("%q", done)
		}
	})
	if alloc > 1<<20 {
		t.Errorf("refusing a 4 GB literal cost %d octets", alloc)
	}
	rc.ok("LOGIN alice@example.test password")
	// Deep parentheses.
	rc.ok("SELECT INBOX")
	rc.fail("BAD", "SEARCH "+strings.Repeat("(", 1000)+"ALL"+strings.Repeat(")", 1000))
	rc.fail("BAD", "FETCH 1:* "+strings.Repeat("(", 100))
	rc.ok("NOOP")
}

func TestPreAuthTimeout(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.PreAuthTimeout = 100 * time.Millisecond })
	rc := h.dial()
	if l := rc.line(); l != "* BYE Autologout; idle for too long" {
		t.Errorf("%q", l)
	}
}

func TestPanicEndsOnlyTheSession(t *testing.T) {
	// A server without a mailbox service panics on SELECT: the session
	// gets BYE, the server goes on.
	ctx := context.Background()
	h := newHarness(t)
	srv := NewServer(Options{Accounts: h.accts, AllowPlaintextOnLoopback: true, Logger: testLogger()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rc := &rawClient{t: t, c: c}
		rc.br = newReader(c)
		rc.line()
		rc.send("A1 LOGIN alice@example.test password\r\nA2 STATUS INBOX (MESSAGES)\r\n")
		rc.waitFor("* BYE [SERVERBUG] Internal error, closing connection")
	}
}

func TestShutdownSaysBye(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	rc.ok("SELECT INBOX")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go h.srv.Shutdown(ctx)
	if l := rc.line(); l != "* BYE Server shutting down" {
		t.Errorf("%q", l)
	}
	if _, err := rc.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("after BYE: %v", err)
	}
}
