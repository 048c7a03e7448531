package imapd

import (
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pat, name string
		want      bool
	}{
		{"*", "a/b/c", true}, {"%", "a/b", false}, {"%", "a", true}, {"a/%", "a/b", true}, {"a/%", "a/b/c", false},
		{"a*", "a/b/c", true}, {"a%c", "abc", true}, {"a%c", "a/c", false}, {"*c", "a/b/c", true}, {"", "", true},
		{"INBOX", "INBOX", true}, {"%/%", "a/b", true}, {"x*y*z", "xaaybbz", true}, {"x*y*z", "xaaybb", false},
	} {
		if got := matchPattern(c.pat, c.name); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v", c.pat, c.name, got)
		}
	}
	// A hostile pattern is answered in polynomial time.
	if matchPattern(strings.Repeat("*a", 500)+"b", strings.Repeat("a", 1000)) {
		t.Error("hostile pattern matched")
	}
}

func TestList(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	rc.ok("CREATE a/b/c")
	rc.ok(`CREATE "Zürich"`)
	rc.ok("UNSUBSCRIBE Trash")
	rc.ok("SUBSCRIBE a/b/c")
	mustHave(t, rc.ok(`LIST "" ""`), `* LIST (\Noselect) "/" ""`)
	lines := rc.ok(`LIST "" %`)
	mustHave(t, lines, `(\HasChildren) "/" a`)
	mustHave(t, lines, `"/" Z&APw-rich`)
	if has(lines, `"/" a/b`) {
		t.Errorf("%% matched below the first level: %q", lines)
	}
	mustHave(t, rc.ok(`LIST "a/" %`), `(\HasChildren) "/" a/b`)
	mustHave(t, rc.ok(`LIST "" inbox`), `"/" INBOX`)
	// LIST-EXTENDED: subscribed only, with RECURSIVEMATCH's CHILDINFO.
	lines = rc.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" %`)
	mustHave(t, lines, `"/" a ("CHILDINFO" ("SUBSCRIBED"))`)
	mustHave(t, lines, `(\HasNoChildren \Subscribed \Sent) "/" Sent`)
	if has(lines, `"/" Trash`) {
		t.Errorf("unsubscribed Trash listed: %q", lines)
	}
	lines = rc.ok(`LIST (SPECIAL-USE) "" *`)
	if len(lines) != 5 {
		t.Errorf("SPECIAL-USE selection: %q", lines)
	}
	lines = rc.ok(`LIST "" (INBOX Sent) RETURN (STATUS (MESSAGES UNSEEN SIZE) SUBSCRIBED)`)
	mustHave(t, lines, `* STATUS INBOX (MESSAGES 0 UNSEEN 0 SIZE 0)`)
	mustHave(t, lines, `(\HasNoChildren \Subscribed \Sent) "/" Sent`)
	// LSUB (IMAP4rev1): a non-subscribed parent is \Noselect.
	lines = rc.ok(`LSUB "" a/%`)
	mustHave(t, lines, `* LSUB (\Noselect) "/" a/b`)
	// A missing parent is listed as non-existent (after DELETE of a).
	rc.ok("DELETE a")
	mustHave(t, rc.ok(`LIST "" %`), `(\Noselect \HasChildren) "/" a`)
	rc.ok("ENABLE IMAP4rev2")
	lines = rc.ok(`LIST "" %`)
	mustHave(t, lines, `(\NonExistent \HasChildren) "/" a`)
	mustHave(t, lines, `"/" "Zürich"`)
	rc.fail("BAD", `LIST (RECURSIVEMATCH) "" *`)
	rc.fail("BAD", `LIST "" `+strings.Repeat("%", 2000))
}
