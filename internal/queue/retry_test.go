package queue

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"posthorn/internal/message"
	"posthorn/internal/queue/smtpsink"
	"posthorn/internal/store"
)

// TestFiveDaysOfRetries runs the whole life of an undeliverable message on
// the fake clock: the retry schedule, one delay notice after 4 hours, and
// the bounce when the lifetime ends.
func TestFiveDaysOfRetries(t *testing.T) {
	h := newHarness(t, smtpsink.Options{RcptReply: func(string) string { return "451 4.3.0 try again later" }}, nil)
	h.enqueue("alice@example.test", body, "bob@remote.test")
	var waits []time.Duration
	last := t0
	for i := 0; i < 1000; i++ {
		h.run()
		es := h.entries()
		if len(es) == 0 {
			break
		}
		waits = append(waits, es[0].NextAttempt.Sub(last))
		last = es[0].NextAttempt
		h.clock.set(last)
	}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		if waits[i] != w {
			t.Fatalf("wait %d = %v, want %v (all: %v)", i, waits[i], w, waits[:6])
		}
	}
	if d := last.Sub(t0); d < 120*time.Hour || d > 121*time.Hour {
		t.Fatalf("gave up after %v, want the 120h lifetime", d)
	}
	bs := h.bounces.list()
	if len(bs) != 2 {
		t.Fatalf("%d DSNs, want a delay notice and a failure", len(bs))
	}
	if !strings.Contains(bs[0].dsn, "Action: delayed") || !strings.Contains(bs[0].dsn, "Will-Retry-Until:") {
		t.Fatalf("first DSN is not a delay notice:\n%s", bs[0].dsn)
	}
	f := bs[1].dsn
	if bs[1].to != "alice@example.test" || !strings.Contains(f, "Action: failed") || !strings.Contains(f, "Status: 4.3.0") ||
		!strings.Contains(f, "Final-Recipient: rfc822; bob@remote.test") || !strings.Contains(f, "try again later") ||
		!strings.Contains(f, "report-type=delivery-status") || !strings.Contains(f, "Subject: hello") {
		t.Fatalf("failure DSN:\n%s", f)
	}
	// 29 attempts in the first ~14h, then every 30 minutes for 5 days.
	if n := len(h.sink.Messages()); n != 0 {
		t.Fatalf("sink stored %d messages", n)
	}
}

// TestResetAfterRefusedTransaction: when every recipient of a message is
// refused, the transaction stays open, so RSET comes before the next one.
func TestResetAfterRefusedTransaction(t *testing.T) {
	h := newHarness(t, smtpsink.Options{RcptReply: func(a string) string {
		if a == "nobody@remote.test" {
			return "550 5.1.1 no such user"
		}
		return ""
	}}, nil)
	h.enqueue("alice@example.test", body, "nobody@remote.test")
	h.enqueue("alice@example.test", body, "bob@remote.test")
	h.run()
	if h.sink.Connections() != 1 || h.sink.Resets() != 1 || len(h.sink.Messages()) != 1 {
		t.Fatalf("connections %d, RSETs %d, messages %d", h.sink.Connections(), h.sink.Resets(), len(h.sink.Messages()))
	}
}

func TestPermanentFailureBounces(t *testing.T) {
	h := newHarness(t, smtpsink.Options{RcptReply: func(a string) string {
		if a == "nobody@remote.test" {
			return "550 5.1.1 no such user"
		}
		return ""
	}}, nil)
	h.enqueue("alice@example.test", body, "bob@remote.test", "nobody@remote.test")
	h.run()
	if len(h.entries()) != 0 {
		t.Fatal("entry kept after all recipients were final")
	}
	bs := h.bounces.list()
	if len(bs) != 1 || !strings.Contains(bs[0].dsn, "Final-Recipient: rfc822; nobody@remote.test") ||
		strings.Contains(bs[0].dsn, "Final-Recipient: rfc822; bob@remote.test") ||
		!strings.Contains(bs[0].dsn, "Diagnostic-Code: smtp; 550 5.1.1 no such user") {
		t.Fatalf("DSNs: %+v", bs)
	}
	meta, err := message.Analyze(bytes.NewReader([]byte(bs[0].dsn)))
	if err != nil || meta.Structure == nil {
		t.Fatalf("DSN does not parse: %v", err)
	}
}

func TestNoBounceForNullSender(t *testing.T) {
	h := newHarness(t, smtpsink.Options{RcptReply: func(string) string { return "550 5.1.1 no" }}, nil)
	h.enqueue("", body, "bob@remote.test")
	h.run()
	if len(h.entries()) != 0 || len(h.bounces.list()) != 0 {
		t.Fatalf("null sender: entries %d, DSNs %d", len(h.entries()), len(h.bounces.list()))
	}
}

