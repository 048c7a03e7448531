package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/mailbox"
	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
	"posthorn/internal/tlsconf"
)

// The test fixture: a real SQLite store in a temp dir, the real account,
// delivery and mailbox services, and real listeners on 127.0.0.1:0.
const (
	hostname = "mx.example.test"
	password = "password"
)

// env is a store, the services and one listener per role.
type env struct {
	t       testing.TB
	st      store.Store
	accts   *account.Service
	deliv   *delivery.Service
	mboxes  *mailbox.Service
	tlsConf *tls.Config
	logs    *logBuffer
	mx      string // MX, STARTTLS offered
	sub     string // submission, STARTTLS offered
	subs    string // submissions, implicit TLS
}

// envConfig adjusts the fixture before it starts.
type envConfig struct {
	accounts  func(*account.Options)
	delivery  func(*delivery.Options)
	smtpd     func(*Options)
	wrapStore func(store.Store) store.Store
	handler   slog.Handler // default: JSON lines into env.logs
}

type envOption func(*envConfig)

func withDelivery(f func(*delivery.Options)) envOption {
	return func(c *envConfig) { c.delivery = f }
}
func withAccounts(f func(*account.Options)) envOption {
	return func(c *envConfig) { c.accounts = f }
}
func withSMTPD(f func(*Options)) envOption { return func(c *envConfig) { c.smtpd = f } }
func withStore(f func(store.Store) store.Store) envOption {
	return func(c *envConfig) { c.wrapStore = f }
}

// newEnv starts the fixture: domain example.test with alice@ and bob@
// (password "password"), the alias sales@ -> alice, bob and the forward
// fwd@ -> carol@remote.test; limits 1 MiB and 5 recipients.
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	var st store.Store = sq
	if cfg.wrapStore != nil {
		st = cfg.wrapStore(sq)
	}
	logs := &logBuffer{}
	if cfg.handler == nil {
		cfg.handler = slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	log := slog.New(cfg.handler)
	ao := account.Options{Store: st, Logger: log, FailDelay: time.Nanosecond}
	if cfg.accounts != nil {
		cfg.accounts(&ao)
	}
	accts := account.New(ao)
	if _, err := accts.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.test", "bob@example.test"} {
		if _, err := accts.AddUser(ctx, u, password); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := accts.AddAlias(ctx, "sales@example.test", []string{"alice@example.test", "bob@example.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := accts.AddAlias(ctx, "fwd@example.test", []string{"carol@remote.test"}); err != nil {
		t.Fatal(err)
	}
	tc, err := tlsconf.Config(tlsconf.Options{SelfSigned: true, Dir: t.TempDir(), Hostname: hostname})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, accts: accts, tlsConf: tc, logs: logs, mboxes: mailbox.New(mailbox.Options{Store: st})}
	do := delivery.Options{Store: st, Accounts: accts, Hostname: hostname, MaxMessageSize: 1 << 20, MaxRecipients: 5, Logger: log}
	if cfg.delivery != nil {
		cfg.delivery(&do)
	}
	e.deliv = delivery.New(do)
	start := func(role Role, implicit bool) string {
		o := Options{Role: role, Hostname: hostname, Delivery: e.deliv, Accounts: accts, TLS: tc, ImplicitTLS: implicit,
			AllowPlaintextOnLoopback: true, MaxConnectionsPerIP: 10, Logger: log}
		if cfg.smtpd != nil {
			cfg.smtpd(&o)
		}
		srv := NewServer(o)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
		return ln.Addr().String()
	}
	e.mx, e.sub, e.subs = start(MX, false), start(Submission, false), start(Submission, true)
	return e
}

// stored is a message as the store holds it.
type stored struct {
	store.Message
	Content string // Return-Path prefix + blob
}

// inbox returns the messages in a user's INBOX with their full content.
func (e *env) inbox(user string) []stored {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.accts.User(ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	mb, err := e.mboxes.Get(ctx, a.ID, store.InboxName)
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := e.mboxes.Messages(ctx, a.ID, mb.ID, store.AllUIDs)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []stored
	for _, m := range msgs {
		c, err := e.mboxes.Open(ctx, m)
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, stored{Message: m, Content: string(b)})
	}
	return out
}

// counts returns how many messages all mailboxes of all accounts hold and
// how many queue entries there are.
func (e *env) counts() (messages, queued int) {
	e.t.Helper()
	ctx := context.Background()
	as, err := e.st.Accounts(ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range as {
		mbs, err := e.st.Mailboxes(ctx, a.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, mb := range mbs {
			messages += mb.Total
		}
	}
	q, err := e.st.QueueEntries(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return messages, len(q)
}

// nothingStored fails unless no mailbox holds a message and the queue is
// empty.
func (e *env) nothingStored() {
	e.t.Helper()
	if m, q := e.counts(); m != 0 || q != 0 {
		e.t.Fatalf("stored %d messages and %d queue entries, want none", m, q)
	}
}

// expectCounts fails unless exactly m messages and q queue entries exist.
func (e *env) expectCounts(m, q int) {
	e.t.Helper()
	if gm, gq := e.counts(); gm != m || gq != q {
		e.t.Fatalf("stored %d messages and %d queue entries, want %d and %d", gm, gq, m, q)
	}
}

// send delivers one message over plain SMTP with go-smtp's client.
func send(addr, from string, to []string, body string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.test"); err != nil {
		return err
	}
	return transact(c, from, to, body)
}

// submit authenticates as user and sends one message (plaintext AUTH on
// loopback).
func submit(addr, user, from string, to []string, body string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.test"); err != nil {
		return err
	}
	if err := c.Auth(sasl.NewPlainClient("", user, password)); err != nil {
		return err
	}
	return transact(c, from, to, body)
}

func transact(c *smtp.Client, from string, to []string, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// rawConn speaks SMTP by hand, for exact bytes on the wire.
type rawConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

// dialRaw connects and reads the greeting.
func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return wrapRaw(t, c)
}

// wrapRaw takes over a connection and reads the greeting.
func wrapRaw(t testing.TB, c net.Conn) *rawConn {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	// A bound on every exchange so that a broken server fails the test
	// instead of hanging it; no test depends on it.
	c.SetDeadline(time.Now().Add(60 * time.Second))
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	if got := rc.reply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting %q", got)
	}
	return rc
}

