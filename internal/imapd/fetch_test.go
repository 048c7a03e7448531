package imapd

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"posthorn/internal/store"
)

const multipartMessage = "From: Alice <alice@example.test>\r\n" +
	"To: Bob <bob@example.test>\r\n" +
	"Subject: Parts\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=XX\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--XX\r\n" +
	"Content-Type: text/plain; charset=iso-8859-1\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"caf=E9 au lait\r\n" +
	"--XX\r\n" +
	"Content-Type: application/octet-stream; name=\"bin.dat\"\r\n" +
	"Content-Disposition: attachment; filename=\"bin.dat\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAECAwQ=\r\n" +
	"--XX\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"From: Carol <carol@example.test>\r\n" +
	"Subject: Inner\r\n" +
	"\r\n" +
	"inner body\r\n" +
	"--XX\r\n" +
	"Content-Type: application/x-weird\r\n" +
	"Content-Transfer-Encoding: x-uuencode\r\n" +
	"\r\n" +
	"begin 644 x\r\n" +
	"--XX--\r\n"

// literalOf returns the literal that follows marker in a response line.
func literalOf(t *testing.T, line, marker string) string {
	t.Helper()
	i := strings.Index(line, marker)
	if i < 0 {
		t.Fatalf("%q not in %q", marker, line)
	}
	rest := line[i+len(marker):]
	m := regexp.MustCompile(`^~?\{(\d+)\}\r\n`).FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("no literal after %q in %q", marker, line)
	}
	var n int
	fmt.Sscan(m[1], &n)
	return rest[len(m[0]) : len(m[0])+n]
}

func TestFetchSections(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", multipartMessage, 0)
	rc := h.login()
	rc.ok("EXAMINE INBOX")
	for sec, want := range map[string]string{
		"HEADER.FIELDS (Subject FROM)":                     "From: Alice <alice@example.test>\r\nSubject: Parts\r\n\r\n",
		"HEADER.FIELDS.NOT (From To Subject MIME-Version)": "Content-Type: multipart/mixed; boundary=XX\r\n\r\n",
		"1":                         "caf=E9 au lait",
		"1.MIME":                    "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		"2":                         "AAECAwQ=",
		"3":                         "From: Carol <carol@example.test>\r\nSubject: Inner\r\n\r\ninner body",
		"3.HEADER":                  "From: Carol <carol@example.test>\r\nSubject: Inner\r\n\r\n",
		"3.TEXT":                    "inner body",
		"3.1":                       "inner body",
		"3.HEADER.FIELDS (SUBJECT)": "Subject: Inner\r\n\r\n",
		"1.HEADER":                  "",
	} {
		lines := rc.ok("FETCH 1 (BODY.PEEK[" + sec + "])")
		if got := literalOf(t, lines[0], "BODY["+sec+"] "); got != want {
			t.Errorf("BODY[%s] = %q, want %q", sec, got, want)
		}
	}
	lines := rc.ok("FETCH 1 (BODY.PEEK[TEXT]<0.8> BODY.PEEK[1]<5.100> BODY.PEEK[1]<500.10> BODY.PEEK[9] BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2])")
	l := lines[0]
	if got := literalOf(t, l, "BODY[TEXT]<0> "); got != "preamble" {
		t.Errorf("partial TEXT %q", got)
	}
	if got := literalOf(t, l, "BODY[1]<5> "); got != "9 au lait" {
		t.Errorf("partial 1 %q", got)
	}
	if got := literalOf(t, l, "BODY[1]<500> "); got != "" {
		t.Errorf("partial beyond the end %q", got)
	}
	if !strings.Contains(l, "BODY[9] NIL") || !strings.Contains(l, "BINARY.SIZE[2] 5") || !strings.Contains(l, "BINARY[2] ~{5}\r\n\x00\x01\x02\x03\x04") {
		t.Errorf("NIL/BINARY: %q", l)
	}
	if got := literalOf(t, l, "BINARY[1] "); got != "caf\xe9 au lait" {
		t.Errorf("BINARY[1] = %q", got)
	}
	if done := rc.fail("NO", "FETCH 1 (BINARY.PEEK[4])"); !strings.Contains(done, "[UNKNOWN-CTE]") {
		t.Error(done)
	}
	rc.fail("BAD", "FETCH 1 (BINARY[1.MIME])")
	rc.fail("BAD", "FETCH 1 (BODY[1]<0.0>)")
	rc.fail("BAD", "FETCH 1 (BODY[MIME])")
	rc.fail("BAD", "FETCH 1 (NOSUCHITEM)")
	rc.fail("BAD", "FETCH 2 (FLAGS)")
	rc.fail("BAD", "FETCH 0 (FLAGS)")
	// EXAMINE: a non-PEEK fetch does not set \Seen.
	rc.ok("FETCH 1 (BODY[TEXT])")
	mustHave(t, rc.ok("FETCH 1 (FLAGS)"), "FLAGS ()")
}

func TestFetchItems(t *testing.T) {
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", simpleMessage, store.FlagFlagged)
	rc := h.login()
	rc.ok("SELECT INBOX")
	lines := rc.ok("FETCH 1 ALL")
	mustHave(t, lines, `FLAGS (\Flagged)`, `INTERNALDATE " 6-May-2024 07:08:09 +0000"`, fmt.Sprintf("RFC822.SIZE %d", len(simpleMessage)), `ENVELOPE ("Mon, 6 May 2024`)
	mustHave(t, rc.ok("FETCH 1 FAST"), "FLAGS", "INTERNALDATE", "RFC822.SIZE")
	mustHave(t, rc.ok("FETCH 1 FULL"), `BODY ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 26 2)`)
	mustHave(t, rc.ok("FETCH 1 (RFC822.HEADER)"), "RFC822.HEADER {158}")
	// A non-PEEK fetch sets \Seen and says so in the same response, once.
	lines = rc.ok("FETCH 1 (RFC822.TEXT)")
	if len(lines) != 1 || !strings.Contains(lines[0], `FLAGS (\Seen \Flagged)`) {
		t.Errorf("RFC822.TEXT: %q", lines)
	}
	lines = rc.ok("UID FETCH 1:* (FLAGS)")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* 1 FETCH (UID 1 FLAGS") {
		t.Errorf("UID FETCH: %q", lines)
	}
	if lines := rc.ok("UID FETCH 5 (FLAGS)"); len(lines) != 0 {
		t.Errorf("UID FETCH of a missing UID: %q", lines)
	}
}

func TestFetchCondstore(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.deliver(h.alice, "INBOX", simpleMessage, 0)
	}
	rc := h.login()
	lines, done := rc.cmd("SELECT INBOX (CONDSTORE)")
	mustHave(t, lines, "HIGHESTMODSEQ")
	if !strings.Contains(done, "OK") {
		t.Fatal(done)
	}
	lines = rc.ok("FETCH 1:* (MODSEQ)")
	var ms [3]uint64
	for i, l := range lines {
		fmt.Sscanf(l[strings.Index(l, "MODSEQ (")+8:], "%d", &ms[i])
	}
	rc.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
	lines = rc.ok(fmt.Sprintf("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", ms[2]))
	if len(lines) != 1 || !strings.Contains(lines[0], "* 2 FETCH") || !strings.Contains(lines[0], "MODSEQ (") {
		t.Errorf("CHANGEDSINCE: %q", lines)
	}
	rc.fail("BAD", fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", ms[0])) // QRESYNC not enabled
}
