package interop

import (
	"strings"
	"testing"

	"posthorn/internal/config"
	"posthorn/internal/servertest"
)

// startPosthornForPeer boots Posthorn with its MX where the peer's Postfix
// relays example.test, and its queue routing peer.test to Postfix's smtpd.
func startPosthornForPeer(t *testing.T, p *peer) *servertest.Server {
	t.Helper()
	return startPosthorn(t, servertest.WithConfig(func(c *config.Config) {
		c.Listen.SMTP = p.PosthornMX
		c.Queue.Routes = []config.Route{{Domain: peerDomain, Host: p.SMTP}}
	}))
}

// TestPostfix runs Postfix as a real peer MTA both ways: Posthorn's queue
// delivers to Postfix (which stores into Dovecot over LMTP), and Postfix
// relays to Posthorn's MX.
func TestPostfix(t *testing.T) {
	p := startPeer(t)
	s := startPosthornForPeer(t, p)

	t.Run("PosthornToPostfix", func(t *testing.T) {
		before := len(p.maildir(t, peerBob, ""))
		msg := testMessage(alice, peerBob, "posthorn to postfix")
		smtpSend(t, s.Addr("submission"), alice, alice, []string{peerBob}, msg)
		got := p.waitMaildir(t, peerBob, before+1)
		// Dovecot stores LF line ends; above the message only trace fields:
		// Dovecot's, Postfix's (it took the message from Posthorn's queue
		// over TLS), then Posthorn's (from the authenticated submission).
		trace := checkArrived(t, bySubject(t, got, "posthorn to postfix").Data, lf(msg))
		for _, want := range []string{"Return-Path: <" + alice + ">", "Delivered-To: " + peerBob,
			"Received: from mx.example.test (", "by mail.peer.test (Postfix) with ESMTPS",
			"by mx.example.test (Posthorn) with ESMTPSA"} {
			if !strings.Contains(trace, want) {
				t.Errorf("trace lacks %q:\n%s", want, trace)
			}
		}
		waitQueueEmpty(t, s)
	})

	t.Run("PostfixToPosthorn", func(t *testing.T) {
		before := len(inbox(t, s, alice))
		msg := testMessage(peerBob, alice, "postfix to posthorn")
		// Into Postfix's smtpd from loopback (mynetworks may relay);
		// Postfix's transport for example.test is Posthorn's MX.
		smtpSend(t, p.SMTP, "", peerBob, []string{alice}, msg)
		got := waitInbox(t, s, alice, before+1)
		trace := checkArrived(t, got[before].Data, msg)
		for _, want := range []string{"Return-Path: <" + peerBob + ">", "Received: from mail.peer.test (",
			"by mx.example.test (Posthorn) with ESMTPS", "by mail.peer.test (Postfix) with ESMTP"} {
			if !strings.Contains(trace, want) {
				t.Errorf("trace lacks %q:\n%s", want, trace)
			}
		}
		if !p.grepLog("to=<"+alice+">", "relay=127.0.0.1[127.0.0.1]:"+port(p.PosthornMX), "status=sent") {
			t.Errorf("Postfix's log has no status=sent for %s\n%s", alice, p.logs())
		}
	})

	t.Run("UnknownUserBounces", func(t *testing.T) {
		// Postfix refuses an unknown peer.test user at RCPT; Posthorn's
		// queue fails the recipient and sends alice a DSN.
		before := len(inbox(t, s, alice))
		msg := testMessage(alice, "nobody@"+peerDomain, "to nobody at the peer")
		smtpSend(t, s.Addr("submission"), alice, alice, []string{"nobody@" + peerDomain}, msg)
		got := waitInbox(t, s, alice, before+1)
		dsn := got[before].Data
		for _, want := range []string{"Content-Type: multipart/report", "report-type=delivery-status",
			"Final-Recipient: rfc822; nobody@" + peerDomain, "Action: failed", "Status: 5.1.1", "Subject: to nobody at the peer"} {
			if !strings.Contains(dsn, want) {
				t.Errorf("DSN lacks %q:\n%s", want, dsn)
			}
		}
		waitQueueEmpty(t, s)
	})
}
