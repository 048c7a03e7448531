package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"posthorn/internal/servertest"
	"posthorn/internal/store"
)

// maildirFile is one message file of a local Maildir.
type maildirFile struct {
	Path  string
	Flags string // the letters after ":2,"
	Data  string
}

// readMaildir lists the messages of a Maildir folder (new/ and cur/).
func readMaildir(t *testing.T, dir string) []maildirFile {
	t.Helper()
	var out []maildirFile
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			p := filepath.Join(dir, sub, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			_, flags, _ := strings.Cut(e.Name(), ":2,")
			out = append(out, maildirFile{Path: p, Flags: flags, Data: string(b)})
		}
	}
	return out
}

// bySubject finds the one file whose text contains subject.
func bySubject(t *testing.T, files []maildirFile, subject string) maildirFile {
	t.Helper()
	var hit []maildirFile
	for _, f := range files {
		if strings.Contains(f.Data, "\nSubject: "+subject+"\n") {
			hit = append(hit, f)
		}
	}
	if len(hit) != 1 {
		t.Fatalf("%d local files have the subject %q", len(hit), subject)
	}
	return hit[0]
}

// storedBySubject finds the one stored message whose text contains subject.
func storedBySubject(t *testing.T, msgs []stored, subject string) stored {
	t.Helper()
	var hit []stored
	for _, m := range msgs {
		if strings.Contains(m.Data, "\r\nSubject: "+subject+"\r\n") {
			hit = append(hit, m)
		}
	}
	if len(hit) != 1 {
		t.Fatalf("%d stored messages have the subject %q", len(hit), subject)
	}
	return hit[0]
}

// setFlags renames a Maildir file to carry exactly the flag letters given
// (in cur/, as a mail reader does when it changes them).
func setFlags(t *testing.T, f maildirFile, letters string) {
	t.Helper()
	base, _, _ := strings.Cut(filepath.Base(f.Path), ":2,")
	dst := filepath.Join(filepath.Dir(filepath.Dir(f.Path)), "cur", base+":2,"+letters)
	if err := os.Rename(f.Path, dst); err != nil {
		t.Fatal(err)
	}
}

