package pop3d

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/mailbox"
)

// FuzzSession feeds arbitrary client input to a real session over a
// loopback socket, against a real store, and checks what must hold for any
// input: the server answers with well-formed lines, the session ends when
// the client stops sending, and without a QUIT nothing in the maildrop
// changes (RFC 1939 §6).
func FuzzSession(f *testing.F) {
	var tick atomic.Int64
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(f, func(c *envConfig) {
		// Every login check an hour after the last: failed logins never
		// throttle here (TestThrottledLogin covers that), so later inputs
		// can still log in.
		c.acct = account.Options{
			FailDelay: time.Nanosecond, Sleep: func(time.Duration) {},
			Now: func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Hour) },
		}
		c.pop = func(o *Options) { o.IdleTimeout = 5 * time.Second }
	})
	for _, seed := range []string{
		"USER alice@example.test\r\nPASS password\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nDELE 2\r\nNOOP\r\n",
		"USER alice@example.test\r\nPASS password\r\nDELE 1\r\nDELE 2\r\nQUIT\r\n",
		"CAPA\r\nAUTH PLAIN\r\nAGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==\r\nLIST 1\r\nUIDL 2\r\n",
		"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==\r\nTOP 1 0\r\nRETR 9\r\nLIST 0\r\n",
		"STLS\r\nUSER x\r\n",
		"USER alice@example.test\nPASS password\nRETR 1",
		"GET / HTTP/1.1\r\n\r\n",
		"AUTH\r\nAUTH PLAIN\r\n*\r\nAPOP a b\r\nQUIT\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		before := e.ensureMessages(t, 3)
		out := e.converse(t, in)
		checkResponses(t, in, out)
		if bytes.Contains(bytes.ToUpper(in), []byte("QUIT")) {
			return
		}
		after := e.inbox(t, "alice@example.test")
		if len(after) != len(before) {
			t.Fatalf("no QUIT, but %d messages became %d; input %q", len(before), len(after), in)
		}
		for i := range after {
			if after[i].UID != before[i].UID || after[i].Flags != before[i].Flags {
				t.Fatalf("no QUIT, but message %d changed; input %q", i+1, in)
			}
		}
	})
}

// ensureMessages keeps at least n messages in alice's INBOX (inputs with
// DELE and QUIT remove some) and returns them.
func (e *env) ensureMessages(t *testing.T, n int) []mailbox.Message {
	ms := e.inbox(t, "alice@example.test")
	for i := len(ms); i < n; i++ {
		e.appendRaw(t, "alice@example.test", testMessage(fmt.Sprintf("fuzz %d", i), ".dot", "body"))
	}
	if len(ms) < n {
		ms = e.inbox(t, "alice@example.test")
	}
	return ms
}

// converse sends in, half-closes, and reads everything the server says
// until it closes the connection (which it must: EOF ends the session).
// On return the session has ended and released its maildrop.
func (e *env) converse(t *testing.T, in []byte) []byte {
	c, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	go func() {
		c.Write(in)
		c.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the server's answers: %v; input %q", err, in)
	}
	e.waitUnlocked(t, "alice@example.test")
	e.waitUnlocked(t, "bob@example.test")
	return out
}

// checkResponses checks the form of the output: the greeting first, then
// nothing but CRLF-terminated lines without a bare CR or LF inside (RFC
// 1939 §3), message bodies included.
func checkResponses(t *testing.T, in, out []byte) {
	if !bytes.HasPrefix(out, []byte("+OK pop.example.test POP3 server ready\r\n")) {
		t.Fatalf("no greeting: %q", out)
	}
	if len(out) > 0 && !bytes.HasSuffix(out, crlf) {
		t.Fatalf("output ends mid-line: %q; input %q", out, in)
	}
	for _, l := range bytes.SplitAfter(out, crlf) {
		if len(l) == 0 {
			continue
		}
		if bytes.IndexByte(l[:len(l)-2], '\n') >= 0 || bytes.IndexByte(l[:len(l)-2], '\r') >= 0 {
			t.Fatalf("bare CR or LF in output line %q; input %q", l, in)
		}
	}
}
