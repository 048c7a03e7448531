package smtpd

import (
	"crypto/tls"
	"strings"
	"testing"
)

// The extensions every listener advertises (issue 3, item 1).
var baseCaps = []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN"}

func checkCaps(t *testing.T, what string, caps map[string]string, want, notWant []string) {
	t.Helper()
	for _, c := range want {
		if _, ok := caps[c]; !ok {
			t.Errorf("%s: %s not advertised (have %v)", what, c, caps)
		}
	}
	for _, c := range notWant {
		if _, ok := caps[c]; ok {
			t.Errorf("%s: %s advertised", what, c)
		}
	}
}

func TestEHLOMX(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	caps := rc.ehlo()
	checkCaps(t, "MX", caps, append(baseCaps, "STARTTLS"), []string{"AUTH"})
	if caps["SIZE"] != "1048576" {
		t.Errorf("SIZE %q, want the delivery limit 1048576", caps["SIZE"])
	}
	rc.startTLS(clientTLS())
	caps = rc.ehlo()
	checkCaps(t, "MX after STARTTLS", caps, baseCaps, []string{"STARTTLS", "AUTH"})
	// The MX has no AUTH at all.
	if got := rc.cmd("AUTH PLAIN " + plain("alice@example.test", password)); strings.HasPrefix(got, "235") {
		t.Fatalf("AUTH on the MX: %q", got)
	}
}

func TestEHLOSubmissionLoopbackPlaintext(t *testing.T) {
	// allow_plaintext_on_loopback: AUTH before TLS from 127.0.0.1.
	e := newEnv(t)
	rc := dialRaw(t, e.sub)
	caps := rc.ehlo()
	checkCaps(t, "submission", caps, append(baseCaps, "STARTTLS", "AUTH"), nil)
	if caps["AUTH"] != "PLAIN LOGIN" {
		t.Errorf("AUTH %q, want PLAIN LOGIN", caps["AUTH"])
	}
	rc.expect("AUTH PLAIN "+plain("alice@example.test", password), "235 2.0.0 ")
}

func TestEHLOSubmissionAuthOnlyAfterTLS(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.AllowPlaintextOnLoopback = false }))
	rc := dialRaw(t, e.sub)
	checkCaps(t, "submission before TLS", rc.ehlo(), append(baseCaps, "STARTTLS"), []string{"AUTH"})
	// RFC 4954 §6: the mechanism needs an encrypted channel.
	rc.expect("AUTH PLAIN "+plain("alice@example.test", password), "538 5.7.11 ")
	rc.expect("MAIL FROM:<alice@example.test>", "530 5.7.0 ")
	rc.startTLS(clientTLS())
	caps := rc.ehlo()
	checkCaps(t, "submission after TLS", caps, append(baseCaps, "AUTH"), []string{"STARTTLS"})
	rc.expect("AUTH PLAIN "+plain("alice@example.test", password), "235 2.0.0 ")
	rc.expect("MAIL FROM:<alice@example.test>", "250 ")
}

func TestEHLOSubmissionsImplicitTLS(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.AllowPlaintextOnLoopback = false }))
	c, err := tls.Dial("tcp", e.subs, clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := wrapRaw(t, c)
	caps := rc.ehlo()
	checkCaps(t, "submissions", caps, append(baseCaps, "AUTH"), []string{"STARTTLS"})
	rc.expect("STARTTLS", "503 5.5.1 ")
	rc.expect("AUTH PLAIN "+plain("bob@example.test", password), "235 2.0.0 ")
}

func TestEHLONoCertificateNoSTARTTLS(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) {
		if !o.ImplicitTLS {
			o.TLS = nil
		}
	}))
	rc := dialRaw(t, e.mx)
	checkCaps(t, "MX without certificate", rc.ehlo(), baseCaps, []string{"STARTTLS"})
	rc.expect("STARTTLS", "502 5.5.1 ")
}

func TestHELOIsPlainSMTP(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.expect("HELO client.example.test", "250 ")
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	rc.send(testMessage("helo") + ".\r\n")
	if got := rc.reply(); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("DATA: %q", got)
	}
	got := e.inbox("alice@example.test")
	// RFC 3848: a HELO session is "with SMTP", not ESMTP.
	if len(got) != 1 || !strings.Contains(got[0].Content, " with SMTP ") {
		t.Fatalf("stored:\n%s", got[0].Content)
	}
}

func TestTLSSessionTicketsDisabled(t *testing.T) {
	// A server config that would issue tickets gets them turned off.
	e := newEnv(t, withSMTPD(func(o *Options) {
		c := o.TLS.Clone()
		c.SessionTicketsDisabled = false
		o.TLS = c
	}))
	conf := clientTLS()
	conf.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	for i := range 2 {
		c, err := tls.Dial("tcp", e.subs, conf)
		if err != nil {
			t.Fatal(err)
		}
		rc := wrapRaw(t, c)
		rc.expect("QUIT", "221 ")
		if c.ConnectionState().DidResume {
			t.Fatalf("connection %d resumed a TLS session", i+1)
		}
		c.Close()
	}
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.startTLS(conf)
	if rc.c.(*tls.Conn).ConnectionState().DidResume {
		t.Fatalf("STARTTLS resumed a TLS session")
	}
}
