package imapd

import (
	"fmt"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	msg := "Subject: one\r\n\r\nbody\r\n"
	// A synchronizing literal: continuation, then the data.
	rc.send(fmt.Sprintf("A1 APPEND INBOX (\\Seen Work) \"14-Nov-2023 22:13:20 +0100\" {%d}\r\n", len(msg)))
	if l := rc.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("continuation %q", l)
	}
	rc.send(msg + "\r\n")
	_, done := rc.until("A1")
	uv := h.inbox(t).UIDValidity
	if done != fmt.Sprintf("A1 OK [APPENDUID %d 1] APPEND completed", uv) {
		t.Fatalf("%q", done)
	}
	rc.ok("SELECT INBOX")
	mustHave(t, rc.ok("FETCH 1 (FLAGS INTERNALDATE)"), `FLAGS (\Seen Work) INTERNALDATE "14-Nov-2023 21:13:20 +0000"`)
	// MULTIAPPEND with LITERAL+; the selected mailbox learns of them.
	lines, done := rc.cmd(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s () {%d+}\r\n%s", len(msg), msg, len(msg), msg))
	if !strings.Contains(done, fmt.Sprintf("[APPENDUID %d 2:3]", uv)) {
		t.Errorf("MULTIAPPEND: %s", done)
	}
	mustHave(t, lines, "* 3 EXISTS")
	// Bare LF line ends are stored as CRLF.
	lf := "Subject: lf\n\nline one\nline two\n"
	rc.ok(fmt.Sprintf("APPEND Drafts (\\Draft) {%d+}\r\n%s", len(lf), lf))
	rc.ok("EXAMINE Drafts")
	lines = rc.ok("FETCH 1 (RFC822.SIZE BODY.PEEK[TEXT])")
	if got := literalOf(t, lines[0], "BODY[TEXT] "); got != "line one\r\nline two\r\n" {
		t.Errorf("LF message: %q", got)
	}
	// literal8 carries NUL octets (RFC 3516 §4.4); the service stores line
	// ends as CRLF.
	bin := "Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\r\n"
	mustHave(t, rc.ok(fmt.Sprintf("APPEND Drafts ~{%d+}\r\n%s", len(bin), bin)), "* 2 EXISTS")
	if got := literalOf(t, rc.ok("FETCH 2 (BINARY.PEEK[])")[0], "BINARY[] "); got != bin {
		t.Errorf("literal8: %q", got)
	}
}

func TestAppendRefusals(t *testing.T) {
	h := newHarness(t, func(o *Options) {})
	rc := h.login()
	// Over APPENDLIMIT with a synchronizing literal: NO [TOOBIG] and no
	// continuation; the session goes on.
	if done := rc.fail("NO", "APPEND INBOX {4294967295}"); !strings.Contains(done, "[TOOBIG]") {
		t.Error(done)
	}
	if done := rc.fail("NO", "APPEND Nowhere {3}"); !strings.Contains(done, "[TRYCREATE]") {
		t.Error(done)
	}
	rc.fail("BAD", "APPEND INBOX (\\Bogus) {3+}\r\nabc")
	rc.fail("BAD", `APPEND INBOX "31-Foo-2020 00:00:00 +0000" {3+}`+"\r\nabc")
	rc.fail("BAD", "APPEND INBOX")
	// MULTIAPPEND is all or nothing: a bad second message stores neither.
	rc.fail("BAD", "APPEND INBOX {3+}\r\nabc (\\Bogus) {3+}\r\nabc")
	mustHave(t, rc.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 0")
	// A non-synchronizing literal over the limit ends the session.
	rc.send("A9 APPEND INBOX {99999999999+}\r\n")
	for {
		l := rc.line()
		if strings.HasPrefix(l, "A9 ") {
			if !strings.Contains(l, "[TOOBIG]") {
				t.Errorf("%q", l)
			}
			break
		}
	}
	if l := rc.line(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("%q", l)
	}
}
