package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"posthorn/internal/config"
	"posthorn/internal/servertest"
	"posthorn/internal/store"
)

// TestMain runs the cases, then stops the peers the cases started and
// removes the shared directory.
func TestMain(m *testing.M) {
	code := m.Run()
	stopPeers()
	if sharedPath != "" {
		os.RemoveAll(sharedPath)
	}
	os.Exit(code)
}

// The fixture's users.
const (
	alice    = "alice@example.test"
	bob      = "bob@example.test"
	password = servertest.Password
)

// startPosthorn boots a whole Posthorn for one test (servertest: every
// listener on 127.0.0.1:0, SQLite in a temp dir, alice@ and bob@
// example.test) presenting the suite's server certificate, with no SPF,
// DKIM or DMARC checks and no MTA-STS lookups.
func startPosthorn(t *testing.T, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	p := testPKI(t)
	base := servertest.WithConfig(func(c *config.Config) {
		c.TLS = config.TLS{CertFile: p.CertFile, KeyFile: p.KeyFile}
		c.MX.Checks = false
		c.Queue.MTASTS = false
	})
	return servertest.Start(t, append([]servertest.Option{base}, opts...)...)
}

// stored is one message of a mailbox as the store has it.
type stored struct {
	UID      uint32
	Flags    store.Flags
	Keywords []string
	Data     string // what IMAP's BODY[] and POP3's RETR return: prefix and body
}

// mailbox reads a mailbox of user straight from the store, oldest first.
func mailbox(t testing.TB, s *servertest.Server, user, name string) []stored {
	t.Helper()
	ctx := context.Background()
	a, err := s.Accounts.User(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Store.MailboxByName(ctx, a.ID, name)
	if err != nil {
		t.Fatalf("%s of %s: %v", name, user, err)
	}
	msgs, err := s.Store.Messages(ctx, mb.ID, store.AllUIDs)
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	for _, m := range msgs {
		b, err := s.Store.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(b)
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored{UID: uint32(m.UID), Flags: m.Flags, Keywords: m.Keywords, Data: string(m.Prefix) + string(body)})
	}
	return out
}

// inbox is mailbox(INBOX).
func inbox(t testing.TB, s *servertest.Server, user string) []stored {
	t.Helper()
	return mailbox(t, s, user, store.InboxName)
}

// waitInbox polls user's INBOX until it holds n messages (mail that comes
// through a queue, Posthorn's or a peer's, arrives a little later) and
// fails after a generous deadline. It asserts no time, only arrival.
func waitInbox(t testing.TB, s *servertest.Server, user string, n int) []stored {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := inbox(t, s, user)
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%s's INBOX has %d messages, want %d", user, len(got), n)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fieldLine matches one line of a header section: a field or a folded
// continuation.
var fieldLine = regexp.MustCompile(`^([!-9;-~]+:|[ \t])`)

// checkArrived fails unless got is sent with only header fields (trace
// fields, added by the servers on the way) before it: the message arrived
// byte-exact. It returns those added fields.
func checkArrived(t testing.TB, got, sent string) string {
	t.Helper()
	trace, ok := strings.CutSuffix(got, sent)
	if !ok {
		t.Fatalf("the message did not arrive byte-exact\nsent:\n%q\ngot:\n%q", sent, got)
	}
	nl := "\r\n"
	if !strings.Contains(sent, "\r\n") {
		nl = "\n"
	}
	if trace != "" {
		if !strings.HasSuffix(trace, nl) {
			t.Fatalf("added text %q does not end a line", trace)
		}
		for _, line := range strings.Split(strings.TrimSuffix(trace, nl), nl) {
			if !fieldLine.MatchString(line) {
				t.Fatalf("added text is not header fields: line %q in\n%s", line, trace)
			}
		}
	}
	return trace
}

// lf turns CRLF line ends into LF, as tools that store mail in local
// files (Maildir, an MDA's input) do.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// testMessage returns a complete message (every field a relay could add
// is present, so no server has a reason to touch it) whose text exercises
// transparency: 8-bit UTF-8, a line that begins with a dot, an empty line,
// trailing white space.
func testMessage(from, to, subject string) string {
	return "From: Sender <" + from + ">\r\n" +
		"To: <" + to + ">\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n" +
		"Message-ID: <" + strings.NewReplacer(" ", ".", "@", ".").Replace(subject) + "@interop.test>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Grüße aus dem Interop-Test: " + subject + "\r\n" +
		".a line that begins with a dot\r\n" +
		"\r\n" +
		"trailing space \r\n" +
		"-- \r\n" +
		"the end\r\n"
}

// smtpSend sends one message with go-smtp's client, as the fixture of a
// case (not the interop under test): plain on the MX (loopback), or with
// STARTTLS and AUTH PLAIN as user when user is set.
func smtpSend(t testing.TB, addr, user, from string, to []string, msg string) {
	t.Helper()
	var c *smtp.Client
	var err error
	if user != "" {
		c, err = smtp.DialStartTLS(addr, clientTLS(t))
	} else {
		c, err = smtp.Dial(addr)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Hello("fixture.example.test"); err != nil {
		t.Fatal(err)
	}
	if user != "" {
		if err := c.Auth(plainAuth(user)); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
	}
	if err := c.SendMail(from, to, strings.NewReader(msg)); err != nil {
		t.Fatalf("send to %v: %v", to, err)
	}
	c.Quit()
}

// plainAuth is AUTH PLAIN as user with the fixture's password.
func plainAuth(user string) sasl.Client { return sasl.NewPlainClient("", user, password) }

// clientTLS trusts the suite's authority.
func clientTLS(t testing.TB) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(testPKI(t).CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// queueEmpty fails unless Posthorn's queue holds nothing (delivered
// entries are removed; refused mail never enters it).
func queueEmpty(t testing.TB, s *servertest.Server) {
	t.Helper()
	q, err := s.Store.QueueEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 0 {
		t.Fatalf("queue holds %d entries, want none: %+v", len(q), q)
	}
}

// waitQueueEmpty polls until the queue has delivered everything.
func waitQueueEmpty(t testing.TB, s *servertest.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		q, err := s.Store.QueueEntries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %d entries: %+v", len(q), q)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// posthornBinary builds cmd/posthorn from this tree once per test binary,
// with the race detector when the tests have it (the build then reuses
// their compiled packages).
func posthornBinary(t testing.TB) string {
	t.Helper()
	need(t, "go")
	dir := sharedDir(t)
	binOnce.Do(func() {
		binPath = filepath.Join(dir, "posthorn")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "posthorn/cmd/posthorn")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}
