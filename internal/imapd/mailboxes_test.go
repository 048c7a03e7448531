package imapd

import (
	"fmt"
	"strings"
	"testing"

	"posthorn/internal/store"
)

func TestSelectExamine(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", simpleMessage, store.FlagSeen)
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	rc := h.login()
	rc.fail("BAD", "STORE 1 FLAGS (x)") // not valid before SELECT
	lines, done := rc.cmd("SELECT INBOX")
	for _, want := range []string{"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", "* 2 EXISTS", "* 0 RECENT", "* OK [UNSEEN 2]",
		"* OK [UIDVALIDITY ", "* OK [UIDNEXT 3]", "* OK [HIGHESTMODSEQ ", `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)]`} {
		mustHave(t, lines, want)
	}
	if !strings.Contains(done, "OK [READ-WRITE]") {
		t.Errorf("%s", done)
	}
	lines, done = rc.cmd("EXAMINE INBOX")
	mustHave(t, lines, "* OK [PERMANENTFLAGS ()]")
	if !strings.Contains(done, "OK [READ-ONLY]") {
		t.Errorf("%s", done)
	}
	rc.fail("NO", "STORE 1 +FLAGS (\\Deleted)")
	rc.fail("NO", "EXPUNGE")
	// A failed SELECT leaves no mailbox selected.
	if done := rc.fail("NO", "SELECT Nowhere"); !strings.Contains(done, "[NONEXISTENT]") {
		t.Errorf("%s", done)
	}
	rc.fail("BAD", "FETCH 1 FLAGS")
	// IMAP4rev2: no RECENT or UNSEEN, a LIST response, [CLOSED].
	rc.ok("ENABLE IMAP4rev2")
	rc.ok("SELECT Sent")
	lines = rc.ok("SELECT INBOX")
	mustHave(t, lines, "* OK [CLOSED]")
	mustHave(t, lines, `* LIST () "/" INBOX`)
	if has(lines, "RECENT") || has(lines, "[UNSEEN") {
		t.Errorf("IMAP4rev2 SELECT: %q", lines)
	}
}

func TestCreateDeleteRename(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	rc := h.login()
	rc.ok("CREATE Lists/Go/")
	mustHave(t, rc.ok(`LIST "" Lists*`), `"/" Lists/Go`)
	if done := rc.fail("NO", "CREATE Lists"); !strings.Contains(done, "[ALREADYEXISTS]") {
		t.Error(done)
	}
	rc.fail("NO", "CREATE inbox")
	for _, bad := range []string{`"a//b"`, `"../x"`, `"a/./b"`, `"/lead"`, "{3}\r\na\x01b", `"` + strings.Repeat("x", 300) + `"`, `"a*b"`} {
		if strings.HasPrefix(bad, "{") {
			rc.send("X CREATE " + bad + "\r\n")
			for {
				l := rc.readResponse()
				if strings.HasPrefix(l, "X ") {
					if !strings.Contains(l, "NO [CANNOT]") {
						t.Errorf("CREATE control character: %s", l)
					}
					break
				}
			}
			continue
		}
		if done := rc.fail("NO", "CREATE "+bad); !strings.Contains(done, "[CANNOT]") {
			t.Errorf("CREATE %s: %s", bad, done)
		}
	}
	rc.fail("NO", "CREATE &AEE-") // invalid modified UTF-7
	// CREATE-SPECIAL-USE.
	rc.ok(`CREATE Important (USE (\Flagged))`)
	mustHave(t, rc.ok(`LIST "" Important`), `\Flagged) "/" Important`)
	if done := rc.fail("NO", `CREATE Odd (USE (\Bogus))`); !strings.Contains(done, "[USEATTR]") {
		t.Error(done)
	}
	rc.fail("NO", `CREATE Two (USE (\Sent \Trash))`)
	// RENAME moves children; RENAME INBOX moves the messages.
	rc.ok("RENAME Lists Mailing")
	mustHave(t, rc.ok(`LIST "" Mailing/*`), `"/" Mailing/Go`)
	rc.fail("NO", "RENAME Nowhere Else")
	rc.fail("NO", "RENAME Mailing Sent")
	rc.ok("RENAME INBOX Old")
	mustHave(t, rc.ok("STATUS Old (MESSAGES)"), "* STATUS Old (MESSAGES 1)")
	mustHave(t, rc.ok("STATUS INBOX (MESSAGES)"), "* STATUS INBOX (MESSAGES 0)")
	rc.ok("DELETE Old")
	if done := rc.fail("NO", "DELETE INBOX"); !strings.Contains(done, "[CANNOT]") {
		t.Error(done)
	}
	rc.fail("NO", "DELETE Old")
}

