package smtpd_test

import (
	"context"
	"crypto/tls"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"posthorn/internal/config"
	"posthorn/internal/server"
	"posthorn/internal/servertest"
	"posthorn/internal/smtpd"
	"posthorn/internal/store"
)

// TestDevInstanceEndToEnd is issue 3's "done when": a message sent by
// python3's smtplib to a local account of the dev instance is in that
// account's INBOX in the store, byte-exact below the trace headers. The
// whole server runs (config, store, services, every listener).
func TestDevInstanceEndToEnd(t *testing.T) {
	s := servertest.Start(t, servertest.WithConfig(func(c *config.Config) { c.Dev = true }))
	msg := "From: Tester <tester@remote.test>\r\nTo: " + server.DevAccount + "\r\nSubject: end to end\r\n" +
		"Date: Sat, 09 Mar 2024 17:04:05 +0100\r\nMessage-ID: <e2e@remote.test>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Grüße.\r\n.a line with a leading dot\r\n\r\n-- \r\nsig\r\n"
	res := smtpd.RunPython(t, s.Addr("smtp"), "plain", "tester@remote.test", []string{server.DevAccount}, msg)
	if res.Error != "" || len(res.Refused) != 0 {
		t.Fatalf("smtplib: %+v", res)
	}
	got := inbox(t, s, server.DevAccount)
	if len(got) != 1 {
		t.Fatalf("%s INBOX has %d messages", server.DevAccount, len(got))
	}
	trace, ok := strings.CutSuffix(got[0], msg)
	if !ok {
		t.Fatalf("not byte-exact below the trace headers:\n%q", got[0])
	}
	// Above the message: Return-Path, the MX's Authentication-Results and
	// Received, each a (folded) field, nothing else.
	if !strings.HasPrefix(trace, "Return-Path: <tester@remote.test>\r\nAuthentication-Results: mx.example.test;") ||
		!strings.Contains(trace, "\r\nReceived: from python.example.test ") ||
		strings.Count(trace, "\r\n") != strings.Count(trace, "\r\n\t")+3 {
		t.Fatalf("trace headers:\n%s", trace)
	}
}

// TestServerSubmissionListeners sends through both submission listeners
// of the whole server: STARTTLS on submission, implicit TLS on
// submissions, each with AUTH.
func TestServerSubmissionListeners(t *testing.T) {
	s := servertest.Start(t)
	conf := &tls.Config{InsecureSkipVerify: true}
	body := "From: alice@example.test\r\nSubject: via %s\r\n\r\nhi\r\n"
	for _, l := range []string{"submission", "submissions"} {
		var c *smtp.Client
		var err error
		if l == "submissions" {
			c, err = smtp.DialTLS(s.Addr(l), conf)
		} else {
			c, err = smtp.DialStartTLS(s.Addr(l), conf)
		}
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", servertest.Password)); err != nil {
			t.Fatalf("%s: AUTH: %v", l, err)
		}
		if err := c.SendMail("alice@example.test", []string{"bob@example.test"}, strings.NewReader(strings.Replace(body, "%s", l, 1))); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		c.Close()
	}
	got := inbox(t, s, "bob@example.test")
	if len(got) != 2 || !strings.Contains(got[0], "with ESMTPSA") || !strings.Contains(got[1], "Subject: via submissions") {
		t.Fatalf("bob's INBOX: %q", got)
	}
}

// inbox reads the INBOX of an account straight from the store.
func inbox(t *testing.T, s *servertest.Server, user string) []string {
	t.Helper()
	ctx := context.Background()
	a, err := s.Accounts.User(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Store.MailboxByName(ctx, a.ID, store.InboxName)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Store.Messages(ctx, mb.ID, store.AllUIDs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := s.Store.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(b)
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(m.Prefix)+string(body))
	}
	return out
}
