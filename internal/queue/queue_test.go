package queue

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"posthorn/internal/queue/smtpsink"
	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
)

// fakeClock is set by the test; After never fires (tests call RunOnce).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *fakeClock) After(time.Duration) <-chan time.Time {
	return make(chan time.Time)
}

// fakeResolver is a DNS zone in a map. Every address it gives is loopback.
type fakeResolver struct {
	mx  map[string][]*net.MX
	ips map[string][]string
	// fail makes lookups of these names fail temporarily.
	fail map[string]bool
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if r.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, notFound(name)
}

func (r *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := r.ips[host]
	if !ok {
		return nil, notFound(host)
	}
	var out []net.IPAddr
	for _, ip := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
	}
	return out, nil
}

// bounces records the DSNs the queue sends.
type bounces struct {
	mu   sync.Mutex
	msgs []bounce
}

type bounce struct {
	to  string
	dsn string
}

func (b *bounces) Bounce(_ context.Context, to string, dsn []byte) error {
	b.mu.Lock()
	b.msgs = append(b.msgs, bounce{to, string(dsn)})
	b.mu.Unlock()
	return nil
}

func (b *bounces) list() []bounce {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bounce(nil), b.msgs...)
}

type harness struct {
	t       *testing.T
	st      store.Store
	q       *Queue
	clock   *fakeClock
	res     *fakeResolver
	bounces *bounces
	sink    *smtpsink.Sink
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// newHarness makes a store, a sink for remote.test (MX on 127.0.0.1), a
// fake clock and a queue.
func newHarness(t *testing.T, sinkOpts smtpsink.Options, mod func(*Options)) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sink, err := smtpsink.Start(sinkOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	_, port, _ := net.SplitHostPort(sink.Addr())
	h := &harness{t: t, st: st, clock: &fakeClock{now: t0}, bounces: &bounces{}, sink: sink}
	h.res = &fakeResolver{
		mx:  map[string][]*net.MX{"remote.test": {{Host: "mx.remote.test.", Pref: 10}}},
		ips: map[string][]string{"mx.remote.test": {"127.0.0.1"}},
	}
	o := Options{Store: st, Bouncer: h.bounces, Resolver: h.res, Hostname: "mx.example.test", Port: atoi(port),
		Clock: h.clock, Logger: slog.New(slog.DiscardHandler), Owner: "test-node"}
	if mod != nil {
		mod(&o)
	}
	h.q = New(o)
	return h
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

const body = "From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: hello\r\n\r\nHi Bob.\r\n"

// enqueue puts a message for rcpts (all at one domain) into the queue.
func (h *harness) enqueue(from, content string, rcpts ...string) store.QueueID {
	h.t.Helper()
	ctx := context.Background()
	w, err := h.st.NewBlob(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	io.WriteString(w, content)
	blob, _, err := w.Finish()
	if err != nil {
		h.t.Fatal(err)
	}
	_, domain, _ := strings.Cut(rcpts[0], "@")
	e := store.QueueEntry{Domain: domain, From: from, BlobID: blob, CreatedAt: h.clock.Now(), NextAttempt: h.clock.Now()}
	for _, r := range rcpts {
		e.Recipients = append(e.Recipients, store.QueueRecipient{Address: r, Status: store.RcptPending})
	}
	res, err := h.st.Append(ctx, store.Batch{Queue: []store.QueueEntry{e}})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.Queue[0]
}

func (h *harness) entries() []store.QueueEntry {
	h.t.Helper()
	es, err := h.st.QueueEntries(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

func (h *harness) run() { h.q.RunOnce(context.Background()) }

func TestDeliverOverMX(t *testing.T) {
	h := newHarness(t, smtpsink.Options{}, nil)
	h.enqueue("alice@example.test", body, "bob@remote.test")
	h.run()
	msgs := h.sink.Messages()
	if len(msgs) != 1 || string(msgs[0].Data) != body || msgs[0].From != "alice@example.test" || msgs[0].Rcpts[0] != "bob@remote.test" {
		t.Fatalf("sink got %+v", msgs)
	}
	if len(h.entries()) != 0 {
		t.Fatalf("delivered entry still queued: %+v", h.entries())
	}
	if len(h.bounces.list()) != 0 {
		t.Fatal("a DSN for a delivered message")
	}
}

func TestConnectionReuse(t *testing.T) {
	h := newHarness(t, smtpsink.Options{}, nil)
	for i := 0; i < 5; i++ {
		h.enqueue("alice@example.test", body, "bob@remote.test")
	}
	h.run()
	if n := len(h.sink.Messages()); n != 5 {
		t.Fatalf("sink got %d messages", n)
	}
	if c := h.sink.Connections(); c != 1 {
		t.Fatalf("5 messages for one domain used %d connections", c)
	}
	// RFC 5321 §4.1.1.4: after a completed transaction no RSET is needed.
	if r := h.sink.Resets(); r != 0 {
		t.Fatalf("%d RSETs between completed transactions", r)
	}
}

func TestMaxPerConnection(t *testing.T) {
	h := newHarness(t, smtpsink.Options{}, func(o *Options) { o.MaxPerConnection = 2; o.PerDestination = 1 })
	for i := 0; i < 5; i++ {
		h.enqueue("alice@example.test", body, "bob@remote.test")
	}
	for i := 0; i < 5 && len(h.entries()) > 0; i++ {
		h.run()
	}
	if n, c := len(h.sink.Messages()), h.sink.Connections(); n != 5 || c != 3 {
		t.Fatalf("%d messages over %d connections, want 5 over 3", n, c)
	}
}

func TestOnlyTheDeferredRecipientIsRetried(t *testing.T) {
	var mu sync.Mutex
	later := true
	h := newHarness(t, smtpsink.Options{RcptReply: func(a string) string {
		mu.Lock()
		defer mu.Unlock()
		if a == "carol@remote.test" && later {
			return "451 4.2.1 mailbox busy"
		}
		return ""
	}}, nil)
	h.enqueue("alice@example.test", body, "bob@remote.test", "carol@remote.test")
	h.run()
	es := h.entries()
	if len(es) != 1 || es[0].Recipients[0].Status != store.RcptDelivered || es[0].Recipients[1].Status != store.RcptPending {
		t.Fatalf("after first attempt: %+v", es)
	}
	if !es[0].NextAttempt.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("next attempt %v, want +5m", es[0].NextAttempt)
	}
	if !strings.Contains(es[0].Recipients[1].LastReply, "451 4.2.1") {
		t.Fatalf("last reply %q", es[0].Recipients[1].LastReply)
	}
	mu.Lock()
	later = false
	mu.Unlock()
	h.clock.set(t0.Add(5 * time.Minute))
	h.run()
	msgs := h.sink.Messages()
	if len(msgs) != 2 || len(msgs[1].Rcpts) != 1 || msgs[1].Rcpts[0] != "carol@remote.test" {
		t.Fatalf("retry sent %+v", msgs)
	}
	if len(h.entries()) != 0 {
		t.Fatal("entry left after everyone got it")
	}
}