func TestStatusItems(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", simpleMessage, store.FlagSeen|store.FlagDeleted)
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	rc := h.login()
	lines := rc.ok("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT SIZE HIGHESTMODSEQ DELETED)")
	want := fmt.Sprintf("* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY %d UNSEEN 1 RECENT 0 SIZE %d HIGHESTMODSEQ ", h.inbox(t).UIDValidity, 2*len(simpleMessage))
	mustHave(t, lines, want, "DELETED 1)")
	rc.fail("BAD", "STATUS INBOX (BOGUS)")
	rc.fail("NO", "STATUS Nowhere (MESSAGES)")
}

// inbox returns alice's INBOX row.
func (h *harness) inbox(t *testing.T) store.Mailbox {
	t.Helper()
	mb, err := h.mbox.Get(t.Context(), h.alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

func TestAccountsAreIsolated(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	alice := h.login()
	alice.ok("CREATE Secret")
	bob := h.dial()
	bob.ok("LOGIN bob@example.test password")
	if has(bob.ok(`LIST "" *`), "Secret") {
		t.Error("bob sees alice's mailbox")
	}
	bob.fail("NO", "SELECT Secret")
	bob.fail("NO", "STATUS Secret (MESSAGES)")
	bob.fail("NO", "DELETE Secret")
	mustHave(t, bob.ok("SELECT INBOX"), "* 0 EXISTS")
	bob.fail("NO", "APPEND Secret {3}") // no continuation: no data follows
}

func TestSubscribe(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	rc.ok("CREATE Box")
	rc.ok("SUBSCRIBE Box")
	mustHave(t, rc.ok(`LSUB "" *`), `* LSUB () "/" Box`)
	rc.ok("UNSUBSCRIBE Box")
	if has(rc.ok(`LSUB "" *`), "Box") {
		t.Error("still subscribed")
	}
	rc.fail("NO", "SUBSCRIBE Nowhere")
}

func TestCloseAndUnselect(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", simpleMessage, store.FlagDeleted)
	h.deliver(h.alice, "INBOX", simpleMessage, store.FlagDeleted)
	rc := h.login()
	rc.ok("SELECT INBOX")
	if lines := rc.ok("UNSELECT"); len(lines) != 0 {
		t.Errorf("UNSELECT: %q", lines)
	}
	mustHave(t, rc.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 2")
	rc.ok("EXAMINE INBOX")
	rc.ok("CLOSE") // read-only: nothing expunged
	mustHave(t, rc.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 2")
	rc.ok("SELECT INBOX")
	if lines := rc.ok("CLOSE"); len(lines) != 0 {
		t.Errorf("CLOSE sent %q (expunges are silent)", lines)
	}
	mustHave(t, rc.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 0")
	rc.fail("BAD", "CLOSE")
}

func TestUTF8MailboxNames(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	rc.ok("CREATE Z&APw-rich/&ZeVnLIqe-")
	mustHave(t, rc.ok(`LIST "" *`), `"/" Z&APw-rich/&ZeVnLIqe-`)
	if _, err := h.mbox.Get(t.Context(), h.alice.ID, "Zürich/日本語"); err != nil {
		t.Errorf("stored name: %v", err)
	}
	rc.ok("ENABLE IMAP4rev2")
	mustHave(t, rc.ok(`LIST "" *`), "\"/\" \"Zürich/日本語\"")
	rc.ok(`SELECT "Zürich/日本語"`)
}

func TestDeleteSelectedMailbox(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	rc.ok("CREATE Doomed")
	rc.ok("SELECT Doomed")
	mustHave(t, rc.ok("DELETE Doomed"), "* OK [CLOSED]")
	rc.fail("BAD", "FETCH 1 FLAGS") // no mailbox selected any more
	rc.ok("SELECT INBOX")
}