// wrapConnNoGreeting takes over a connection in the middle of a session.
func wrapConnNoGreeting(t testing.TB, c net.Conn) *rawConn {
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

// startTLS upgrades the connection after a 220 to STARTTLS.
func (rc *rawConn) startTLS(conf *tls.Config) {
	rc.t.Helper()
	rc.expect("STARTTLS", "220 ")
	tc := tls.Client(rc.c, conf)
	if err := tc.Handshake(); err != nil {
		rc.t.Fatal(err)
	}
	rc.c, rc.r = tc, bufio.NewReader(tc)
}

// send writes raw bytes.
func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// reply reads one whole reply; a multi-line reply comes back with its
// lines joined by "\n". At EOF it returns "EOF".
func (rc *rawConn) reply() string {
	rc.t.Helper()
	var lines []string
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			if len(lines) == 0 && line == "" {
				return "EOF"
			}
			rc.t.Fatalf("read reply: %v (got %q)", err, append(lines, line))
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// cmd sends one command line and returns the reply.
func (rc *rawConn) cmd(line string) string {
	rc.t.Helper()
	rc.send(line + "\r\n")
	return rc.reply()
}

// expect sends a command line and fails unless the reply starts with want.
func (rc *rawConn) expect(line, want string) string {
	rc.t.Helper()
	got := rc.cmd(line)
	if !strings.HasPrefix(got, want) {
		rc.t.Fatalf("%q: reply %q, want %q", line, got, want)
	}
	return got
}

// wait reads the next reply and fails unless it starts with want.
func (rc *rawConn) wait(want string) string {
	rc.t.Helper()
	got := rc.reply()
	if !strings.HasPrefix(got, want) {
		rc.t.Fatalf("reply %q, want %q", got, want)
	}
	return got
}

// ehlo greets and returns the capabilities (first word of each line).
func (rc *rawConn) ehlo() map[string]string {
	rc.t.Helper()
	got := rc.expect("EHLO client.example.test", "250")
	caps := map[string]string{}
	for _, l := range strings.Split(got, "\n")[1:] {
		kw, arg, _ := strings.Cut(l[4:], " ")
		caps[kw] = arg
	}
	return caps
}

// closed reports whether the server closed the connection (read EOF).
func (rc *rawConn) closed() bool {
	rc.t.Helper()
	_, err := rc.r.ReadByte()
	return err != nil
}

// auth logs in with PLAIN.
func (rc *rawConn) auth(user, pass string) string {
	rc.t.Helper()
	return rc.cmd("AUTH PLAIN " + plain(user, pass))
}

// queuedID returns the id in a "250 2.0.0 OK, queued as ID" reply.
func queuedID(t testing.TB, reply string) string {
	t.Helper()
	i := strings.LastIndex(reply, "queued as ")
	if !strings.HasPrefix(reply, "250 2.0.0 ") || i < 0 {
		t.Fatalf("not an acceptance: %q", reply)
	}
	return reply[i+len("queued as "):]
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the log records whose msg is msg.
func (l *logBuffer) records(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func clientTLS() *tls.Config {
	return &tls.Config{ServerName: hostname, InsecureSkipVerify: true}
}

// message builds a small message with CRLF line endings.
func testMessage(subject string) string {
	return "From: x@remote.test\r\nTo: alice@example.test\r\nSubject: " + subject +
		"\r\nDate: Sat, 09 Mar 2024 17:04:05 +0100\r\nMessage-ID: <" + strconv.Itoa(len(subject)) + "@remote.test>\r\n\r\nHello.\r\n"
}

func TestMXDeliversToInbox(t *testing.T) {
	e := newEnv(t)
	body := "From: x@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello Alice.\r\n"
	if err := send(e.mx, "x@remote.test", []string{"alice@example.test"}, body); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	got := e.inbox("alice@example.test")
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages", len(got))
	}
	if !strings.HasPrefix(got[0].Content, "Return-Path: <x@remote.test>\r\nReceived: from ") || !strings.HasSuffix(got[0].Content, "\r\n"+body) {
		t.Fatalf("stored message:\n%s", got[0].Content)
	}
	e.expectCounts(1, 0)
}

// plain is the base64 PLAIN initial response for user and pass.
func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}
