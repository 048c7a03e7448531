package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/mailbox"
	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
	"posthorn/internal/tlsconf"
)

// env is a SQLite store in a temp dir, the services, and a POP3 server on
// 127.0.0.1:0 twice: pop3 (STLS) and pop3s (implicit TLS), sharing one
// maildrop lock table as the composition root wires them.
type env struct {
	dir    string
	st     store.Store
	accts  *account.Service
	mboxes *mailbox.Service
	deliv  *delivery.Service
	tls    *tls.Config
	drops  *mailbox.Maildrops
	srv    *Server
	srvs   *Server
	addr   string // pop3
	addrs  string // pop3s
}

// envConfig adjusts an env before it starts.
type envConfig struct {
	pop  func(*Options)
	acct account.Options
}

const testPassword = "password"

func testLogger() *slog.Logger {
	if os.Getenv("POSTHORN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t testing.TB, cfgs ...func(*envConfig)) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir}
	e.open(t)
	e.start(t, cfgs...)
	ctx := context.Background()
	if _, err := e.accts.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.test", "bob@example.test"} {
		if _, err := e.accts.AddUser(ctx, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// open opens (or reopens) the store and builds the services.
func (e *env) open(t testing.TB) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: e.dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	t.Cleanup(func() { st.Close() })
	e.mboxes = mailbox.New(mailbox.Options{Store: st, Logger: testLogger()})
	t.Cleanup(e.mboxes.Close)
}

// start builds the account service and the two POP3 servers.
func (e *env) start(t testing.TB, cfgs ...func(*envConfig)) {
	t.Helper()
	cfg := envConfig{acct: account.Options{FailDelay: time.Nanosecond}}
	for _, c := range cfgs {
		c(&cfg)
	}
	cfg.acct.Store, cfg.acct.Logger = e.st, testLogger()
	e.accts = account.New(cfg.acct)
	e.deliv = delivery.New(delivery.Options{Store: e.st, Accounts: e.accts, Hostname: "mx.example.test", Logger: testLogger()})
	if e.tls == nil {
		tc, err := tlsconf.Config(tlsconf.Options{SelfSigned: true, Dir: t.TempDir(), Hostname: "pop.example.test"})
		if err != nil {
			t.Fatal(err)
		}
		e.tls = tc
	}
	e.drops = new(mailbox.Maildrops)
	mk := func(implicit bool) (*Server, string) {
		o := Options{
			Hostname: "pop.example.test", Mailboxes: e.mboxes, Accounts: e.accts, Maildrops: e.drops,
			TLS: e.tls, ImplicitTLS: implicit, AllowPlaintextOnLoopback: true, MaxConnectionsPerIP: 20,
			Logger: testLogger(),
		}
		if cfg.pop != nil {
			cfg.pop(&o)
		}
		srv := NewServer(o)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
		return srv, ln.Addr().String()
	}
	e.srv, e.addr = mk(false)
	e.srvs, e.addrs = mk(true)
}

func (e *env) account(t testing.TB, user string) account.Account {
	t.Helper()
	a, err := e.accts.User(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) inboxBox(t testing.TB, user string) mailbox.Mailbox {
	t.Helper()
	mb, err := e.mboxes.Get(context.Background(), e.account(t, user).ID, mailbox.InboxName)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// appendRaw stores a message in a user's INBOX as given (the IMAP APPEND
// path: no checks on line ends).
func (e *env) appendRaw(t testing.TB, user, raw string) mailbox.UID {
	t.Helper()
	a := e.account(t, user)
	mb := e.inboxBox(t, user)
	res, err := e.mboxes.Append(context.Background(), a.ID, mb.ID, []mailbox.NewMessage{{Body: strings.NewReader(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0].UID
}

// deliver sends a message through the delivery service (the SMTP path:
// Received and Return-Path are added).
func (e *env) deliver(t testing.TB, user, raw string) {
	t.Helper()
	ctx := context.Background()
	targets, err := e.deliv.Recipient(ctx, user, false)
	if err != nil {
		t.Fatal(err)
	}
	env := delivery.Envelope{From: "sender@remote.test", Recipients: []delivery.Recipient{{Address: user, Targets: targets}}}
	if _, err := e.deliv.Deliver(ctx, env, strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
}

// inbox returns the messages in a user's INBOX.
func (e *env) inbox(t testing.TB, user string) []mailbox.Message {
	t.Helper()
	a := e.account(t, user)
	ms, err := e.mboxes.Messages(context.Background(), a.ID, e.inboxBox(t, user).ID, mailbox.AllUIDs)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// testMessage makes a small message with CRLF line ends.
func testMessage(subject string, body ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender <sender@remote.test>\r\nTo: alice@example.test\r\nSubject: %s\r\n", subject)
	b.WriteString("Message-ID: <" + strings.ReplaceAll(subject, " ", "-") + "@remote.test>\r\n\r\n")
	for _, l := range body {
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

// client is a raw POP3 client that checks every line.
type client struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (e *env) dial(t testing.TB) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, c)
}

func (e *env) dialTLS(t testing.TB) *client {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.addrs, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, c)
}

func newClient(t testing.TB, c net.Conn) *client {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	if g := cl.line(); !strings.HasPrefix(g, "+OK ") {
		t.Fatalf("greeting %q", g)
	}
	return cl
}

// line reads one CRLF-terminated line, without its CRLF.
func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, line+"\r\n"); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// cmd sends a command and returns its first response line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// ok sends a command and fails unless the answer is +OK.
func (c *client) ok(line string) string {
	c.t.Helper()
	r := c.cmd(line)
	if !strings.HasPrefix(r, "+OK") {
		c.t.Fatalf("%s: %q", line, r)
	}
	return r
}

// multi reads the body of a multi-line response up to its terminating
// line, undoing byte-stuffing, each line without its CRLF.
func (c *client) multi() []string {
	c.t.Helper()
	var out []string
	for {
		l := c.line()
		if l == "." {
			return out
		}
		if strings.HasPrefix(l, ".") {
			l = l[1:]
		}
		out = append(out, l)
	}
}

// rawMulti reads a multi-line body as it is on the wire, terminator included.
func (c *client) rawMulti() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l := c.line()
		b.WriteString(l + "\r\n")
		if l == "." {
			return b.String()
		}
	}
}

// login logs in with USER/PASS.
func (c *client) login(user string) {
	c.t.Helper()
	c.ok("USER " + user)
	c.ok("PASS " + testPassword)
}

// closed reports whether the server has closed the connection: reading
// gives EOF or a reset (with no further line).
func (c *client) closed() bool {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := c.r.ReadString('\n')
	if err == nil {
		c.t.Fatalf("unexpected line %q", l)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// waitUnlocked waits until no session holds the user's maildrop: a closed
// client connection reaches the server a moment later.
func (e *env) waitUnlocked(t testing.TB, user string) {
	t.Helper()
	id := e.account(t, user).ID
	deadline := time.Now().Add(20 * time.Second)
	for e.drops.Locked(id) {
		if time.Now().After(deadline) {
			t.Fatalf("maildrop of %s still locked", user)
		}
		time.Sleep(time.Millisecond)
	}
}

func dialRaw(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		c.SetDeadline(time.Now().Add(20 * time.Second))
	}
	return c, err
}