func TestRouting(t *testing.T) {
	h := newHarness(t, smtpsink.Options{}, nil)
	_, port, _ := net.SplitHostPort(h.sink.Addr())
	h.res.mx["nullmx.test"] = []*net.MX{{Host: ".", Pref: 0}}
	// Two MX hosts: the preferred one does not answer (nothing listens on
	// ::1 at that port), so the second gets the mail.
	h.res.mx["twomx.test"] = []*net.MX{{Host: "mx1.twomx.test.", Pref: 10}, {Host: "mx2.twomx.test.", Pref: 20}}
	h.res.ips["mx1.twomx.test"] = []string{"::1"}
	h.res.ips["mx2.twomx.test"] = []string{"::1", "127.0.0.1"}
	// No MX: the domain's own address (implicit MX).
	h.res.ips["nomx.test"] = []string{"127.0.0.1"}
	h.enqueue("alice@example.test", body, "x@nullmx.test")
	h.enqueue("alice@example.test", body, "x@nxdomain.test")
	h.enqueue("alice@example.test", body, "x@twomx.test")
	h.enqueue("alice@example.test", body, "x@nomx.test")
	h.run()
	got := map[string]bool{}
	for _, m := range h.sink.Messages() {
		got[m.Rcpts[0]] = true
	}
	if !got["x@twomx.test"] || !got["x@nomx.test"] || len(got) != 2 {
		t.Fatalf("delivered to %v", got)
	}
	dsns := ""
	for _, b := range h.bounces.list() {
		dsns += b.dsn
	}
	if !strings.Contains(dsns, "Status: 5.1.10") || !strings.Contains(dsns, "Status: 5.1.2") {
		t.Fatalf("Null MX and NXDOMAIN did not fail permanently:\n%s", dsns)
	}
	if len(h.entries()) != 0 {
		t.Fatalf("entries left: %+v", h.entries())
	}
	_ = port
}

func TestTemporaryDNSFailureDefers(t *testing.T) {
	h := newHarness(t, smtpsink.Options{}, nil)
	h.res.fail = map[string]bool{"flaky.test": true}
	h.enqueue("alice@example.test", body, "x@flaky.test")
	h.run()
	es := h.entries()
	if len(es) != 1 || es[0].Recipients[0].Status != store.RcptPending || !strings.Contains(es[0].LastError, "4.4.3") {
		t.Fatalf("after a DNS failure: %+v", es)
	}
}

func TestStaticRouteAndSmarthost(t *testing.T) {
	other, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	h := newHarness(t, smtpsink.Options{}, func(o *Options) {
		o.Routes = map[string]string{"Routed.test": other.Addr()}
	})
	h.enqueue("alice@example.test", body, "x@routed.test")
	h.run()
	if len(other.Messages()) != 1 || len(h.sink.Messages()) != 0 {
		t.Fatalf("static route not used: other %d, sink %d", len(other.Messages()), len(h.sink.Messages()))
	}
	// A smarthost takes everything without a route, even with MX records.
	h2 := newHarness(t, smtpsink.Options{}, func(o *Options) { o.Smarthost = other.Addr() })
	h2.enqueue("alice@example.test", body, "bob@remote.test")
	h2.run()
	if len(other.Messages()) != 2 || len(h2.sink.Messages()) != 0 {
		t.Fatal("smarthost not used")
	}
}

func TestConnectionRefusedDefers(t *testing.T) {
	h := newHarness(t, smtpsink.Options{}, nil)
	h.res.mx["down.test"] = []*net.MX{{Host: "mx.down.test", Pref: 1}}
	h.res.ips["mx.down.test"] = []string{"::1"}
	h.enqueue("alice@example.test", body, "x@down.test")
	h.run()
	es := h.entries()
	if len(es) != 1 || es[0].Attempts != 1 || !strings.Contains(es[0].LastError, "4.4.1") {
		t.Fatalf("after a refused connection: %+v", es)
	}
}

func TestSevenBitDowngradeOnTheWay(t *testing.T) {
	h := newHarness(t, smtpsink.Options{Extensions: []string{"PIPELINING", "ENHANCEDSTATUSCODES"}}, nil)
	msg8 := "From: alice@example.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSchöne Grüße\r\n"
	h.enqueue("alice@example.test", msg8, "bob@remote.test")
	h.run()
	m := h.sink.Messages()
	if len(m) != 1 || message.Is8Bit(m[0].Data) {
		t.Fatalf("sink got %+v", m)
	}
	meta, _ := message.Analyze(bytes.NewReader(m[0].Data))
	if !strings.Contains(meta.Text, "Schöne Grüße") {
		t.Fatalf("downgraded text %q", meta.Text)
	}
}

func TestExpiredLeaseIsRetaken(t *testing.T) {
	h := newHarness(t, smtpsink.Options{}, nil)
	h.enqueue("alice@example.test", body, "bob@remote.test")
	// A node claims the entry and dies.
	got, err := h.st.ClaimQueue(t.Context(), store.Claim{Owner: "dead-node", Now: t0, Lease: time.Minute, Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v %v", got, err)
	}
	h.run()
	if len(h.sink.Messages()) != 0 {
		t.Fatal("delivered under another node's live lease")
	}
	h.clock.set(t0.Add(2 * time.Minute))
	h.run()
	if len(h.sink.Messages()) != 1 || len(h.entries()) != 0 {
		t.Fatal("entry of a dead node not delivered after its lease expired")
	}
}

func TestAdminBounce(t *testing.T) {
	h := newHarness(t, smtpsink.Options{RcptReply: func(string) string { return "451 4.3.0 later" }}, nil)
	id := h.enqueue("alice@example.test", body, "bob@remote.test")
	h.run()
	if err := AdminBounce(t.Context(), h.st, id, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	conns := h.sink.Connections()
	h.run()
	bs := h.bounces.list()
	if len(h.entries()) != 0 || len(bs) != 1 || !strings.Contains(bs[0].dsn, "by the administrator") {
		t.Fatalf("after admin bounce: entries %d, DSNs %+v", len(h.entries()), bs)
	}
	if h.sink.Connections() != conns {
		t.Fatal("an administrator's bounce opened a connection")
	}
}
