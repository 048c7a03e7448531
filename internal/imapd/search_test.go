package imapd

import (
	"fmt"
	"strings"
	"testing"

	"posthorn/internal/store"
)

// appendMsg appends a message with flags and an internal date.
func (rc *rawClient) appendMsg(mailbox, flags, date, msg string) {
	rc.t.Helper()
	rc.ok(fmt.Sprintf("APPEND %s (%s) \"%s\" {%d+}\r\n%s", mailbox, flags, date, len(msg), msg))
}

// searchFixture makes three messages to search in INBOX, selected. With
// scan set, the store hides its full-text index (store.Searcher), so the
// mailbox service reads the messages.
func searchFixture(t *testing.T, scan ...bool) (*harness, *rawClient) {
	var h *harness
	if len(scan) > 0 && scan[0] {
		h = newHarnessWith(t, func(st store.Store) store.Store { return plainStore{st} })
	} else {
		h = newHarness(t)
	}
	rc := h.login()
	populateSearch(rc)
	return h, rc
}

// populateSearch appends the three messages of the search tests and
// selects INBOX.
func populateSearch(rc *rawClient) {
	rc.appendMsg("INBOX", `\Seen`, "01-Feb-2024 10:00:00 +0000",
		"From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nCc: Carol <carol@example.test>\r\n"+
			"Subject: Hello there\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nMessage-ID: <1@x>\r\n\r\nHi Bob, see you.\r\n")
	rc.appendMsg("INBOX", `\Flagged $Work`, "15-Mar-2024 10:00:00 +0000",
		"From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.test>\r\nTo: alice@example.test\r\nBcc: boss@example.test\r\n"+
			"Subject: =?iso-8859-1?q?Caf=E9_news?=\r\nDate: Sun, 1 Jan 2023 12:00:00 +0100\r\nX-Custom: yes indeed\r\n"+
			"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"+
			"Cr=E8me br=FBl=E9e and "+strings.Repeat("padding ", 300)+"\r\n")
	rc.appendMsg("INBOX", `\Deleted \Draft \Answered`, "20-Mar-2024 23:59:59 -0500",
		"From: bob@example.test\r\nSubject: no date\r\nContent-Type: text/plain; charset=utf-8\r\n"+
			"Content-Transfer-Encoding: base64\r\n\r\nVGhlIG1hcm1hbGFkZSBpcyBvbiB0aGUgdGFibGUu\r\n")
	rc.ok("SELECT INBOX")
}

// plainStore is a store without store.Searcher.
type plainStore struct{ store.Store }

func TestSearchKeys(t *testing.T) {
	t.Run("index", func(t *testing.T) { testSearchKeys(t, false) })
	t.Run("scan", func(t *testing.T) { testSearchKeys(t, true) })
}

func testSearchKeys(t *testing.T, scan bool) {
	_, rc := searchFixture(t, scan)
	checkSearchKeys(t, rc, scan)
}