// imapAddFlag sets a flag on a message of alice's INBOX over IMAP, as
// another client would between two syncs.
func imapAddFlag(t *testing.T, s *servertest.Server, uid uint32, flag imap.Flag) {
	t.Helper()
	c, err := imapclient.DialStartTLS(s.Addr("imap"), &imapclient.Options{TLSConfig: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(alice, password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	set := imap.UIDSetNum(imap.UID(uid))
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{flag}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
}

// mbsyncConfig writes an mbsyncrc that syncs alice's INBOX both ways
// (flags, new messages; no expunges) with a local Maildir, and returns its
// path and the Maildir's root.
func mbsyncConfig(t *testing.T, s *servertest.Server) (string, string) {
	t.Helper()
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	if err := os.Mkdir(local, 0o700); err != nil {
		t.Fatal(err)
	}
	// STARTTLS, verified: mbsync trusts a certificate listed in
	// CertificateFile (it checks host names against DNS names only, so the
	// server's own certificate is given rather than the authority).
	rc := writeFile(t, dir, "mbsyncrc", `IMAPAccount posthorn
Host 127.0.0.1
Port `+port(s.Addr("imap"))+`
User `+alice+`
Pass `+password+`
SSLType STARTTLS
CertificateFile `+testPKI(t).CertFile+`
AuthMechs PLAIN
Timeout 10

IMAPStore remote
Account posthorn

MaildirStore local
Path `+local+`/
Inbox `+local+`/INBOX

Channel inbox
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge None
Sync All
SyncState *
`, 0o600)
	return rc, local
}

// TestMbsync syncs alice's INBOX both ways with a local Maildir: messages
// and flags changed on either side reach the other, byte-exact, and the
// counts agree.
func TestMbsync(t *testing.T) {
	need(t, "mbsync")
	s := startPosthorn(t)
	for _, subj := range []string{"mbsync one", "mbsync two", "mbsync three"} {
		smtpSend(t, s.Addr("smtp"), "", "sender@remote.example", []string{alice}, testMessage("sender@remote.example", alice, subj))
	}
	rc, local := mbsyncConfig(t, s)
	sync := func() { runOK(t, "mbsync", "--config", rc, "--all") }

	// First sync: the three messages come down, as the server has them.
	sync()
	files := readMaildir(t, filepath.Join(local, "INBOX"))
	server := inbox(t, s, alice)
	if len(files) != 3 {
		t.Fatalf("after the first sync the Maildir has %d messages, want 3", len(files))
	}
	for _, m := range server {
		subj := subjectOf(m.Data)
		if f := bySubject(t, files, subj); withoutTUID(f.Data, "\n") != lf(m.Data) {
			t.Errorf("%q: local copy\n%q\nserver\n%q", subj, f.Data, m.Data)
		}
	}

	// Changes on both sides: locally one message read, one flagged, one
	// new; on the server one answered (by another IMAP client), one new.
	setFlags(t, bySubject(t, files, "mbsync one"), "S")
	setFlags(t, bySubject(t, files, "mbsync two"), "F")
	newLocal := lf(testMessage(alice, alice, "mbsync local draft"))
	writeFile(t, filepath.Join(local, "INBOX", "new"), "1764100000.interop.local", newLocal, 0o600)
	imapAddFlag(t, s, storedBySubject(t, server, "mbsync three").UID, imap.FlagAnswered)
	newRemote := testMessage("sender@remote.example", alice, "mbsync four")
	smtpSend(t, s.Addr("smtp"), "", "sender@remote.example", []string{alice}, newRemote)

	sync()
	files = readMaildir(t, filepath.Join(local, "INBOX"))
	server = inbox(t, s, alice)
	if len(files) != 5 || len(server) != 5 {
		t.Fatalf("after the second sync: %d local, %d on the server; want 5 and 5", len(files), len(server))
	}
	// Server side: the local flags arrived, the local message was
	// appended byte for byte (CRLF on the wire, mbsync's X-TUID aside).
	for subj, want := range map[string]store.Flags{
		"mbsync one": store.FlagSeen, "mbsync two": store.FlagFlagged, "mbsync three": store.FlagAnswered, "mbsync four": 0,
	} {
		if got := storedBySubject(t, server, subj).Flags; got != want {
			t.Errorf("%q on the server: flags %v, want %v", subj, got, want)
		}
	}
	if got := storedBySubject(t, server, "mbsync local draft").Data; withoutTUID(got, "\r\n") != strings.ReplaceAll(newLocal, "\n", "\r\n") {
		t.Errorf("appended message on the server:\n%q\nlocal file\n%q", got, newLocal)
	}
	// Local side: the server's flag and the server's new message arrived.
	for subj, want := range map[string]string{"mbsync one": "S", "mbsync two": "F", "mbsync three": "R", "mbsync four": ""} {
		if got := bySubject(t, files, subj).Flags; got != want {
			t.Errorf("%q in the Maildir: flags %q, want %q", subj, got, want)
		}
	}
	four := storedBySubject(t, server, "mbsync four")
	checkArrived(t, four.Data, newRemote)
	if got := withoutTUID(bySubject(t, files, "mbsync four").Data, "\n"); got != lf(four.Data) {
		t.Errorf("new server message, local copy:\n%q\nserver\n%q", got, four.Data)
	}
}

// withoutTUID removes the X-TUID field that mbsync adds to the header of
// every message it copies to the other side (its bookkeeping to find the
// copy's UID); nl is the message's line end.
func withoutTUID(msg, nl string) string {
	head, body, _ := strings.Cut(msg, nl+nl)
	var keep []string
	for _, line := range strings.Split(head, nl) {
		if !strings.HasPrefix(line, "X-TUID: ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, nl) + nl + nl + body
}

// subjectOf returns the Subject field of a message.
func subjectOf(msg string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
		if line == "" {
			break
		}
	}
	return ""
}
