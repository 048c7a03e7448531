package interop

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"posthorn/internal/store"
)

// mailCLI runs the posthorn binary's user agent (`posthorn mail`) for one
// account against one server; conn are the connection flags.
type mailCLI struct {
	bin  string
	conn []string
	env  []string
}

// newMailCLI points `posthorn mail` at a server as user; extra flags
// (--insecure) and environment (SSL_CERT_FILE) come with it.
func newMailCLI(t *testing.T, smtpAddr, imapAddr, user string, flags []string, env ...string) mailCLI {
	t.Helper()
	conn := append([]string{"--server", "127.0.0.1", "--smtp-port", port(smtpAddr), "--imap-port", port(imapAddr), "--user", user}, flags...)
	// No settings file of the person running the tests: a fresh config dir.
	env = append(env, "POSTHORN_PASSWORD="+password, "XDG_CONFIG_HOME="+t.TempDir(), "VISUAL=", "EDITOR=")
	return mailCLI{bin: posthornBinary(t), conn: conn, env: env}
}

// run runs one command and wants exit status 0.
func (m mailCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	return toolRun{Env: m.env}.ok(t, m.bin, append(append([]string{"mail"}, m.conn...), args...)...)
}

// listingID returns the ID of the one listing line that contains text,
// and that line.
func listingID(t *testing.T, listing, text string) (string, string) {
	t.Helper()
	var hits []string
	for _, line := range strings.Split(listing, "\n") {
		if strings.Contains(line, text) {
			hits = append(hits, line)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("%d lines with %q in\n%s", len(hits), text, listing)
	}
	return strings.Fields(hits[0])[0], hits[0]
}

// TestMailCLIPosthorn drives the built `posthorn mail` against Posthorn
// (submission and IMAP, STARTTLS, --insecure as a user of a self-signed
// server would) and checks every step in the store.
func TestMailCLIPosthorn(t *testing.T) {
	s := startPosthorn(t)
	a := newMailCLI(t, s.Addr("submission"), s.Addr("imap"), alice, []string{"--insecure"})
	b := newMailCLI(t, s.Addr("submission"), s.Addr("imap"), bob, []string{"--insecure"})
	text := "Hallo Bob,\nGrüße vom Kommandozeilen-Client.\n"
	out := a.run(t, "send", "--to", bob, "-s", "cli Grüße", "--body", text)
	if !regexp.MustCompile(`^sent <[^>]+> to ` + bob + `\ncopy saved in Sent\n$`).MatchString(out) {
		t.Errorf("send said %q", out)
	}
	// What bob got is the copy in alice's Sent, byte for byte, below
	// Posthorn's trace fields.
	got, sent := inbox(t, s, bob), mailbox(t, s, alice, "Sent")
	if len(got) != 1 || len(sent) != 1 {
		t.Fatalf("bob's INBOX has %d, alice's Sent %d messages; want 1 and 1", len(got), len(sent))
	}
	if trace := checkArrived(t, got[0].Data, sent[0].Data); !strings.Contains(trace, "with ESMTPSA") {
		t.Errorf("trace fields:\n%s", trace)
	}
	if sent[0].Flags&store.FlagSeen == 0 {
		t.Errorf("the Sent copy is not \\Seen: %v", sent[0].Flags)
	}

	id, line := listingID(t, b.run(t, "list"), "cli Grüße")
	if id != strconv.FormatUint(uint64(got[0].UID), 10) || !regexp.MustCompile(`^\d+\s+N\s`).MatchString(line) {
		t.Errorf("list line %q: want ID %d, unseen", line, got[0].UID)
	}
	if hit, _ := listingID(t, b.run(t, "search", "subject:Grüße", "Kommandozeilen-Client"), "cli Grüße"); hit != id {
		t.Errorf("search found ID %s, want %s", hit, id)
	}
	if none := b.run(t, "search", "subject:nonexistent"); strings.Count(none, "\n") != 1 {
		t.Errorf("search for nothing listed:\n%s", none)
	}
	read := b.run(t, "read", id)
	for _, want := range []string{"Subject: cli Grüße", "From: " + alice, "To: " + bob, "\n" + text} {
		if !strings.Contains(read, want) {
			t.Errorf("read lacks %q:\n%s", want, read)
		}
	}
	b.run(t, "flag", id)
	if f := inbox(t, s, bob)[0].Flags; f != store.FlagSeen|store.FlagFlagged {
		t.Errorf("after read and flag the store has flags %v, want \\Seen \\Flagged", f)
	}
	b.run(t, "move", id, "Archive")
	if n, archived := len(inbox(t, s, bob)), mailbox(t, s, bob, "Archive"); n != 0 || len(archived) != 1 || archived[0].Data != got[0].Data ||
		archived[0].Flags != store.FlagSeen|store.FlagFlagged {
		t.Fatalf("after move: INBOX %d, Archive %d messages (flags kept: %v)", n, len(archived), archived)
	}
	folders := b.run(t, "folders")
	for _, want := range []string{`(?m)^INBOX\s+0\s+0$`, `(?m)^Archive\s+archive\s+1\s+0$`} {
		if !regexp.MustCompile(want).MatchString(folders) {
			t.Errorf("folders lack %s:\n%s", want, folders)
		}
	}
}

// TestMailCLIPeer drives the built `posthorn mail` against the classic
// system: submission through Postfix (STARTTLS, SASL by Dovecot), IMAP on
// Dovecot, the certificate verified against the suite's authority
// (SSL_CERT_FILE, no --insecure). One message goes to a peer user and to
// alice at Posthorn, which Postfix relays there.
func TestMailCLIPeer(t *testing.T) {
	p := startPeer(t)
	s := startPosthornForPeer(t, p)
	ca := "SSL_CERT_FILE=" + testPKI(t).CAFile
	a := newMailCLI(t, p.Submission, p.IMAP, peerAlice, nil, ca)
	b := newMailCLI(t, p.Submission, p.IMAP, peerBob, nil, ca)
	beforeBob, beforeSent := len(p.maildir(t, peerBob, "")), len(p.maildir(t, peerAlice, "Sent"))
	beforeAlice := len(inbox(t, s, alice))
	text := "Hello from posthorn mail through Postfix.\nZweite Zeile: Grüße.\n"
	out := a.run(t, "send", "--to", peerBob, "--to", alice, "-s", "cli via Postfix", "--body", text)
	if !strings.Contains(out, "to "+peerBob+", "+alice+"\n") || !strings.Contains(out, "copy saved in Sent") {
		t.Errorf("send said %q", out)
	}

	// Dovecot has the Sent copy; bob@peer.test got the same message, alice
	// at Posthorn too (by way of Postfix's relay), byte for byte below the
	// trace fields.
	sentFiles := p.maildir(t, peerAlice, "Sent")
	if len(sentFiles) != beforeSent+1 {
		t.Fatalf("alice@peer.test's Sent has %d messages, want %d", len(sentFiles), beforeSent+1)
	}
	sentCopy := bySubject(t, sentFiles, "cli via Postfix").Data
	bobFile := bySubject(t, p.waitMaildir(t, peerBob, beforeBob+1), "cli via Postfix")
	checkArrived(t, bobFile.Data, sentCopy)
	atPosthorn := waitInbox(t, s, alice, beforeAlice+1)[beforeAlice]
	if trace := checkArrived(t, lf(atPosthorn.Data), sentCopy); !strings.Contains(trace, "by mail.peer.test (Postfix) with ESMTPSA") {
		t.Errorf("trace at Posthorn:\n%s", trace)
	}

	id, line := listingID(t, b.run(t, "list"), "cli via Postfix")
	if !regexp.MustCompile(`^\d+\s+N\s`).MatchString(line) {
		t.Errorf("list line %q: want unseen", line)
	}
	if hit, _ := listingID(t, b.run(t, "search", "subject:Postfix"), "cli via Postfix"); hit != id {
		t.Errorf("search found ID %s, want %s", hit, id)
	}
	read := b.run(t, "read", id)
	if !strings.Contains(read, "Subject: cli via Postfix") || !strings.Contains(read, "\n"+text) {
		t.Errorf("read:\n%s", read)
	}
	b.run(t, "flag", id)
	// Dovecot keeps the flags in the Maildir file name: seen (read) and
	// flagged.
	if f := bySubject(t, p.maildir(t, peerBob, ""), "cli via Postfix").Flags; f != "FS" {
		t.Errorf("Maildir flags %q after read and flag, want FS", f)
	}
}
