package smtpd

import (
	"fmt"
	"strings"
	"testing"
)

// Delivery through DATA and BDAT (issue 3, item 4).

// openData starts a transaction from x@remote.test to alice on the MX up
// to the 354.
func openData(t *testing.T, e *env) *rawConn {
	t.Helper()
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	return rc
}

func TestDataByteExact(t *testing.T) {
	e := newEnv(t)
	// What the client means (after dot-unstuffing): a line that is a lone
	// dot, one that starts with two dots, 8-bit text, trailing blanks, a
	// line longer than 1000 octets, and an empty last line.
	body := "From: x@remote.test\r\nTo: alice@example.test\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		".\r\n..two dots\r\nGrüße aus Köln \t \r\n" + strings.Repeat("long ", 300) + "\r\n\r\n"
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<x@remote.test> BODY=8BITMIME", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	stuffed := strings.ReplaceAll("\r\n"+body, "\r\n.", "\r\n..")[2:]
	rc.send(stuffed + ".\r\n")
	id := queuedID(t, rc.wait("250 2.0.0 "))
	got := e.inbox("alice@example.test")
	if len(got) != 1 {
		t.Fatalf("INBOX has %d", len(got))
	}
	trace, rest, ok := strings.Cut(got[0].Content, "\r\nFrom: x@remote.test\r\n")
	if !ok || "From: x@remote.test\r\n"+rest != body {
		t.Fatalf("body changed:\n%q\nwant\n%q", got[0].Content, body)
	}
	if !strings.HasPrefix(trace, "Return-Path: <x@remote.test>\r\nReceived: ") || !strings.Contains(trace, "id "+id) {
		t.Fatalf("trace headers:\n%s", trace)
	}
	if got[0].Size != int64(len(got[0].Content)) {
		t.Errorf("Size %d, content %d octets", got[0].Size, len(got[0].Content))
	}
}

func TestDataOneBodyForAllLocalRecipients(t *testing.T) {
	e := newEnv(t)
	if err := send(e.mx, "x@remote.test", []string{"alice@example.test", "bob@example.test", "sales@example.test"}, testMessage("shared")); err != nil {
		t.Fatal(err)
	}
	a, b := e.inbox("alice@example.test"), e.inbox("bob@example.test")
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("alice %d, bob %d (sales@ must not add copies)", len(a), len(b))
	}
	if a[0].BlobID != b[0].BlobID {
		t.Fatalf("blobs %s and %s: the body was stored twice", a[0].BlobID, b[0].BlobID)
	}
	if a[0].Content != b[0].Content {
		t.Fatalf("the copies differ")
	}
}

func TestDataSizeLimit(t *testing.T) {
	e := newEnv(t) // 1 MiB
	const max = 1 << 20
	head := "From: x@remote.test\r\nSubject: big\r\n\r\n"
	line := strings.Repeat("x", 98) + "\r\n"
	exact := head + strings.Repeat(line, (max-len(head))/len(line))
	exact += strings.Repeat("y", max-len(exact)-2) + "\r\n"
	if len(exact) != max {
		t.Fatalf("built %d octets", len(exact))
	}
	rc := openData(t, e)
	rc.send(exact + ".\r\n")
	rc.wait("250 2.0.0 ")
	e.expectCounts(1, 0)

	// One octet more: 552 5.3.4, nothing stored, the session goes on.
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	rc.send("z" + exact + ".\r\n")
	rc.wait("552 5.3.4 ")
	rc.expect("NOOP", "250 ")
	e.expectCounts(1, 0)

	// RFC 1870 §6.1: a declared SIZE over the limit is refused at MAIL.
	rc.expect(fmt.Sprintf("MAIL FROM:<x@remote.test> SIZE=%d", max+1), "552 5.3.4 ")
	rc.expect(fmt.Sprintf("MAIL FROM:<x@remote.test> SIZE=%d", max), "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	// BDAT: a chunk that would pass the limit is refused and discarded.
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n", max+1) + "z" + exact)
	rc.wait("552 5.3.4 ")
	rc.expect("NOOP", "250 ")
	e.expectCounts(1, 0)
}

// TestDataSmuggling sends each SMTP smuggling variant: a sequence that
// some parser might take for the end of data, followed by a second,
// smuggled transaction to bob, then the real end of data. The message is
// refused whole, the smuggled commands are never executed, and nothing at
// all is stored.
func TestDataSmuggling(t *testing.T) {
	smuggled := "MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n" +
		"From: admin@example.test\r\nSubject: smuggled\r\n\r\nPay this invoice.\r\n"
	variants := []struct {
		name, end, want string
	}{
		{`\n.\n`, "\n.\n", "554 5.5.2 "},
		{`\n.\r\n`, "\n.\r\n", "554 5.5.2 "},
		{`\r.\r\n`, "\r.\r\n", "554 5.5.2 "},
		{`\r\n.\r`, "\r\n.\r", "554 5.5.2 "},
		{`\r\n.\n`, "\r\n.\n", "554 5.5.2 "},
		{`\r\r\n.\r`, "\r\r\n.\r", "554 5.5.2 "},
		{`NUL before the dot`, "\r\n\x00.\r\n", "554 5.6.0 "},
		{`\r\n\x00.\n`, "\r\n\x00.\n", "554 5.6.0 "},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			e := newEnv(t)
			rc := openData(t, e)
			rc.send("From: x@remote.test\r\nSubject: innocent\r\n\r\nHello." + v.end + smuggled + "\r\n.\r\n")
			rc.wait(v.want)
			// The next reply answers our NOOP: no reply for a smuggled
			// command is pending.
			rc.expect("NOOP", "250 2.0.0 I have successfully done nothing")
			rc.expect("QUIT", "221 ")
			e.nothingStored()
		})
	}
	// The same over BDAT: the chunk is taken as it is, and refused.
	t.Run("BDAT", func(t *testing.T) {
		e := newEnv(t)
		rc := dialRaw(t, e.mx)
		rc.ehlo()
		rc.expect("MAIL FROM:<x@remote.test>", "250 ")
		rc.expect("RCPT TO:<alice@example.test>", "250 ")
		chunk := "From: x@remote.test\r\n\r\nHello.\n.\n" + smuggled
		rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk))
		rc.wait("554 5.5.2 ")
		rc.expect("NOOP", "250 ")
		e.nothingStored()
	})
}

