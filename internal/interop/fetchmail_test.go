package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posthorn/internal/store"
)

// fetchmail polls one server once with the given poll options and hands
// every message to an MDA that writes it to a file of its own in out; it
// returns the files' contents and fetchmail's transcript.
func fetchmail(t *testing.T, out, poll string) ([]string, string) {
	t.Helper()
	dir := t.TempDir()
	// The MDA is a shell: one file per message, named by the shell's pid.
	rc := writeFile(t, dir, "fetchmailrc", "set no syslog\nset no bouncemail\n"+poll+
		"\n  mda \"/bin/sh -c 'cat > "+out+"/msg.$$'\"\n", 0o600)
	transcript := toolRun{}.ok(t, "fetchmail", "--fetchmailrc", rc, "--idfile", filepath.Join(dir, "ids"),
		"--pidfile", filepath.Join(dir, "pid"), "--nosyslog", "--verbose")
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, string(b))
	}
	return files, transcript
}

// withoutFetchmailTrace removes the Received field fetchmail inserts
// (after the Return-Path field it moves to the top) and fails if there is
// none.
func withoutFetchmailTrace(t *testing.T, f string) string {
	t.Helper()
	const start = "Received: from 127.0.0.1 [127.0.0.1]\n"
	i := strings.Index(f, start)
	if i < 0 || strings.Contains(f[:i], "\n\n") {
		t.Fatalf("no Received field of fetchmail in the header:\n%s", f)
	}
	j := i + len(start)
	for j < len(f) && f[j] == '\t' {
		j += strings.IndexByte(f[j:], '\n') + 1
	}
	return f[:i] + f[j:]
}

// TestFetchmail retrieves bob's mail with fetchmail over POP3 (STARTTLS)
// and over IMAP (implicit TLS) into local files, keeping it on the server,
// and compares what arrived with the store.
func TestFetchmail(t *testing.T) {
	need(t, "fetchmail")
	s := startPosthorn(t)
	var sent []string
	for _, subj := range []string{"fetchmail one", "fetchmail two", "fetchmail three"} {
		msg := testMessage("sender@remote.example", bob, subj)
		smtpSend(t, s.Addr("smtp"), "", "sender@remote.example", []string{bob}, msg)
		sent = append(sent, msg)
	}
	msgs := inbox(t, s, bob)
	ca := testPKI(t).CAFile
	// Verified TLS: fetchmail matches the certificate against the name
	// given here (its host check does not take IP addresses).
	tlsOpts := ` sslcertck sslcertfile "` + ca + `" sslcommonname "localhost"`
	user := ` user "` + bob + `" there with password "` + password + `" keep fetchall`

	check := func(t *testing.T, files []string) {
		t.Helper()
		if len(files) != len(msgs) {
			t.Fatalf("fetchmail delivered %d messages, the server has %d", len(files), len(msgs))
		}
		// Each message is there once, exactly as the server has it with LF
		// line ends, once the trace field fetchmail adds is taken out.
		for _, m := range msgs {
			n := 0
			for _, f := range files {
				if withoutFetchmailTrace(t, f) == lf(m.Data) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d delivered files are the server's message %q", n, subjectOf(m.Data))
			}
		}
	}

	t.Run("POP3STARTTLS", func(t *testing.T) {
		out := t.TempDir()
		files, transcript := fetchmail(t, out, `poll 127.0.0.1 service `+port(s.Addr("pop3"))+` protocol POP3 timeout 30`+
			user+` sslproto "tls1.2+"`+tlsOpts)
		if !strings.Contains(transcript, "POP3> STLS") || !strings.Contains(transcript, "upgrade to TLS succeeded") {
			t.Errorf("no STARTTLS in the transcript:\n%s", transcript)
		}
		check(t, files)
		// keep: nothing was deleted.
		if n := len(inbox(t, s, bob)); n != len(msgs) {
			t.Errorf("bob's INBOX has %d messages after fetchmail, want %d", n, len(msgs))
		}
	})
	t.Run("IMAPImplicitTLS", func(t *testing.T) {
		out := t.TempDir()
		files, transcript := fetchmail(t, out, `poll 127.0.0.1 service `+port(s.Addr("imaps"))+` protocol IMAP timeout 30`+
			user+` ssl`+tlsOpts)
		if !strings.Contains(transcript, "SSL/TLS: using protocol TLS") {
			t.Errorf("no TLS in the transcript:\n%s", transcript)
		}
		check(t, files)
		// keep: still there, and now seen (fetchmail's IMAP fetch marks
		// what it retrieved).
		after := inbox(t, s, bob)
		if len(after) != len(msgs) {
			t.Fatalf("bob's INBOX has %d messages after fetchmail, want %d", len(after), len(msgs))
		}
		for _, m := range after {
			if m.Flags&store.FlagSeen == 0 {
				t.Errorf("%q is not \\Seen after the IMAP fetch", subjectOf(m.Data))
			}
		}
	})
	for i, m := range msgs {
		checkArrived(t, m.Data, sent[i])
	}
}
