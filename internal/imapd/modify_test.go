package imapd

import (
	"fmt"
	"strings"
	"testing"

	"posthorn/internal/store"
)

func TestStore(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.deliver(h.alice, "INBOX", simpleMessage, 0)
	}
	rc := h.login()
	rc.ok("SELECT INBOX")
	lines := rc.ok(`STORE 1:2 +FLAGS (\Seen $Work)`)
	if len(lines) != 4 || !strings.HasPrefix(lines[0], `* FLAGS (`) || lines[2] != `* 1 FETCH (FLAGS (\Seen $Work))` {
		t.Errorf("+FLAGS: %q", lines)
	}
	mustHave(t, rc.ok(`STORE 1 -FLAGS ($work)`), `* 1 FETCH (FLAGS (\Seen))`)
	mustHave(t, rc.ok(`STORE 2 FLAGS \Flagged \Draft`), `* 2 FETCH (FLAGS (\Flagged \Draft))`)
	if lines := rc.ok(`STORE 3 +FLAGS.SILENT (\Answered)`); len(lines) != 0 {
		t.Errorf(".SILENT: %q", lines)
	}
	mustHave(t, rc.ok(`UID STORE 3 +FLAGS (\Recent)`), `* 3 FETCH (UID 3 FLAGS (\Answered))`)
	rc.fail("BAD", `STORE 1 +FLAGS (\Bogus)`)
	rc.fail("BAD", `STORE 1 +FLAGS (`+strings.Repeat("k", 200)+`)`)
	rc.fail("BAD", `STORE 1 +LABELS (x)`)
	rc.fail("BAD", `STORE 9 +FLAGS (x)`)
	// The new keyword is announced in FLAGS and PERMANENTFLAGS.
	lines = rc.ok(`STORE 1 +FLAGS (Later)`)
	mustHave(t, lines, `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft Later)`)
	mustHave(t, lines, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft Later \*)]`)
}

func TestStoreUnchangedSince(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.deliver(h.alice, "INBOX", simpleMessage, 0)
	}
	rc := h.login()
	rc.ok("SELECT INBOX")
	lines := rc.ok("FETCH 1:3 (MODSEQ)")
	var ms [3]uint64
	for i, l := range lines {
		fmt.Sscanf(l[strings.Index(l, "MODSEQ (")+8:], "%d", &ms[i])
	}
	other := h.login()
	other.ok("SELECT INBOX")
	other.ok(`STORE 2 +FLAGS (\Seen)`)
	lines, done := rc.cmd(fmt.Sprintf(`STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\Flagged)`, ms[2]))
	if !strings.Contains(done, "OK [MODIFIED 2]") {
		t.Errorf("UNCHANGEDSINCE: %s", done)
	}
	mustHave(t, lines, `* 1 FETCH (UID 1 FLAGS (\Flagged) MODSEQ (`)
	mustHave(t, lines, `* 3 FETCH (UID 3 FLAGS (\Flagged) MODSEQ (`)
	_, done = rc.cmd(`UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\Deleted)`)
	if !strings.Contains(done, "OK [MODIFIED 1:3]") {
		t.Errorf("UNCHANGEDSINCE 0: %s", done)
	}
	// With CONDSTORE on, .SILENT still reports the new MODSEQ.
	lines = rc.ok(`STORE 1 +FLAGS.SILENT (\Answered)`)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* 1 FETCH (UID 1 MODSEQ (") {
		t.Errorf(".SILENT with CONDSTORE: %q", lines)
	}
}

func TestCopyMove(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.deliver(h.alice, "INBOX", simpleMessage, store.FlagSeen)
	}
	rc := h.login()
	rc.ok("SELECT INBOX")
	_, done := rc.cmd("COPY 2:3 Archive")
	uv := h.mailbox(t, "Archive").UIDValidity
	if !strings.Contains(done, fmt.Sprintf("OK [COPYUID %d 2:3 1:2]", uv)) {
		t.Errorf("COPY: %s", done)
	}
	if done := rc.fail("NO", "COPY 1 Nowhere"); !strings.Contains(done, "[TRYCREATE]") {
		t.Error(done)
	}
	lines, done := rc.cmd("UID MOVE 1,4 Trash")
	uvt := h.mailbox(t, "Trash").UIDValidity
	if len(lines) != 3 || lines[0] != fmt.Sprintf("* OK [COPYUID %d 1,4 1:2] Moved", uvt) || lines[1] != "* 1 EXPUNGE" || lines[2] != "* 3 EXPUNGE" {
		t.Errorf("MOVE: %q %s", lines, done)
	}
	mustHave(t, rc.ok("STATUS Trash (MESSAGES UNSEEN)"), "MESSAGES 2 UNSEEN 0")
	rc.ok("MOVE 1:* Junk")
	mustHave(t, rc.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 0")
	rc.ok("EXAMINE Junk")
	rc.fail("NO", "MOVE 1 INBOX")
	rc.ok("COPY 1 INBOX")
}

// mailbox returns one of alice's mailboxes.
func (h *harness) mailbox(t *testing.T, name string) store.Mailbox {
	t.Helper()
	mb, err := h.mbox.Get(t.Context(), h.alice.ID, name)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

func TestExpunge(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 6; i++ {
		h.deliver(h.alice, "INBOX", simpleMessage, 0)
	}
	rc := h.login()
	rc.ok("SELECT INBOX")
	rc.ok(`STORE 2,3,5 +FLAGS.SILENT (\Deleted)`)
	lines := rc.ok("EXPUNGE")
	if strings.Join(lines, "|") != "* 2 EXPUNGE|* 2 EXPUNGE|* 3 EXPUNGE" {
		t.Errorf("EXPUNGE: %q", lines)
	}
	rc.ok(`STORE 1:* +FLAGS.SILENT (\Deleted)`)
	// UID EXPUNGE removes only the given UIDs (RFC 4315 §2.1).
	lines = rc.ok("UID EXPUNGE 4")
	if strings.Join(lines, "|") != "* 2 EXPUNGE" {
		t.Errorf("UID EXPUNGE: %q", lines)
	}
	mustHave(t, rc.ok("UID SEARCH ALL"), "* SEARCH 1 6")
}
