package imapd

import (
	"strings"
	"testing"
	"time"

	"posthorn/internal/store"
)

// waitFor reads responses until one contains s.
func (rc *rawClient) waitFor(s string) string {
	rc.t.Helper()
	for {
		l := rc.readResponse()
		if strings.Contains(l, s) {
			return l
		}
	}
}

func TestIdle(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	rc := h.login()
	rc.ok("SELECT INBOX")
	rc.send("I1 IDLE\r\n")
	if l := rc.line(); l != "+ idling" {
		t.Fatalf("%q", l)
	}
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	rc.waitFor("* 3 EXISTS")
	other := h.login()
	other.ok("SELECT INBOX")
	other.ok(`STORE 2 +FLAGS (\Flagged)`)
	rc.waitFor(`* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	other.ok(`STORE 1 +FLAGS (\Deleted)`)
	other.ok("EXPUNGE")
	if l := rc.waitFor("EXPUNGE"); l != "* 1 EXPUNGE" {
		t.Errorf("%q", l)
	}
	rc.send("DONE\r\n")
	if _, done := rc.until("I1"); !strings.HasPrefix(done, "I1 OK") {
		t.Errorf("%q", done)
	}
	mustHave(t, rc.ok("FETCH 1:* (UID)"), "* 2 FETCH (UID 3)")
	// IDLE without a selected mailbox, and a wrong end.
	rc.ok("UNSELECT")
	rc.send("I2 IDLE\r\n")
	rc.line()
	rc.send("STOP\r\n")
	if _, done := rc.until("I2"); !strings.HasPrefix(done, "I2 BAD") {
		t.Errorf("%q", done)
	}
}

func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.IdleTimeout = 200 * time.Millisecond })
	rc := h.login()
	rc.send("I1 IDLE\r\n")
	rc.line()
	if l := rc.line(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("%q", l)
	}
}

func TestIdleManySessions(t *testing.T) {
	// Several idle sessions on one mailbox all hear of one delivery.
	h := newHarness(t)
	var cs []*rawClient
	for i := 0; i < 20; i++ {
		rc := h.login()
		rc.ok("SELECT INBOX")
		rc.send("I IDLE\r\n")
		rc.line()
		cs = append(cs, rc)
	}
	h.deliver(h.alice, "INBOX", simpleMessage, store.FlagSeen)
	for _, rc := range cs {
		rc.waitFor("* 1 EXISTS")
		rc.send("DONE\r\n")
		rc.until("I")
	}
}
