package imapd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"posthorn/internal/mailbox"
)

// The two-way mbsync round trip (isync, RFC 3501 client with UIDPLUS):
// sync a server mailbox with flags to a local Maildir, change both sides,
// sync again, and compare both sides message by message and flag by flag.

func mbsyncMessage(id string) string {
	return "From: sync@example.test\r\nTo: alice@example.test\r\nSubject: sync " + id +
		"\r\nMessage-ID: <" + id + "@example.test>\r\n\r\nBody of " + id + ".\r\n"
}

// maildirState reads a Maildir folder: Message-ID -> flag letters.
func maildirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			id := headerValue(string(b), "Message-ID")
			flags := ""
			if i := strings.Index(e.Name(), ":2,"); i >= 0 {
				flags = e.Name()[i+3:]
			}
			out[id] = flags
		}
	}
	return out
}

func headerValue(msg, name string) string {
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// serverState reads a server mailbox the same way, flags as Maildir letters.
func (h *harness) serverState(t *testing.T, name string) map[string]string {
	t.Helper()
	rc := h.login()
	rc.ok("EXAMINE " + name)
	lines := rc.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
	out := map[string]string{}
	for _, l := range lines {
		if !strings.Contains(l, " FETCH ") {
			continue
		}
		var letters []string
		for _, f := range []struct{ name, letter string }{{`\Draft`, "D"}, {`\Flagged`, "F"}, {`\Answered`, "R"}, {`\Seen`, "S"}, {`\Deleted`, "T"}} {
			if strings.Contains(l, f.name) {
				letters = append(letters, f.letter)
			}
		}
		slices.Sort(letters)
		out[headerValue(l[strings.Index(l, "\r\n")+2:], "Message-ID")] = strings.Join(letters, "")
	}
	rc.ok("LOGOUT")
	return out
}

// mbsyncConfig writes an mbsync configuration that syncs INBOX and Archive
// both ways with the harness, over STARTTLS, and returns its path.
func mbsyncConfig(t *testing.T, h *harness, dir, local string) string {
	t.Helper()
	host, port, _ := strings.Cut(h.addr, ":")
	conf := fmt.Sprintf(`IMAPAccount posthorn
Host %s
Port %s
User alice@example.test
Pass password
SSLType STARTTLS
CertificateFile %s
AuthMechs LOGIN

IMAPStore remote
Account posthorn

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns INBOX Archive
Create Both
Expunge Both
SyncState *
Sync All
`, host, port, h.cert, local, local)
	cfg := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// changeLocal flags m1 in the Maildir and adds a new message m5.
func changeLocal(t *testing.T, local string) {
	t.Helper()
	cur := filepath.Join(local, "INBOX", "cur")
	ents, _ := os.ReadDir(cur)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(cur, e.Name()))
		if headerValue(string(b), "Message-ID") == "<m1@example.test>" {
			base := e.Name()[:strings.Index(e.Name(), ":2,")]
			if err := os.Rename(filepath.Join(cur, e.Name()), filepath.Join(cur, base+":2,FS")); err != nil {
				t.Fatal(err)
			}
		}
	}
	newMsg := strings.ReplaceAll(mbsyncMessage("m5"), "\r\n", "\n")
	if err := os.WriteFile(filepath.Join(local, "INBOX", "new", "1700000000.m5.localhost"), []byte(newMsg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMbsyncRoundTrip(t *testing.T) {
	mbsync := needTool(t, "mbsync")
	h := newHarness(t)
	h.deliver(h.alice, "INBOX", mbsyncMessage("m1"), mailbox.FlagSeen)
	h.deliver(h.alice, "INBOX", mbsyncMessage("m2"), mailbox.FlagSeen|mailbox.FlagFlagged)
	h.deliver(h.alice, "INBOX", mbsyncMessage("m3"), 0)
	h.deliver(h.alice, "Archive", mbsyncMessage("a1"), mailbox.FlagAnswered|mailbox.FlagSeen)
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := mbsyncConfig(t, h, dir, local)
	run := func() {
		t.Helper()
		cmd := exec.Command(mbsync, "-D", "-c", cfg, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	run()
	want := map[string]string{"<m1@example.test>": "S", "<m2@example.test>": "FS", "<m3@example.test>": ""}
	if got := maildirState(t, filepath.Join(local, "INBOX")); !mapsEqual(got, want) {
		t.Fatalf("after first sync, local INBOX = %v, want %v", got, want)
	}
	if got := maildirState(t, filepath.Join(local, "Archive")); !mapsEqual(got, map[string]string{"<a1@example.test>": "RS"}) {
		t.Fatalf("local Archive = %v", got)
	}
	// Change the server: a new message, \Seen on m3, m2 expunged; and the
	// local side: m1 flagged, a new message m5.
	h.deliver(h.alice, "INBOX", mbsyncMessage("m4"), mailbox.FlagDraft)
	rc := h.login()
	rc.ok("SELECT INBOX")
	rc.ok("STORE 3 +FLAGS (\\Seen)")
	rc.ok("STORE 2 +FLAGS (\\Deleted)")
	rc.ok("EXPUNGE")
	rc.ok("LOGOUT")
	changeLocal(t, local)
	run()
	want = map[string]string{"<m1@example.test>": "FS", "<m3@example.test>": "S", "<m4@example.test>": "D", "<m5@example.test>": ""}
	if got := maildirState(t, filepath.Join(local, "INBOX")); !mapsEqual(got, want) {
		t.Errorf("after second sync, local INBOX = %v, want %v", got, want)
	}
	if got := h.serverState(t, "INBOX"); !mapsEqual(got, want) {
		t.Errorf("after second sync, server INBOX = %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
