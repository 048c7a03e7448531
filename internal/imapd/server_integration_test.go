package imapd_test

import (
	"bufio"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"posthorn/internal/servertest"
)

// The whole server (servertest): a message delivered by SMTP reaches an
// IMAP session in IDLE through the store's change feed.

func TestSMTPDeliveryReachesIdle(t *testing.T) {
	s := servertest.Start(t)
	c, err := net.DialTimeout("tcp", s.Addr("imap"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	read := func() string {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	read()
	c.Write([]byte("a LOGIN alice@example.test password\r\nb SELECT INBOX\r\nc IDLE\r\n"))
	for l := read(); l != "+ idling"; l = read() {
		if strings.HasPrefix(l, "a NO") || strings.HasPrefix(l, "b NO") {
			t.Fatal(l)
		}
	}
	msg := "From: carol@example.org\r\nTo: alice@example.test\r\nSubject: ping\r\n\r\nping\r\n"
	sc, err := smtp.Dial(s.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Mail("carol@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := sc.Rcpt("alice@example.test"); err != nil {
		t.Fatal(err)
	}
	w, err := sc.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg))
	if err := w.Close(); err != nil { // returns after the 250
		t.Fatal(err)
	}
	sent := time.Now()
	for l := read(); l != "* 1 EXISTS"; l = read() {
	}
	t.Logf("EXISTS arrived %v after the SMTP 250", time.Since(sent))
	c.Write([]byte("DONE\r\nd FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n"))
	for l := read(); !strings.HasPrefix(l, "d "); l = read() {
		if strings.Contains(l, "FETCH") && !strings.Contains(l, "SUBJECT") {
			t.Errorf("%q", l)
		}
	}
}