// checkSearchKeys runs every search key on the populated INBOX.
func checkSearchKeys(t *testing.T, rc *rawClient, scan bool) {
	if scan {
		// Without the index TEXT reads every header field, and BODY
		// matches any substring; the index matches words and word
		// prefixes (as Dovecot's FTS does).
		mustHave(t, rc.ok("SEARCH TEXT x-custom"), "* SEARCH 2")
		mustHave(t, rc.ok("SEARCH BODY armala"), "* SEARCH 3")
	} else {
		if l := rc.ok("SEARCH BODY armala"); len(l) != 1 || l[0] != "* SEARCH" {
			t.Errorf("BODY armala with the index: %q", l)
		}
		mustHave(t, rc.ok("SEARCH BODY marma"), "* SEARCH 3")
	}
	for key, want := range map[string]string{
		"ALL": "1 2 3", "ANSWERED": "3", "UNANSWERED": "1 2", "DELETED": "3", "UNDELETED": "1 2", "DRAFT": "3", "UNDRAFT": "1 2",
		"FLAGGED": "2", "UNFLAGGED": "1 3", "SEEN": "1", "UNSEEN": "2 3", "KEYWORD $work": "2", "UNKEYWORD $Work": "1 3",
		"NEW": "", "RECENT": "", "OLD": "1 2 3",
		"FROM alice": "1", `FROM "jürgen"`: "2", "TO bob": "1", "CC carol": "1", "BCC boss": "2", `SUBJECT "café"`: "2", `SUBJECT "HELLO THERE"`: "1",
		`HEADER X-Custom "indeed"`: "2", `HEADER X-Custom ""`: "2", `HEADER Message-ID "<1@x>"`: "1",
		`BODY "crème"`: "2", "BODY marmalade": "3", "BODY bob": "1", "BODY hello": "", "TEXT hello": "1", "TEXT marmalade": "3", "TEXT juergen": "2",
		"TEXT \"see you\"":   "1",
		"BEFORE 15-Mar-2024": "1", "ON 15-Mar-2024": "2", "SINCE 15-Mar-2024": "2 3", "ON 21-Mar-2024": "3",
		"SENTBEFORE 6-May-2024": "2", "SENTON 6-May-2024": "1", "SENTSINCE 1-Jan-2023": "1 2", `SENTON "1-Jan-2023"`: "2",
		"LARGER 1000": "2", "SMALLER 300": "1 3",
		"UID 2:*": "2 3", "2,3": "2 3", "*": "3", "1:100": "1 2 3",
		"NOT SEEN": "2 3", "OR SEEN FLAGGED": "1 2", "(SEEN FROM alice)": "1", "OR (DELETED DRAFT) (SUBJECT hello)": "1 3",
		`CHARSET UTF-8 SUBJECT "CAFÉ"`: "2", "MODSEQ 1": "1 2 3",
	} {
		lines := rc.ok("SEARCH " + key)
		got := ""
		for _, l := range lines {
			if strings.HasPrefix(l, "* SEARCH") {
				got = strings.TrimSpace(strings.TrimPrefix(l, "* SEARCH"))
				if i := strings.Index(got, " (MODSEQ"); i >= 0 {
					got = got[:i]
				} else if strings.HasPrefix(got, "(MODSEQ") {
					got = ""
				}
			}
		}
		if got != want {
			t.Errorf("SEARCH %s = %q, want %q", key, got, want)
		}
	}
	if done := rc.fail("NO", "SEARCH CHARSET KOI8-R ALL"); !strings.Contains(done, "[BADCHARSET") {
		t.Error(done)
	}
	for _, bad := range []string{"SEARCH BOGUS", "SEARCH FROM", "SEARCH BEFORE 32-Jan-2024", "SEARCH " + strings.Repeat("(", 40) + "ALL" + strings.Repeat(")", 40), "SEARCH OR SEEN"} {
		rc.fail("BAD", bad)
	}
}

func TestSearchResultForms(t *testing.T) {
	_, rc := searchFixture(t)
	mustHave(t, rc.ok("UID SEARCH UNSEEN"), "* SEARCH 2 3")
	mustHave(t, rc.ok("SEARCH MODSEQ 1 SEEN"), "* SEARCH 1 (MODSEQ ")
	lines, done := rc.cmd("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
	want := fmt.Sprintf(`* ESEARCH (TAG "T%d") MIN 2 MAX 3 ALL 2:3 COUNT 2`, rc.n)
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("ESEARCH: %q, want %q (%s)", lines, want, done)
	}
	lines = rc.ok("UID SEARCH RETURN () FLAGGED")
	mustHave(t, lines, `UID ALL 2`)
	lines = rc.ok("SEARCH RETURN (COUNT) KEYWORD nothing")
	mustHave(t, lines, `COUNT 0`)
	// SEARCHRES: RETURN (SAVE) answers nothing, "$" then names the result.
	if lines := rc.ok("SEARCH RETURN (SAVE) UNSEEN"); len(lines) != 0 {
		t.Errorf("SAVE: %q", lines)
	}
	mustHave(t, rc.ok("FETCH $ (UID)"), "* 2 FETCH (UID 2)")
	mustHave(t, rc.ok("SEARCH $ DRAFT"), "* SEARCH 3")
	rc.ok("SEARCH RETURN (SAVE MIN) ALL")
	if lines := rc.ok("UID FETCH $ (FLAGS)"); len(lines) != 1 || !strings.HasPrefix(lines[0], "* 1 FETCH") {
		t.Errorf("saved MIN: %q", lines)
	}
	// IMAP4rev2: SEARCH answers with ESEARCH.
	rc.ok("ENABLE IMAP4rev2")
	mustHave(t, rc.ok("SEARCH UNSEEN"), ` ALL 2:3`)
}
