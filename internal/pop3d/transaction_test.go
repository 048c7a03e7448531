package pop3d

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"posthorn/internal/mailbox"
)

// fill puts n messages into alice's INBOX and returns them as stored.
func (e *env) fill(t *testing.T, n int) []string {
	t.Helper()
	var raws []string
	for i := range n {
		raw := testMessage(fmt.Sprintf("message %d", i+1), fmt.Sprintf("line one of %d", i+1), ".a line with a dot", "", "..two dots", ".", "last")
		e.appendRaw(t, "alice@example.test", raw)
		raws = append(raws, raw)
	}
	return raws
}

func TestStatListUidl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPop(func(o *Options) { o.MaxErrors = 100 }))
	raws := e.fill(t, 3)
	stored := e.inbox(t, "alice@example.test")
	c := e.dial(t)
	c.login("alice@example.test")
	var total int64
	for i, m := range stored {
		total += m.Size
		if m.Size != int64(len(raws[i])) {
			t.Fatalf("stored size %d, message has %d octets", m.Size, len(raws[i]))
		}
	}
	if got, want := c.ok("STAT"), fmt.Sprintf("+OK 3 %d", total); got != want {
		t.Fatalf("STAT = %q, want %q", got, want)
	}
	c.ok("LIST")
	var want []string
	for i, m := range stored {
		want = append(want, fmt.Sprintf("%d %d", i+1, m.Size))
	}
	if got := c.multi(); !slices.Equal(got, want) {
		t.Fatalf("LIST = %q, want %q", got, want)
	}
	if got := c.ok("LIST 2"); got != "+OK "+want[1] {
		t.Fatalf("LIST 2 = %q", got)
	}
	mb := e.inboxBox(t, "alice@example.test")
	c.ok("UIDL")
	uidls := c.multi()
	for i, m := range stored {
		w := fmt.Sprintf("%d %08x%08x", i+1, mb.UIDValidity, uint32(m.UID))
		if uidls[i] != w {
			t.Fatalf("UIDL line %d = %q, want %q", i, uidls[i], w)
		}
	}
	if got := c.ok("UIDL 3"); got != "+OK "+uidls[2] {
		t.Fatalf("UIDL 3 = %q", got)
	}
	for _, bad := range []string{"LIST 0", "LIST 4", "UIDL 99", "RETR 4"} {
		if r := c.cmd(bad); r != "-ERR No such message" {
			t.Fatalf("%s = %q", bad, r)
		}
	}
	for _, bad := range []string{"LIST x", "LIST -1", "LIST +1", "STAT 1", "TOP 1", "TOP 1 x", "NOOP x"} {
		if r := c.cmd(bad); r != "-ERR Syntax error in arguments" {
			t.Fatalf("%s = %q", bad, r)
		}
	}
	if r := c.cmd("NOOP"); r != "+OK" {
		t.Fatalf("NOOP = %q", r)
	}
	c.ok("QUIT")
}

// TestRetrBytes checks the exact octets of RETR: the stored message, dot-
// stuffed, terminated; and that they match the announced size.
func TestRetrBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	raws := e.fill(t, 1)
	c := e.dial(t)
	c.login("alice@example.test")
	r := c.ok("RETR 1")
	if want := fmt.Sprintf("+OK %d octets", len(raws[0])); r != want {
		t.Fatalf("RETR = %q, want %q", r, want)
	}
	wire := c.rawMulti()
	stuffed := strings.ReplaceAll("\r\n"+raws[0], "\r\n.", "\r\n..")[2:] + ".\r\n"
	if wire != stuffed {
		t.Fatalf("RETR sent\n%q\nwant\n%q", wire, stuffed)
	}
	if got := strings.Join(c.multiAfter("RETR 1"), "\r\n") + "\r\n"; got != raws[0] {
		t.Fatalf("unstuffed RETR\n%q\nwant\n%q", got, raws[0])
	}
}

// multiAfter sends a command that must succeed and reads its multi-line body.
func (c *client) multiAfter(cmd string) []string {
	c.t.Helper()
	c.ok(cmd)
	return c.multi()
}

func TestRetrNormalizesLineEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Stored as given by an APPEND that did not insist on CRLF: bare LF,
	// a bare CR, no line end at the end.
	e.appendRaw(t, "alice@example.test", "Subject: bare\n\nline\n.dot\r\nmid\rcr\nend")
	c := e.dial(t)
	c.login("alice@example.test")
	c.ok("RETR 1")
	if got, want := c.rawMulti(), "Subject: bare\r\n\r\nline\r\n..dot\r\nmid\r\ncr\r\nend\r\n.\r\n"; got != want {
		t.Fatalf("RETR sent %q, want %q", got, want)
	}
}

func TestDeliveredSizeIsExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(t, "alice@example.test", testMessage("delivered", "hello", ".dotted"))
	c := e.dial(t)
	c.login("alice@example.test")
	var n, size int
	fmt.Sscanf(c.ok("LIST 1"), "+OK %d %d", &n, &size)
	c.ok("RETR 1")
	body := strings.Join(c.multi(), "\r\n") + "\r\n"
	if len(body) != size || !strings.HasPrefix(body, "Return-Path: <sender@remote.test>\r\n") {
		t.Fatalf("LIST says %d octets, RETR sent %d:\n%s", size, len(body), body)
	}
}

func TestTop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.appendRaw(t, "alice@example.test", "Subject: top\r\nX-A: 1\r\n\r\nb1\r\n.b2\r\nb3\r\n")
	e.appendRaw(t, "alice@example.test", "Subject: only a header\r\n")
	c := e.dial(t)
	c.login("alice@example.test")
	for _, tc := range []struct {
		cmd  string
		want string
	}{
		{"TOP 1 0", "Subject: top\r\nX-A: 1\r\n\r\n.\r\n"},
		{"TOP 1 2", "Subject: top\r\nX-A: 1\r\n\r\nb1\r\n..b2\r\n.\r\n"},
		{"TOP 1 3", "Subject: top\r\nX-A: 1\r\n\r\nb1\r\n..b2\r\nb3\r\n.\r\n"},
		{"TOP 1 100", "Subject: top\r\nX-A: 1\r\n\r\nb1\r\n..b2\r\nb3\r\n.\r\n"},
		{"TOP 2 5", "Subject: only a header\r\n.\r\n"},
	} {
		c.ok(tc.cmd)
		if got := c.rawMulti(); got != tc.want {
			t.Errorf("%s sent %q, want %q", tc.cmd, got, tc.want)
		}
	}
	c.ok("QUIT")
	// TOP does not count as retrieval: no \Seen.
	for _, m := range e.inbox(t, "alice@example.test") {
		if m.Flags&mailbox.FlagSeen != 0 {
			t.Fatalf("TOP set \\Seen on UID %d", m.UID)
		}
	}
}

func TestDeleThenDropDeletesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 3)
	c := e.dial(t)
	c.login("alice@example.test")
	c.ok("DELE 1")
	c.ok("DELE 3")
	c.ok("RETR 2")
	c.multi()
	c.c.Close() // no QUIT
	e.waitUnlocked(t, "alice@example.test")
	c2 := e.dial(t)
	c2.login("alice@example.test")
	if got := c2.ok("STAT"); !strings.HasPrefix(got, "+OK 3 ") {
		t.Fatalf("after a dropped session STAT = %q", got)
	}
	c2.c.Close()
	e.waitUnlocked(t, "alice@example.test")
	if ms := e.inbox(t, "alice@example.test"); len(ms) != 3 {
		t.Fatalf("%d messages left, want 3", len(ms))
	}
	for _, m := range e.inbox(t, "alice@example.test") {
		if m.Flags != 0 {
			t.Fatalf("a dropped session changed flags of UID %d: %v", m.UID, m.Flags)
		}
	}
}

