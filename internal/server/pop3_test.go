package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"posthorn/internal/servertest"
)

// pop3Client is the least POP3 client: one command, one status line.
type pop3Client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialPOP3(t *testing.T, s *servertest.Server, name string) *pop3Client {
	t.Helper()
	var c net.Conn
	var err error
	if name == "pop3s" {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr(name), &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.DialTimeout("tcp", s.Addr(name), 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	p := &pop3Client{t: t, c: c, r: bufio.NewReader(c)}
	if g := p.line(); !strings.HasPrefix(g, "+OK ") {
		t.Fatalf("%s greeting %q", name, g)
	}
	return p
}

func (p *pop3Client) line() string {
	p.t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("pop3 read: %v", err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (p *pop3Client) cmd(line string) string {
	p.t.Helper()
	fmt.Fprintf(p.c, "%s\r\n", line)
	return p.line()
}

func (p *pop3Client) ok(line string) string {
	p.t.Helper()
	r := p.cmd(line)
	if !strings.HasPrefix(r, "+OK") {
		p.t.Fatalf("%s: %q", line, r)
	}
	return r
}

// body reads a multi-line response body, un-stuffed.
func (p *pop3Client) body() string {
	p.t.Helper()
	var b strings.Builder
	for {
		l := p.line()
		if l == "." {
			return b.String()
		}
		b.WriteString(strings.TrimPrefix(l, ".") + "\r\n")
	}
}

// sendMail delivers a message to the MX listener over SMTP.
func sendMail(t *testing.T, s *servertest.Server, to, subject string) {
	t.Helper()
	c, err := smtp.Dial(s.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("sender@remote.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "From: sender@remote.test\r\nTo: %s\r\nSubject: %s\r\n\r\nHello.\r\n.leading dot\r\n", to, subject)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

// TestPOP3Listeners: mail that came in over SMTP comes out of both POP3
// listeners, and the two share the maildrop lock.
func TestPOP3Listeners(t *testing.T) {
	s := servertest.Start(t)
	sendMail(t, s, "alice@example.test", "over smtp")
	p := dialPOP3(t, s, "pop3")
	p.ok("USER alice@example.test")
	p.ok("PASS " + servertest.Password)
	var n, size int
	fmt.Sscanf(p.ok("LIST 1"), "+OK %d %d", &n, &size)
	p.ok("RETR 1")
	msg := p.body()
	if len(msg) != size || !strings.Contains(msg, "Subject: over smtp\r\n") || !strings.Contains(msg, "\r\n.leading dot\r\n") {
		t.Fatalf("RETR 1 (%d octets, LIST said %d):\n%s", len(msg), size, msg)
	}
	ps := dialPOP3(t, s, "pop3s")
	ps.ok("USER alice@example.test")
	if r := ps.cmd("PASS " + servertest.Password); !strings.HasPrefix(r, "-ERR [IN-USE]") {
		t.Fatalf("pop3s while pop3 holds the maildrop: %q", r)
	}
	p.ok("QUIT")
	ps.ok("USER bob@example.test")
	ps.ok("PASS " + servertest.Password)
	ps.ok("QUIT")
}

// TestPOP3AndIMAPSideBySide: an IMAP session has INBOX selected while a
// POP3 session deletes; the IMAP session is told with EXPUNGE, and sees
// \Seen on what POP3 retrieved.
func TestPOP3AndIMAPSideBySide(t *testing.T) {
	s := servertest.Start(t)
	for i := range 3 {
		sendMail(t, s, "alice@example.test", fmt.Sprintf("side %d", i+1))
	}
	var mu sync.Mutex
	var expunged []uint32
	woke := make(chan struct{}, 10)
	ic, err := imapclient.DialStartTLS(s.Addr("imap"), &imapclient.Options{
		TLSConfig: &tls.Config{InsecureSkipVerify: true},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) {
			mu.Lock()
			expunged = append(expunged, seq)
			mu.Unlock()
			woke <- struct{}{}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("alice@example.test", servertest.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if sel, err := ic.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 3 {
		t.Fatalf("SELECT: %v, %+v", err, sel)
	}

	p := dialPOP3(t, s, "pop3")
	p.ok("USER alice@example.test")
	p.ok("PASS " + servertest.Password)
	p.ok("DELE 1")
	p.ok("DELE 3")
	p.ok("RETR 2")
	p.body()
	// Before QUIT the IMAP session sees all three.
	if err := ic.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(expunged) != 0 {
		t.Fatalf("EXPUNGE before the POP3 QUIT: %v", expunged)
	}
	mu.Unlock()
	if r := p.ok("QUIT"); !strings.Contains(r, "2 messages deleted") {
		t.Fatalf("QUIT = %q", r)
	}

	// The change reaches the IMAP session at its next command.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := ic.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(expunged)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		select {
		case <-woke:
		case <-time.After(50 * time.Millisecond):
		}
	}
	mu.Lock()
	got := slices.Clone(expunged)
	mu.Unlock()
	// Sequence numbers as the client applies them one by one: 3 then 1,
	// or 1 then 2 (the old 3 moved up).
	if !slices.Equal(got, []uint32{3, 1}) && !slices.Equal(got, []uint32{1, 2}) {
		t.Fatalf("EXPUNGE for %v", got)
	}
	msgs, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH 1: %v, %d messages", err, len(msgs))
	}
	if msgs[0].Envelope.Subject != "side 2" || !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Fatalf("left: %q with %v, want \"side 2\" with \\Seen", msgs[0].Envelope.Subject, msgs[0].Flags)
	}
}
