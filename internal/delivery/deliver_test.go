package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/message"
	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
)

var now = time.Date(2024, 3, 9, 17, 4, 5, 0, time.UTC)

// countWaker counts Wake calls.
type countWaker struct{ n atomic.Int32 }

func (w *countWaker) Wake() { w.n.Add(1) }

type fixture struct {
	t     *testing.T
	dir   string
	st    store.Store
	accts *account.Service
	svc   *Service
	waker *countWaker
}

// newFixture opens a real SQLite store with example.test (alice, bob),
// sales@ -> alice, bob and fwd@ -> carol@remote.test.
func newFixture(t *testing.T, opts ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), waker: &countWaker{}}
	f.open()
	ctx := context.Background()
	if _, err := f.accts.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.test", "bob@example.test"} {
		if _, err := f.accts.AddUser(ctx, u, "password"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.accts.AddAlias(ctx, "sales@example.test", []string{"alice@example.test", "bob@example.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accts.AddAlias(ctx, "fwd@example.test", []string{"carol@remote.test"}); err != nil {
		t.Fatal(err)
	}
	o := Options{Store: f.st, Accounts: f.accts, Hostname: "mx.example.test", MaxMessageSize: 4096, MaxRecipients: 4,
		Queue: f.waker, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	for _, fn := range opts {
		fn(&o)
	}
	f.svc = New(o)
	return f
}

func (f *fixture) open() {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: f.dir})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { st.Close() })
	f.st = st
	f.accts = account.New(account.Options{Store: st, Logger: slog.New(slog.DiscardHandler), FailDelay: time.Nanosecond})
}

// env builds an envelope, resolving each recipient as smtpd would.
func (f *fixture) env(from string, auth bool, rcpts ...string) Envelope {
	f.t.Helper()
	e := Envelope{From: from, Trace: message.ReceivedInfo{Helo: "client.test", RemoteIP: netip.MustParseAddr("192.0.2.7"), ESMTP: true}}
	if auth {
		a, err := f.accts.User(context.Background(), "alice@example.test")
		if err != nil {
			f.t.Fatal(err)
		}
		e.Auth, e.Submission = &a, true
	}
	for _, r := range rcpts {
		targets, err := f.svc.Recipient(context.Background(), r, auth)
		if err != nil {
			f.t.Fatalf("Recipient(%s): %v", r, err)
		}
		e.Recipients = append(e.Recipients, Recipient{Address: r, Targets: targets})
	}
	return e
}

// inbox returns prefix+body of each message in a user's INBOX.
func (f *fixture) inbox(user string) []store.Message {
	f.t.Helper()
	ctx := context.Background()
	a, err := f.accts.User(ctx, user)
	if err != nil {
		f.t.Fatal(err)
	}
	mb, err := f.st.MailboxByName(ctx, a.ID, store.InboxName)
	if err != nil {
		f.t.Fatal(err)
	}
	msgs, err := f.st.Messages(ctx, mb.ID, store.AllUIDs)
	if err != nil {
		f.t.Fatal(err)
	}
	return msgs
}

func (f *fixture) content(m store.Message) string {
	f.t.Helper()
	b, err := f.st.OpenBlob(context.Background(), m.BlobID)
	if err != nil {
		f.t.Fatal(err)
	}
	defer b.Close()
	body, err := io.ReadAll(b)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(m.Prefix) + string(body)
}

