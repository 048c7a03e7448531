package smtpd

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"posthorn/internal/store"
)

// Limits and hygiene (issue 3, item 6).

func TestCommandLineLength(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	// RFC 5321 §4.5.3.1.4 as configured: 1000 octets with the CRLF.
	pad := func(n int) string { return "NOOP " + strings.Repeat("x", n-len("NOOP \r\n")) }
	rc.expect(pad(1000), "250 ")
	rc.expect(pad(1001), "500 5.5.2 ")
	if !rc.closed() {
		t.Fatal("connection open after an over-long line")
	}
}

func TestCommandLineNotBuffered(t *testing.T) {
	// A line that never ends is refused once it passes the limit, without
	// the server waiting for its end.
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.send("MAIL FROM:<" + strings.Repeat("a", 64<<10))
	rc.wait("500 5.5.2 ")
	if !rc.closed() {
		t.Fatal("connection open after an over-long line")
	}
	e.nothingStored()
}

func TestConnectionsPerIP(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.MaxConnectionsPerIP = 2 }))
	a, b := dialRaw(t, e.mx), dialRaw(t, e.mx)
	c, err := net.Dial("tcp", e.mx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	n, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "421 4.7.0 ") {
		t.Fatalf("third connection got %q", buf[:n])
	}
	a.expect("QUIT", "221 ")
	if !a.closed() { // the server has closed, and released the slot
		t.Fatal("QUIT did not close")
	}
	dialRaw(t, e.mx).ehlo()
	b.ehlo()
}

func TestTooManyErrorsDisconnect(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.MaxErrors = 3 }))
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	for i := range 3 {
		rc.expect("RCPT TO:<nobody"+string(rune('a'+i))+"@example.test>", "550 5.1.1 ")
	}
	// A delivered message forgives the errors so far (as Postfix does).
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	rc.send(testMessage("between errors") + ".\r\n")
	rc.wait("250 ")
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	for range 3 {
		rc.expect("RCPT TO:<victim@remote.test>", "554 5.7.1 ")
	}
	rc.expect("RCPT TO:<victim@remote.test>", "421 4.7.0 ")
	if !rc.closed() {
		t.Fatal("connection open after too many errors")
	}
	e.expectCounts(1, 0)
}

func TestTooManyAuthFailuresDisconnect(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.MaxErrors = 2 }))
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	rc.expect("AUTH PLAIN "+plain("alice@example.test", "1"), "535 ")
	rc.expect("AUTH PLAIN "+plain("alice@example.test", "2"), "535 ")
	rc.expect("AUTH PLAIN "+plain("alice@example.test", "3"), "421 4.7.0 ")
	if !rc.closed() {
		t.Fatal("connection open after too many failed logins")
	}
}

func TestUnknownCommandsDisconnect(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("XYZZ", "500 5.5.2 ")  // unknown
	rc.expect("XYZZY", "501 5.5.2 ") // not even a command
	rc.expect("XYZZ", "500 5.5.2 ")
	rc.expect("XYZZ", "500 5.5.2 ")
	rc.wait("500 5.5.1 ") // too many errors
	if !rc.closed() {
		t.Fatal("connection open after repeated unknown commands")
	}
}

func TestHTTPRequestDisconnects(t *testing.T) {
	e := newEnv(t)
	for _, req := range []string{"GET / HTTP/1.1", "POST /cgi-bin/x HTTP/1.1", "CONNECT 192.0.2.1:25 HTTP/1.0"} {
		rc := dialRaw(t, e.mx)
		rc.send(req + "\r\nHost: mx.example.test\r\nContent-Length: 0\r\n\r\n")
		rc.wait("221 2.7.0 ")
		if !rc.closed() {
			t.Fatalf("%s: connection open", req)
		}
	}
}

func TestCommandTimeout(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.CommandTimeout = 100 * time.Millisecond }))
	rc := dialRaw(t, e.mx)
	rc.wait("421 4.4.2 ") // we say nothing: the server gives up
	if !rc.closed() {
		t.Fatal("connection open after the timeout")
	}
}

func TestDataTimeout(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.DataTimeout = 100 * time.Millisecond }))
	rc := openData(t, e)
	rc.send("Subject: half a message\r\n\r\nand then sil")
	rc.wait("421 4.4.2 ")
	if !rc.closed() {
		t.Fatal("connection open after the data timeout")
	}
	e.nothingStored()
}

func TestSTARTTLSInjection(t *testing.T) {
	// Commands pipelined after STARTTLS in the clear (CVE-2011-0411) must
	// be dropped, not run inside the TLS session.
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.send("STARTTLS\r\nMAIL FROM:<injected@remote.test>\r\n")
	rc.wait("220 ")
	tc := tls.Client(rc.c, clientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	rc = wrapConnNoGreeting(t, tc)
	rc.ehlo()
	rc.expect("RCPT TO:<alice@example.test>", "503 5.5.1 ")
}

// panicStore is a real store whose Append panics for one account.
type panicStore struct {
	store.Store
	victim atomic.Int64 // store.AccountID
}

func (p *panicStore) Append(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	for _, m := range b.Messages {
		if int64(m.AccountID) == p.victim.Load() {
			panic("panicStore: Append for the victim")
		}
	}
	return p.Store.Append(ctx, b)
}

func TestPanicRecoveredPerConnection(t *testing.T) {
	ps := &panicStore{}
	e := newEnv(t, withStore(func(s store.Store) store.Store { ps.Store = s; return ps }))
	bob, err := e.accts.User(context.Background(), "bob@example.test")
	if err != nil {
		t.Fatal(err)
	}
	ps.victim.Store(int64(bob.ID))
	// Another session is open meanwhile and must be unaffected.
	other := dialRaw(t, e.mx)
	other.ehlo()
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	mailTo(rc, "x@remote.test", "bob@example.test")
	rc.send(testMessage("boom") + ".\r\n")
	rc.wait("421 4.3.0 ")
	if !rc.closed() {
		t.Fatal("connection open after a panic")
	}
	recs := e.logs.records("panic in session")
	if len(recs) != 1 || !strings.Contains(recs[0]["stack"].(string), "panicStore") || recs[0]["session"] == "" {
		t.Fatalf("panic log: %v", recs)
	}
	mailTo(other, "x@remote.test", "alice@example.test")
	other.send(testMessage("fine") + ".\r\n")
	other.wait("250 ")
	e.expectCounts(1, 0)
}

func TestShutdown(t *testing.T) {
	e := newEnv(t)
	srv := NewServer(Options{Role: MX, Hostname: hostname, Delivery: e.deliv, Accounts: e.accts})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	idle := dialRaw(t, ln.Addr().String())
	idle.ehlo()
	busy := dialRaw(t, ln.Addr().String())
	busy.ehlo()
	mailTo(busy, "x@remote.test", "alice@example.test")
	busy.send("Subject: in flight\r\n\r\nfirst half ")
	// Wait until the session is inside DATA (the server marks it busy).
	for !anyBusy(srv) {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	idle.wait("421 4.4.2 ")
	if !idle.closed() {
		t.Fatal("idle session still open")
	}
	busy.send("second half\r\n.\r\n")
	busy.wait("250 ")
	busy.wait("421 ") // and then it is closed too
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(e.inbox("alice@example.test")); n != 1 {
		t.Fatalf("the message in flight was lost: %d stored", n)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

func anyBusy(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.busy.Load() {
			return true
		}
	}
	return false
}
