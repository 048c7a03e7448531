package imapd

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
	"posthorn/internal/mailbox"
	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
	"posthorn/internal/tlsconf"
)

// harness is an IMAP server on 127.0.0.1:0 over a fresh SQLite store,
// with the domain example.test and the users alice@ and bob@ (password
// "password"). It stops when the test ends.
type harness struct {
	t     testing.TB
	st    store.Store
	accts *account.Service
	mbox  *mailbox.Service
	srv   *Server
	addr  string
	tls   *tls.Config
	cert  string // PEM file of the self-signed certificate
	alice store.Account
	bob   store.Account
}

const testPassword = "password"

func testLogger() *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("POSTHORN_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newHarness(t testing.TB, adjust ...func(*Options)) *harness {
	t.Helper()
	return newHarnessWith(t, nil, adjust...)
}

// newHarnessWith is newHarness with the store wrapped by wrap.
func newHarnessWith(t testing.TB, wrap func(store.Store) store.Store, adjust ...func(*Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	sq, err := sqlite.Open(context.Background(), sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store = sq
	if wrap != nil {
		st = wrap(sq)
	}
	return newHarnessOn(t, st, dir, adjust...)
}

// newHarnessOn runs the harness on a given (empty) store; dir holds the
// certificate. The harness closes the store.
func newHarnessOn(t testing.TB, st store.Store, dir string, adjust ...func(*Options)) *harness {
	t.Helper()
	ctx := context.Background()
	var err error
	log := testLogger()
	h := &harness{t: t, st: st}
	h.accts = account.New(account.Options{Store: st, Logger: log, FailDelay: time.Nanosecond})
	h.mbox = mailbox.New(mailbox.Options{Store: st, Logger: log, MaxMessageSize: 50 << 20})
	if _, err := h.accts.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	if h.alice, err = h.accts.AddUser(ctx, "alice@example.test", testPassword); err != nil {
		t.Fatal(err)
	}
	if h.bob, err = h.accts.AddUser(ctx, "bob@example.test", testPassword); err != nil {
		t.Fatal(err)
	}
	h.cert = dir + "/tls/selfsigned.crt"
	h.tls, err = tlsconf.Config(tlsconf.Options{SelfSigned: true, Dir: dir + "/tls", Hostname: "imap.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Hostname: "imap.example.test", Mailboxes: h.mbox, Accounts: h.accts, TLS: h.tls,
		AllowPlaintextOnLoopback: true, Logger: log}
	for _, a := range adjust {
		a(&o)
	}
	h.srv = NewServer(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	go h.srv.Serve(ln)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.srv.Shutdown(sctx)
		h.mbox.Close()
		st.Close()
	})
	return h
}

// deliver appends a message to a mailbox of an account through the
// mailbox service (as delivery would) and returns its UID.
func (h *harness) deliver(a store.Account, mailboxName, msg string, flags store.Flags) store.UID {
	h.t.Helper()
	ctx := context.Background()
	mb, err := h.mbox.Get(ctx, a.ID, mailboxName)
	if err != nil {
		h.t.Fatal(err)
	}
	res, err := h.mbox.Append(ctx, a.ID, mb.ID, []mailbox.NewMessage{{Body: strings.NewReader(msg), Flags: flags,
		Date: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}})
	if err != nil {
		h.t.Fatal(err)
	}
	return res[0].UID
}

// rawClient speaks IMAP line by line for protocol-level tests.
type rawClient struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
	n  int
}

func (h *harness) dial() *rawClient {
	h.t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	rc := &rawClient{t: h.t, c: c, br: bufio.NewReader(c)}
	if g := rc.line(); !strings.HasPrefix(g, "* OK ") {
		h.t.Fatalf("greeting: %q", g)
	}
	return rc
}

// login dials and logs in as alice.
func (h *harness) login() *rawClient {
	rc := h.dial()
	rc.ok("LOGIN alice@example.test password")
	return rc
}

func (rc *rawClient) line() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := rc.br.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// cmd sends a tagged command and returns the untagged lines (literals
// inlined) and the tagged completion line.
func (rc *rawClient) cmd(line string) ([]string, string) {
	rc.t.Helper()
	rc.n++
	tag := fmt.Sprintf("T%d", rc.n)
	rc.send(tag + " " + line + "\r\n")
	return rc.until(tag)
}

// until reads responses up to the tagged one.
func (rc *rawClient) until(tag string) ([]string, string) {
	rc.t.Helper()
	var lines []string
	for {
		l := rc.readResponse()
		if strings.HasPrefix(l, tag+" ") {
			return lines, l
		}
		lines = append(lines, l)
	}
}

// readResponse reads one response line with its literals inlined.
func (rc *rawClient) readResponse() string {
	rc.t.Helper()
	l := rc.line()
	for {
		n, _, ok := trailingLiteral([]byte(l))
		if !ok || strings.HasPrefix(l, "+") {
			return l
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(rc.br, buf); err != nil {
			rc.t.Fatal(err)
		}
		l += "\r\n" + string(buf) + rc.line()
	}
}

// ok runs a command that must succeed and returns its untagged lines.
func (rc *rawClient) ok(line string) []string {
	rc.t.Helper()
	lines, done := rc.cmd(line)
	if !strings.Contains(done, " OK") {
		rc.t.Fatalf("%s: %s (untagged %q)", line, done, lines)
	}
	return lines
}

// fail runs a command that must fail with the given kind (NO or BAD) and
// returns the completion line.
func (rc *rawClient) fail(kind, line string) string {
	rc.t.Helper()
	lines, done := rc.cmd(line)
	if !strings.Contains(done, " "+kind+" ") {
		rc.t.Fatalf("%s: want %s, got %s (untagged %q)", line, kind, done, lines)
	}
	return done
}

// has reports whether some line contains every substring.
func has(lines []string, subs ...string) bool {
	for _, l := range lines {
		all := true
		for _, s := range subs {
			if !strings.Contains(l, s) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func mustHave(t testing.TB, lines []string, subs ...string) {
	t.Helper()
	if !has(lines, subs...) {
		t.Fatalf("no line has %q in:\n%s", subs, strings.Join(lines, "\n"))
	}
}

const simpleMessage = "From: Alice <alice@example.test>\r\n" +
	"To: Bob <bob@example.test>\r\n" +
	"Subject: Hello there\r\n" +
	"Date: Mon, 6 May 2024 07:08:09 +0000\r\n" +
	"Message-ID: <hello@example.test>\r\n" +
	"\r\n" +
	"Hi Bob,\r\nthis is a test.\r\n"

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