func TestDataBareLineEndings(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"bare LF in header", "Subject: a\nFrom: b\r\n\r\nx\r\n", "554 5.5.2 "},
		{"bare CR in body", "Subject: a\r\n\r\nx\ry\r\n", "554 5.5.2 "},
		{"CR at the very end", "Subject: a\r\n\r\nx\r\n\r", "554 5.5.2 "},
		{"NUL in body", "Subject: a\r\n\r\nx\x00y\r\n", "554 5.6.0 "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rc := openData(t, e)
			rc.send(tt.body + "\r\n.\r\n")
			rc.wait(tt.want)
			e.nothingStored()
		})
	}
}

func TestDataMaxRecipients(t *testing.T) {
	e := newEnv(t) // 5 recipients
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	for _, r := range []string{"alice", "bob", "sales", "alice+1", "bob+2"} {
		rc.expect("RCPT TO:<"+r+"@example.test>", "250 ")
	}
	rc.expect("RCPT TO:<alice+3@example.test>", "452 4.5.3 ")
	rc.expect("DATA", "354 ")
	rc.send(testMessage("five") + ".\r\n")
	rc.wait("250 ")
	// The five accepted recipients lead to two accounts: one copy each.
	e.expectCounts(2, 0)
}

func TestDataLoopDetection(t *testing.T) {
	e := newEnv(t)
	received := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "Received: from hop%d.remote.test by hop%d.remote.test; Sat, 09 Mar 2024 17:04:05 +0100\r\n", i, i+1)
		}
		return b.String()
	}
	rc := openData(t, e)
	rc.send(received(50) + testMessage("fifty hops") + ".\r\n")
	rc.wait("250 ")
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	rc.send(received(51) + testMessage("looping") + ".\r\n")
	rc.wait("554 5.4.6 ")
	e.expectCounts(1, 0)
}

func TestBDAT(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<bob@example.test>", "250 ")
	// A chunk boundary between the CR and LF of one line ending, and a
	// line that starts with a dot (no dot-stuffing with BDAT, RFC 3030).
	c1 := "From: x@remote.test\r\nSubject: chunks\r\n\r\nfirst\r"
	c2 := "\n.second\r\n"
	rc.send(fmt.Sprintf("BDAT %d\r\n%s", len(c1), c1))
	rc.wait("250 ")
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(c2), c2))
	rc.wait("250 2.0.0 OK, queued as ")
	got := e.inbox("bob@example.test")
	if len(got) != 1 || !strings.HasSuffix(got[0].Content, "\r\n"+c1+c2) {
		t.Fatalf("stored %+v", got)
	}
	// A bare LF in the last chunk refuses the whole message.
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<bob@example.test>", "250 ")
	rc.send(fmt.Sprintf("BDAT %d\r\n%s", len(c1), c1))
	rc.wait("250 ")
	bad := "\nbare\nLF\r\n"
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(bad), bad))
	rc.wait("554 5.5.2 ")
	// RSET in the middle of BDAT drops the message.
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<bob@example.test>", "250 ")
	rc.send(fmt.Sprintf("BDAT %d\r\n%s", len(c1), c1))
	rc.wait("250 ")
	rc.expect("RSET", "250 ")
	rc.expect("BDAT 0 LAST", "503 ")
	e.expectCounts(1, 0)
}