func TestDeleThenQuitDeletes(t *testing.T) {
	e := newEnv(t)
	e.fill(t, 4)
	before := e.inbox(t, "alice@example.test")
	deletedBefore := counterValue(t, metricDeleted)
	c := e.dial(t)
	c.login("alice@example.test")
	c.ok("DELE 2")
	if r := c.cmd("DELE 2"); r != "-ERR Message is marked as deleted" {
		t.Fatalf("second DELE 2 = %q", r)
	}
	for _, cmd := range []string{"RETR 2", "LIST 2", "UIDL 2", "TOP 2 1"} {
		if r := c.cmd(cmd); r != "-ERR Message is marked as deleted" {
			t.Fatalf("%s of a marked message = %q", cmd, r)
		}
	}
	c.ok("LIST")
	if got := c.multi(); len(got) != 3 || got[0][:2] != "1 " || got[1][:2] != "3 " || got[2][:2] != "4 " {
		t.Fatalf("LIST after DELE 2 = %q (numbers must not shift)", got)
	}
	c.ok("DELE 4")
	if got := c.ok("RSET"); !strings.HasPrefix(got, "+OK maildrop has 4 messages") {
		t.Fatalf("RSET = %q", got)
	}
	c.ok("DELE 1")
	c.ok("DELE 3")
	c.ok("RETR 2")
	c.multi()
	if got := c.ok("QUIT"); !strings.Contains(got, "2 messages deleted") {
		t.Fatalf("QUIT = %q", got)
	}
	if !c.closed() {
		t.Fatal("connection open after QUIT")
	}
	if d := counterValue(t, metricDeleted) - deletedBefore; d != 2 {
		t.Fatalf("deleted_messages_total rose by %v, want 2", d)
	}
	after := e.inbox(t, "alice@example.test")
	if len(after) != 2 || after[0].UID != before[1].UID || after[1].UID != before[3].UID {
		t.Fatalf("left %v, want UIDs %d and %d", after, before[1].UID, before[3].UID)
	}
	if after[0].Flags&mailbox.FlagSeen == 0 || after[1].Flags&mailbox.FlagSeen != 0 {
		t.Fatalf("\\Seen must be set on the retrieved message only: %v %v", after[0].Flags, after[1].Flags)
	}
}

// TestMessageGoneUnderSession: another session expunges a message while
// POP3 holds the maildrop; numbering stays, DELE+QUIT of it is fine.
func TestMessageGoneUnderSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 2)
	c := e.dial(t)
	c.login("alice@example.test")
	a := e.account(t, "alice@example.test")
	ms := e.inbox(t, "alice@example.test")
	if _, _, err := e.mboxes.Expunge(context.Background(), a.ID, ms[0].MailboxID, mailbox.UIDSetOf(ms[0].UID), false); err != nil {
		t.Fatal(err)
	}
	if got := c.ok("STAT"); !strings.HasPrefix(got, "+OK 2 ") {
		t.Fatalf("STAT = %q: the numbering of the session must not change", got)
	}
	// RETR either still finds the body or says the message is gone;
	// either way the session goes on.
	if r := c.cmd("RETR 1"); strings.HasPrefix(r, "+OK") {
		c.multi()
	} else if r != "-ERR Message was removed by another session" {
		t.Fatalf("RETR of an expunged message = %q", r)
	}
	c.ok("DELE 1")
	c.ok("DELE 2")
	if got := c.ok("QUIT"); !strings.Contains(got, "2 messages deleted") {
		t.Fatalf("QUIT = %q", got)
	}
	if left := e.inbox(t, "alice@example.test"); len(left) != 0 {
		t.Fatalf("%d messages left", len(left))
	}
}

func TestPipelining(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 3)
	c := e.dial(t)
	// RFC 2449 §6.6: all commands in one write, answers in order.
	c.send("USER alice@example.test\r\nPASS " + testPassword + "\r\nSTAT\r\nRETR 1\r\nLIST\r\nDELE 3\r\nUIDL 3\r\nNOOP\r\nQUIT")
	c.line()
	c.line()
	if r := c.line(); !strings.HasPrefix(r, "+OK 3 ") {
		t.Fatalf("STAT = %q", r)
	}
	c.line()
	if body := c.multi(); body[len(body)-1] != "last" {
		t.Fatalf("RETR body ends with %q", body[len(body)-1])
	}
	c.line()
	if l := c.multi(); len(l) != 3 {
		t.Fatalf("LIST = %q", l)
	}
	for _, want := range []string{"+OK message 3", "-ERR Message is marked", "+OK", "+OK pop.example.test POP3 server signing off (1 messages deleted)"} {
		if r := c.line(); !strings.HasPrefix(r, want) {
			t.Fatalf("got %q, want %q...", r, want)
		}
	}
	if n := len(e.inbox(t, "alice@example.test")); n != 2 {
		t.Fatalf("%d messages left, want 2", n)
	}
}

func TestUidlStableAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 2)
	c := e.dial(t)
	c.login("alice@example.test")
	c.ok("UIDL")
	first := c.multi()
	c.ok("QUIT")
	// Restart everything over the same data directory.
	ctx := context.Background()
	e.srv.Shutdown(ctx)
	e.srvs.Shutdown(ctx)
	e.mboxes.Close()
	e.st.Close()
	e.open(t)
	e.start(t)
	e.appendRaw(t, "alice@example.test", testMessage("third"))
	c2 := e.dial(t)
	c2.login("alice@example.test")
	c2.ok("UIDL")
	second := c2.multi()
	if len(second) != 3 || !slices.Equal(first, second[:2]) {
		t.Fatalf("UIDL before %q, after restart %q", first, second)
	}
	if second[2] == second[1] || second[2] == second[0] {
		t.Fatalf("UIDL not unique: %q", second)
	}
}

// TestStoreFailure: when the store fails, the client gets [SYS/TEMP] (RFC
// 3206 §4) and nothing is lost: a QUIT whose expunge fails removes nothing.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 2)
	c := e.dial(t)
	c.login("alice@example.test")
	c.ok("DELE 1")
	c.ok("RETR 2")
	c.multi()
	c2 := e.dial(t)
	e.st.Close() // the database goes away under both sessions
	if r := c.cmd("QUIT"); r != "-ERR [SYS/TEMP] Some deleted messages not removed" {
		t.Fatalf("QUIT with a failed store = %q", r)
	}
	c2.ok("USER bob@example.test")
	if r := c2.cmd("PASS " + testPassword); r != "-ERR [SYS/TEMP] Temporary server failure; try again later" {
		t.Fatalf("login with a failed store = %q", r)
	}
	e.mboxes.Close()
	e.open(t)
	e.start(t)
	ms := e.inbox(t, "alice@example.test")
	if len(ms) != 2 || ms[1].Flags&mailbox.FlagSeen != 0 {
		t.Fatalf("after a failed QUIT: %d messages, flags %v; want both, unchanged", len(ms), ms[1].Flags)
	}
}

// counterValue reads a Prometheus counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestBigMaildrop: an INBOX read at login in several chunks, with holes in
// its UIDs, numbers every message once and in UID order.
func TestBigMaildrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.account(t, "alice@example.test")
	mb := e.inboxBox(t, "alice@example.test")
	n := 2*loadChunk + 202 // the last one is kept below
	batch := make([]mailbox.NewMessage, n)
	for i := range batch {
		batch[i].Body = strings.NewReader(testMessage(fmt.Sprintf("big %d", i+1), "body"))
	}
	ctx := context.Background()
	added, err := e.mboxes.Append(ctx, a.ID, mb.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	// Remove every third message: chunks are by position, not UID.
	var gone []mailbox.UID
	for i := 0; i < n; i += 3 {
		gone = append(gone, added[i].UID)
	}
	if _, _, err := e.mboxes.Expunge(ctx, a.ID, mb.ID, mailbox.UIDSetOf(gone...), false); err != nil {
		t.Fatal(err)
	}
	left := n - len(gone)
	c := e.dial(t)
	c.login("alice@example.test")
	if r := c.ok("STAT"); !strings.HasPrefix(r, fmt.Sprintf("+OK %d ", left)) {
		t.Fatalf("STAT = %q, want %d messages", r, left)
	}
	c.ok("UIDL")
	uidls := c.multi()
	if len(uidls) != left {
		t.Fatalf("UIDL lists %d messages, want %d", len(uidls), left)
	}
	for i := 1; i < len(uidls); i++ {
		prev, cur := strings.Fields(uidls[i-1])[1], strings.Fields(uidls[i])[1]
		if prev >= cur {
			t.Fatalf("UIDL not in UID order at %d: %q, %q", i+1, uidls[i-1], uidls[i])
		}
	}
	c.ok(fmt.Sprintf("TOP %d 0", left))
	if hdr := strings.Join(c.multi(), "\n"); !strings.Contains(hdr, fmt.Sprintf("Subject: big %d\n", n)) {
		t.Fatalf("last message is not the last appended:\n%s", hdr)
	}
}