func (f *fixture) queue() []store.QueueEntry {
	q, err := f.st.QueueEntries(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return q
}

func (f *fixture) nothingStored() {
	f.t.Helper()
	if a, b, q := len(f.inbox("alice@example.test")), len(f.inbox("bob@example.test")), len(f.queue()); a+b+q != 0 {
		f.t.Fatalf("stored: alice %d, bob %d, queue %d", a, b, q)
	}
}

const msg = "From: x@remote.test\r\nSubject: test\r\n\r\nHello.\r\n"

func TestDeliverLocalAndRemoteInOneTransaction(t *testing.T) {
	f := newFixture(t)
	env := f.env("alice@example.test", true, "bob@example.test", "sales@example.test", "fwd@example.test", "dave@remote.test")
	res, err := f.svc.Deliver(context.Background(), env, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if res.Local != 2 || res.Queued != 2 || res.Size != int64(len(msg)) || res.ID == "" {
		t.Fatalf("result %+v", res)
	}
	alice, bob, q := f.inbox("alice@example.test"), f.inbox("bob@example.test"), f.queue()
	if len(alice) != 1 || len(bob) != 1 || len(q) != 1 || len(q[0].Recipients) != 2 {
		t.Fatalf("alice %d, bob %d, queue %+v", len(alice), len(bob), q)
	}
	if alice[0].BlobID != bob[0].BlobID || q[0].BlobID != bob[0].BlobID {
		t.Fatal("more than one body stored")
	}
	if f.waker.n.Load() != 1 {
		t.Fatalf("queue woken %d times", f.waker.n.Load())
	}
	if q[0].From != "alice@example.test" || q[0].AccountID != env.Auth.ID || !q[0].NextAttempt.Equal(now) {
		t.Fatalf("queue entry %+v", q[0])
	}
	c := f.content(bob[0])
	if !strings.HasPrefix(c, "Return-Path: <alice@example.test>\r\nReceived: from client.test (unknown [192.0.2.7])") ||
		!strings.Contains(c, "with ESMTPA id "+res.ID) || !strings.HasSuffix(c, msg) {
		t.Fatalf("stored:\n%s", c)
	}
	if bob[0].Index.Subject != "test" || !bob[0].InternalDate.Equal(now) {
		t.Fatalf("index %+v, date %v", bob[0].Index, bob[0].InternalDate)
	}
}

func TestDeliverIsDurable(t *testing.T) {
	// What Deliver reported is there after the store is closed and opened
	// again.
	f := newFixture(t)
	if _, err := f.svc.Deliver(context.Background(), f.env("x@remote.test", false, "alice@example.test"), strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.open()
	got := f.inbox("alice@example.test")
	if len(got) != 1 || !strings.HasSuffix(f.content(got[0]), msg) {
		t.Fatalf("after reopening: %d messages", len(got))
	}
}

func TestDeliverRefusals(t *testing.T) {
	received := strings.Repeat("Received: from a by b; Sat, 09 Mar 2024 17:04:05 +0000\r\n", 51)
	tests := []struct {
		name string
		data io.Reader
		want error
	}{
		{"bare LF", strings.NewReader("Subject: a\r\n\r\nb\nc\r\n"), ErrBareLineEnding},
		{"bare CR at the end", strings.NewReader("Subject: a\r\n\r\nb\r"), ErrBareLineEnding},
		{"NUL", strings.NewReader("Subject: a\r\n\r\n\x00\r\n"), ErrNUL},
		{"too big", strings.NewReader("Subject: a\r\n\r\n" + strings.Repeat("x", 5000) + "\r\n"), ErrTooBig},
		{"too big in the header", strings.NewReader("Subject: " + strings.Repeat("x", 5000)), ErrTooBig},
		{"loop", strings.NewReader(received + msg), ErrLoop},
		{"read error", iotest.ErrReader(io.ErrUnexpectedEOF), io.ErrUnexpectedEOF},
		{"read error after the header", io.MultiReader(strings.NewReader(msg), iotest.ErrReader(io.ErrUnexpectedEOF)), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.MaxMessageSize = 4096 + 64 })
			if tt.name == "loop" {
				f.svc.maxSize = 1 << 20
			}
			env := f.env("x@remote.test", false, "alice@example.test", "bob@example.test")
			_, err := f.svc.Deliver(context.Background(), env, tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			f.nothingStored()
		})
	}
}

func TestDeliverSizeCountsClientOctetsOnly(t *testing.T) {
	f := newFixture(t)
	exact := "Subject: a\r\n\r\n" + strings.Repeat("x", 4096-len("Subject: a\r\n\r\n")-2) + "\r\n"
	res, err := f.svc.Deliver(context.Background(), f.env("x@remote.test", false, "alice@example.test"), iotest.OneByteReader(strings.NewReader(exact)))
	if err != nil || res.Size != 4096 {
		t.Fatalf("exactly the limit: %+v %v", res, err)
	}
}

func TestDeliverLongHeaderStreamsUnexamined(t *testing.T) {
	// A header longer than headerMax is not held in memory: it is streamed,
	// and the message arrives whole.
	f := newFixture(t, func(o *Options) { o.MaxMessageSize = 1 << 20 })
	var b strings.Builder
	for b.Len() <= headerMax {
		b.WriteString("X-Filler: " + strings.Repeat("f", 60) + "\r\n")
	}
	big := b.String() + "Subject: late\r\n\r\nbody\r\n"
	if _, err := f.svc.Deliver(context.Background(), f.env("x@remote.test", false, "bob@example.test"), strings.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	got := f.inbox("bob@example.test")
	if len(got) != 1 || !strings.HasSuffix(f.content(got[0]), big) {
		t.Fatal("long header not stored whole")
	}
}

func TestDeliverSubmissionFixups(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Deliver(context.Background(), f.env("alice@example.test", true, "bob@example.test"), strings.NewReader("Subject: bare\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := f.content(f.inbox("bob@example.test")[0])
	h, _ := message.ParseHeader([]byte(c))
	if h.Get("Date") != message.FormatDate(now) || !strings.HasSuffix(h.Get("Message-ID"), "@mx.example.test>") {
		t.Fatalf("fix-ups:\n%s", c)
	}
	// A header without a body (no empty line at all) is fixed up too.
	_, err = f.svc.Deliver(context.Background(), f.env("alice@example.test", true, "bob@example.test"), strings.NewReader("Subject: only\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	c = f.content(f.inbox("bob@example.test")[1])
	if !strings.Contains(c, "\r\nDate: ") || !strings.HasSuffix(c, "\r\nSubject: only\r\n") {
		t.Fatalf("header only:\n%s", c)
	}
}

func TestDeliverRecipientLimits(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.Deliver(context.Background(), Envelope{From: "x@remote.test"}, strings.NewReader(msg)); !errors.Is(err, ErrNoRecipients) {
		t.Fatalf("no recipients: %v", err)
	}
	env := f.env("x@remote.test", false, "alice@example.test", "alice+1@example.test", "alice+2@example.test", "alice+3@example.test", "alice+4@example.test")
	if _, err := f.svc.Deliver(context.Background(), env, strings.NewReader(msg)); !errors.Is(err, ErrTooManyRecipients) {
		t.Fatalf("five recipients: %v", err)
	}
	f.nothingStored()
}

func TestDeliverAccountGoneMeanwhile(t *testing.T) {
	// RCPT resolved bob; bob is deleted before the message is committed.
	// The delivery fails as a whole (a temporary error for the client).
	f := newFixture(t)
	if _, err := f.svc.Deliver(context.Background(), f.env("x@remote.test", false, "bob@example.test"), strings.NewReader(msg)); err != nil {
		t.Fatal(err) // caches bob's INBOX
	}
	env := f.env("x@remote.test", false, "alice@example.test", "bob@example.test")
	if err := f.accts.DeleteUser(context.Background(), "bob@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Deliver(context.Background(), env, strings.NewReader(msg)); err == nil {
		t.Fatal("delivered to a deleted account")
	}
	if n := len(f.inbox("alice@example.test")); n != 0 {
		t.Fatalf("alice got %d: not all-or-nothing", n)
	}
}

func TestRecipientPolicy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		addr string
		auth bool
		want error
		to   string // the first target's address
	}{
		{"alice@example.test", false, nil, "alice@example.test"},
		{"ALICE+x@Example.Test", false, nil, "alice@example.test"},
		{"postmaster", false, nil, "alice@example.test"},
		{"PostMaster", false, nil, "alice@example.test"},
		{"fwd@example.test", false, nil, "carol@remote.test"},
		{"dave@remote.test", false, ErrRelayDenied, ""},
		{"dave@remote.test", true, nil, "dave@remote.test"},
		{"nobody@example.test", false, account.ErrNoSuchUser, ""},
		{"dave%remote.test@example.test", false, account.ErrInvalidAddress, ""},
		{"dave%remote.test@example.test", true, account.ErrInvalidAddress, ""},
		{"remote.test!dave@example.test", false, account.ErrInvalidAddress, ""},
		{"dave@remote.test@example.test", true, account.ErrInvalidAddress, ""},
		{"dave@remote.test@example.test", false, ErrRelayDenied, ""},
		{"nodomain", false, account.ErrInvalidAddress, ""},
		{"x@", false, account.ErrInvalidAddress, ""},
	}
	for _, tt := range tests {
		got, err := f.svc.Recipient(ctx, tt.addr, tt.auth)
		if !errors.Is(err, tt.want) {
			t.Errorf("Recipient(%q, auth %v): %v, want %v", tt.addr, tt.auth, err, tt.want)
			continue
		}
		if tt.want == nil && (len(got) == 0 || got[0].Address != tt.to) {
			t.Errorf("Recipient(%q): %+v, want %s", tt.addr, got, tt.to)
		}
	}
}

func TestSenderPolicy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _ := f.accts.User(ctx, "alice@example.test")
	for from, want := range map[string]error{
		"alice@example.test":     nil,
		"alice+tag@example.test": nil,
		"sales@example.test":     nil,
		"bob@example.test":       ErrSenderNotAllowed,
		"fwd@example.test":       ErrSenderNotAllowed,
		"alice@remote.test":      ErrSenderNotAllowed,
		"":                       ErrSenderNotAllowed,
	} {
		if err := f.svc.Sender(ctx, a, from); !errors.Is(err, want) {
			t.Errorf("Sender(%q): %v, want %v", from, err, want)
		}
	}
}
