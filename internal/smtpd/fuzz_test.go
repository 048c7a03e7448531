package smtpd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"posthorn/internal/store"
)

// FuzzSession drives the whole command loop (go-smtp's parser and state
// machine, our session, delivery, the store) with arbitrary bytes over a
// real loopback connection. The first byte picks the MX or the submission
// listener. It checks that the server never panics (a recovered panic is
// still a failure), never hangs (it must close the connection after the
// client's EOF), logs no server error, stores nothing without a 250 and
// stores nothing with a bare CR or LF.
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	errs := &errorRecorder{}
	e := newEnv(f, withHandler(errs), withSMTPD(func(o *Options) {
		o.CommandTimeout = 5 * time.Second
		o.DataTimeout = 5 * time.Second
		o.MaxConnectionsPerIP = 1000
	}))
	ctx := context.Background()
	alice, err := e.accts.User(ctx, "alice@example.test")
	if err != nil {
		f.Fatal(err)
	}
	inbox, err := e.st.MailboxByName(ctx, alice.ID, store.InboxName)
	if err != nil {
		f.Fatal(err)
	}
	var mu sync.Mutex // inputs run one after another; the counts are shared
	f.Fuzz(func(t *testing.T, in []byte) {
		mu.Lock()
		defer mu.Unlock()
		if len(in) == 0 {
			return
		}
		addr := e.mx
		if in[0]&1 == 1 {
			addr = e.sub
		}
		before := fuzzCounts(t, e.st, inbox.ID)
		out := fuzzExchange(t, addr, in[1:])
		if msgs := errs.take(); len(msgs) > 0 {
			t.Fatalf("server logged errors: %v\ninput %q\noutput %q", msgs, in, out)
		}
		after := fuzzCounts(t, e.st, inbox.ID)
		accepted := bytes.Count(out, []byte("250 2.0.0 OK, queued as "))
		rows := after.rows() - before.rows()
		if (accepted == 0 && rows != 0) || rows < accepted {
			t.Fatalf("%d messages accepted, %d rows stored\ninput %q\noutput %q", accepted, rows, in, out)
		}
		checkNewMessages(t, e, inbox.ID, before.uidNext)
	})
}

// fuzzExchange sends in, closes the sending side and reads until the
// server closes. A server that does not close within a minute hangs.
func fuzzExchange(t *testing.T, addr string, in []byte) []byte {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	go func() {
		c.Write(in) // the server may close early; that is its right
		c.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("server hangs\ninput %q\noutput %q", in, out)
	}
	return out
}

type fuzzCount struct {
	messages int
	queued   int
	uidNext  store.UID
}

func (c fuzzCount) rows() int { return c.messages + c.queued }

func fuzzCounts(t *testing.T, st store.Store, inbox store.MailboxID) fuzzCount {
	ctx := context.Background()
	mb, err := st.Mailbox(ctx, inbox)
	if err != nil {
		t.Fatal(err)
	}
	q, err := st.QueueEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return fuzzCount{messages: mb.Total, queued: len(q), uidNext: mb.UIDNext}
}

// checkNewMessages fails if a message delivered by this input has a line
// ending other than CRLF.
func checkNewMessages(t *testing.T, e *env, inbox store.MailboxID, from store.UID) {
	ctx := context.Background()
	msgs, err := e.st.Messages(ctx, inbox, store.UIDSet{{First: from, Last: ^store.UID(0)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		c, err := e.mboxes.Open(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(b, []byte("\r")) != bytes.Count(b, []byte("\r\n")) || bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) {
			t.Fatalf("stored a bare CR or LF: %q", b)
		}
	}
}

// errorRecorder is a slog handler that keeps the messages of Error
// records (and drops everything else).
type errorRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *errorRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (r *errorRecorder) WithAttrs([]slog.Attr) slog.Handler           { return r }
func (r *errorRecorder) WithGroup(string) slog.Handler                { return r }
func (r *errorRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, b.String())
	r.mu.Unlock()
	return nil
}

func (r *errorRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs
	r.msgs = nil
	return m
}

func withHandler(h slog.Handler) envOption { return func(c *envConfig) { c.handler = h } }

// fuzzSeeds are sessions that reach every state: the first byte selects
// the listener ("\x00" MX, "\x01" submission).
var fuzzSeeds = []string{
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	"\x00HELO a\r\nMAIL FROM:<>\r\nRCPT TO:<alice+t@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n..dot\r\n.\r\n",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test> BODY=8BITMIME SIZE=100\r\nRCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.test\r\nBDAT 12\r\nSubject: x\r\n\r\nBDAT 4 LAST\r\nab\r\n",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\n.\nMAIL FROM:<y@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\ny\r\n.\r\n",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\rMAIL FROM:<y@remote.test>\r\n.\r\n",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n\x00.\r\n.\r\n",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<victim%remote.test@example.test>\r\nRCPT TO:<@a:v@remote.test>\r\nRCPT TO:<\"v@remote.test\"@example.test>\r\nRSET\r\nNOOP\r\nVRFY x\r\n",
	"\x00EHLO a\r\nSTARTTLS\r\nEHLO b\r\n",
	"\x00GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"\x00EHLO a\r\nMAIL FROM:<" + strings.Repeat("a", 1200) + ">\r\n",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test> SMTPUTF8\r\nRCPT TO:<Postmaster>\r\nDATA\r\nSubject: ü\r\n\r\nü\r\n.\r\n",
	"\x01EHLO a\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<carol@remote.test>\r\nDATA\r\nSubject: sub\r\n\r\nhi\r\n.\r\n",
	"\x01EHLO a\r\nAUTH LOGIN\r\nYWxpY2VAZXhhbXBsZS50ZXN0\r\nd3Jvbmc=\r\nMAIL FROM:<alice@example.test>\r\n",
	"\x01EHLO a\r\nAUTH PLAIN\r\n=\r\nAUTH PLAIN !!\r\nAUTH X\r\n",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 4000000000 LAST\r\nxyz",
	"\x00EHLO a\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: unfinished",
}
