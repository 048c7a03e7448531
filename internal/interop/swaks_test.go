package interop

import (
	"strings"
	"testing"

	"posthorn/internal/servertest"
)

// swaks runs swaks against Posthorn with the message in a file as its
// DATA, returning the transcript and exit status. swaks stuffs leading
// dots and always appends CRLF and the closing dot itself, unless the data
// already ends in one: the file ends in ".\r\n" so that exactly msg is sent.
func swaks(t *testing.T, msg string, args ...string) (string, int) {
	t.Helper()
	need(t, "swaks")
	data := writeFile(t, t.TempDir(), "data.eml", msg+".\r\n", 0o644)
	base := []string{"--server", "127.0.0.1", "--helo", "client.example.test", "--data", "@" + data, "--timeout", "30"}
	return toolRun{}.run(t, "swaks", append(base, args...)...)
}

// swaksTLS are the options of a verified STARTTLS session.
func swaksTLS(t *testing.T) []string {
	return []string{"--tls", "--tls-verify", "--tls-ca-path", testPKI(t).CAFile}
}

// TestSwaks drives swaks against the MX and the submission listener.
func TestSwaks(t *testing.T) {
	need(t, "swaks")
	s := startPosthorn(t)

	t.Run("MXDelivery", func(t *testing.T) {
		msg := testMessage("sender@remote.example", alice, "swaks mx")
		out, code := swaks(t, msg, "--port", port(s.Addr("smtp")), "--from", "sender@remote.example", "--to", alice)
		if code != 0 {
			t.Fatalf("swaks: exit %d\n%s", code, out)
		}
		got := inbox(t, s, alice)
		if len(got) != 1 {
			t.Fatalf("alice has %d messages, want 1", len(got))
		}
		trace := checkArrived(t, got[0].Data, msg)
		if !strings.Contains(trace, "Return-Path: <sender@remote.example>") ||
			!strings.Contains(trace, "Received: from client.example.test") || !strings.Contains(trace, " with ESMTP") {
			t.Errorf("trace fields:\n%s", trace)
		}
	})

	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run("SubmissionSTARTTLS"+mech, func(t *testing.T) {
			before := len(inbox(t, s, bob))
			msg := testMessage(alice, bob, "swaks submission "+mech)
			args := append(swaksTLS(t), "--port", port(s.Addr("submission")), "--auth", mech,
				"--auth-user", alice, "--auth-password", password, "--from", alice, "--to", bob)
			out, code := swaks(t, msg, args...)
			if code != 0 {
				t.Fatalf("swaks: exit %d\n%s", code, out)
			}
			// The transcript shows the TLS session and the mechanism used.
			if !strings.Contains(out, "STARTTLS") || !strings.Contains(out, "~> AUTH "+mech) || !strings.Contains(out, "<~  235 ") {
				t.Errorf("transcript lacks STARTTLS, AUTH %s or 235:\n%s", mech, out)
			}
			got := inbox(t, s, bob)
			if len(got) != before+1 {
				t.Fatalf("bob has %d messages, want %d", len(got), before+1)
			}
			trace := checkArrived(t, got[before].Data, msg)
			if !strings.Contains(trace, " with ESMTPSA") {
				t.Errorf("not marked as authenticated over TLS:\n%s", trace)
			}
		})
	}

	t.Run("WrongPassword", func(t *testing.T) {
		args := append(swaksTLS(t), "--port", port(s.Addr("submission")), "--auth", "PLAIN",
			"--auth-user", alice, "--auth-password", "wrong", "--from", alice, "--to", bob)
		out, code := swaks(t, testMessage(alice, bob, "never sent"), args...)
		if code != 28 || !strings.Contains(out, "<~* 535 ") {
			t.Fatalf("want exit 28 (AUTH failed) after a 535; exit %d\n%s", code, out)
		}
	})

	t.Run("8BITMIME", func(t *testing.T) {
		// ISO-8859-1 bytes that are not UTF-8: the data must pass untouched.
		msg := "From: <sender@remote.example>\r\nTo: <" + alice + ">\r\nSubject: 8bit latin-1\r\n" +
			"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <8bit.swaks@interop.test>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
			"Gr\xfc\xdfe, K\xe4se und \xd6l\r\n\xff\xfe\x80 raw octets\r\n"
		before := len(inbox(t, s, alice))
		out, code := swaks(t, msg, "--port", port(s.Addr("smtp")), "--from", "sender@remote.example", "--to", alice)
		if code != 0 {
			t.Fatalf("swaks: exit %d\n%s", code, out)
		}
		if !strings.Contains(out, "<-  250-8BITMIME") && !strings.Contains(out, "<-  250 8BITMIME") {
			t.Errorf("EHLO reply does not offer 8BITMIME:\n%s", out)
		}
		got := inbox(t, s, alice)
		if len(got) != before+1 {
			t.Fatalf("alice has %d messages, want %d", len(got), before+1)
		}
		checkArrived(t, got[before].Data, msg)
	})
	t.Run("RelayRefused", func(t *testing.T) { swaksRelayRefused(t, s) })
}

// swaksRelayRefused tries to relay without AUTH, to a domain that is not
// local, on the MX and on submission: both refuse, nothing is queued.
func swaksRelayRefused(t *testing.T, s *servertest.Server) {
	t.Helper()
	// Unauthenticated, on the MX, to a domain that is not local.
	msg := testMessage("sender@remote.example", "victim@elsewhere.example", "relay attempt")
	out, code := swaks(t, msg, "--port", port(s.Addr("smtp")), "--from", "sender@remote.example", "--to", "victim@elsewhere.example")
	if code != 24 || !strings.Contains(out, "<** 5") || !strings.Contains(out, "5.7.1") {
		t.Fatalf("want exit 24 (no RCPT accepted) after a 5xx 5.7.1; exit %d\n%s", code, out)
	}
	// Unauthenticated on submission: refused as well.
	out, code = swaks(t, msg, append(swaksTLS(t), "--port", port(s.Addr("submission")),
		"--from", alice, "--to", "victim@elsewhere.example")...)
	if code == 0 || !strings.Contains(out, "<~* 5") {
		t.Fatalf("submission without AUTH took the message; exit %d\n%s", code, out)
	}
	queueEmpty(t, s)
}
