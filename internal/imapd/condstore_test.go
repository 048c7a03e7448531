package imapd

import (
	"fmt"
	"testing"
)

func TestQresync(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.deliver(h.alice, "INBOX", simpleMessage, 0)
	}
	rc := h.login()
	rc.fail("BAD", "SELECT INBOX (QRESYNC (1 1))")
	rc.ok("ENABLE QRESYNC")
	lines := rc.ok("SELECT INBOX")
	var uv, hms uint64
	for _, l := range lines {
		fmt.Sscanf(l, "* OK [UIDVALIDITY %d]", &uv)
		fmt.Sscanf(l, "* OK [HIGHESTMODSEQ %d]", &hms)
	}
	// Another session changes and expunges.
	other := h.login()
	other.ok("SELECT INBOX")
	other.ok("STORE 1 +FLAGS (\\Seen)")
	other.ok("STORE 2,3 +FLAGS (\\Deleted)")
	other.ok("EXPUNGE")
	// This session reports VANISHED, not EXPUNGE.
	lines = rc.ok("NOOP")
	mustHave(t, lines, "* VANISHED 2:3")
	mustHave(t, lines, `* 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (`)
	// A fresh session resynchronises from the old MODSEQ.
	fresh := h.login()
	fresh.ok("ENABLE QRESYNC")
	lines = fresh.ok(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 1:4))", uv, hms))
	mustHave(t, lines, "* VANISHED (EARLIER) 2:3")
	mustHave(t, lines, `* 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (`)
	lines = fresh.ok(fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", hms))
	mustHave(t, lines, "* VANISHED (EARLIER) 2:3")
	// A wrong UIDVALIDITY: a plain SELECT.
	lines = fresh.ok(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", uv+1, hms))
	if has(lines, "VANISHED") {
		t.Errorf("VANISHED with the wrong UIDVALIDITY: %q", lines)
	}
}
