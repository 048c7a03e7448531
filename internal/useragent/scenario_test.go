package useragent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	goimap "github.com/emersion/go-imap/v2/imapclient"

	"posthorn/internal/message"
	"posthorn/internal/useragent/imapclient"
)

// mailSetup is one server under test: who sends, who receives, and how to
// log in as each of them.
type mailSetup struct {
	// account returns the Account of a user (login name).
	account func(user string) Account
	// imapAddr is the IMAP listener, for checks with an independent client.
	imapAddr string
	// sender, to, cc, bcc are login names; their addresses are addr(user).
	sender, to, cc, bcc string
	addr                func(user string) string
}

// The parts of the test message.
const (
	testBody = "Hällo Wörld,\nzweite Zeile – mit Gedankenstrich.\n.\nFrom here on, ASCII.\n"
	pdfData  = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
)

// pngData is a PNG signature and header: detected by content, since the
// attachment has no extension.
var pngData = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")

func token(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])
	return "T" + hex.EncodeToString(b[:])
}

func newAgent(t *testing.T, acct Account) *Agent {
	t.Helper()
	a, err := New(acct, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runScenario sends a message with everything in it, checks what each
// recipient got with go-imap's client (not ours), then reads, searches,
// flags, moves and deletes it as the To recipient.
func runScenario(t *testing.T, s mailSetup) {
	ctx := context.Background()
	tok := token(t)
	subject := "Grüße – Überprüfung " + tok
	sender := newAgent(t, s.account(s.sender))
	res, err := sender.Send(ctx, Draft{
		To: []string{"Bööb <" + s.addr(s.to) + ">"}, Cc: []string{s.addr(s.cc)}, Bcc: []string{s.addr(s.bcc)},
		Subject: subject, Body: testBody,
		Attachments: []Attachment{{Name: "report.pdf", Data: []byte(pdfData)}, {Name: "pixel", Data: pngData}},
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.SavedIn == "" || len(res.Recipients) != 3 {
		t.Errorf("send result %+v", res)
	}
	for _, u := range []string{s.to, s.cc, s.bcc} {
		raw := waitForMessage(t, s, u, "INBOX", tok)
		checkWireMessage(t, u, raw, subject, s.addr(s.bcc))
	}
	if sent := waitForMessage(t, s, s.sender, res.SavedIn, tok); !bytes.Contains(sent, []byte(res.MessageID)) {
		t.Errorf("the copy in %s has another Message-ID than %s", res.SavedIn, res.MessageID)
	}
	reader := newAgent(t, s.account(s.to))
	ensureTrash(t, reader)
	uid := checkListing(t, reader, tok)
	checkRead(t, reader, uid, subject)
	checkSearchAndFlag(t, reader, uid, tok)
	checkMoveAndDelete(t, s, reader, uid, tok)
}

// waitForMessage polls (with go-imap v2) until the user's mailbox holds a
// message whose subject contains tok and returns it. Delivery through
// Postfix is asynchronous; Posthorn's is done before the 250.
func waitForMessage(t *testing.T, s mailSetup, user, mailbox, tok string) []byte {
	t.Helper()
	acct := s.account(user)
	c, err := goimap.DialStartTLS(s.imapAddr, &goimap.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(acct.User, acct.Password).Wait(); err != nil {
		t.Fatalf("go-imap login %s: %v", user, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("go-imap select %s of %s: %v", mailbox, user, err)
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: tok}}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			section := &imap.FetchItemBodySection{Peek: true}
			msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			if err != nil || len(msgs) != 1 {
				t.Fatalf("go-imap fetch: %v (%d messages for %s)", err, len(msgs), tok)
			}
			return msgs[0].FindBodySection(section)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %s in %s of %s", tok, mailbox, user)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkWireMessage checks a delivered message octet by octet: 7-bit,
// encoded subject, no Bcc, the MIME structure and the decoded content.
func checkWireMessage(t *testing.T, user string, raw []byte, subject, bcc string) {
	t.Helper()
	for i, c := range raw {
		if c >= 0x80 {
			t.Fatalf("%s: octet %d is 8-bit: %q", user, i, raw[max(0, i-20):min(len(raw), i+20)])
		}
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("%s: bare LF in the message", user)
	}
	h, _ := message.ParseHeader(raw)
	if h.Has("Bcc") || strings.Contains(h.Get("To")+h.Get("Cc"), bcc) {
		t.Errorf("%s: the Bcc recipient shows in the message:\n%s", user, raw)
	}
	if got := message.DecodeHeader(h.Get("Subject")); got != subject || !strings.Contains(h.Get("Subject"), "=?utf-8?") {
		t.Errorf("%s: Subject %q decodes to %q", user, h.Get("Subject"), got)
	}
	if to := message.DecodeHeader(h.Get("To")); !strings.Contains(to, "Bööb <") {
		t.Errorf("%s: To %q", user, to)
	}
	m, err := message.Analyze(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	root := m.Structure
	if root.MediaType() != "multipart/mixed" || len(root.Parts) != 3 {
		t.Fatalf("%s: structure %s with %d parts", user, root.MediaType(), len(root.Parts))
	}
	text := root.Parts[0]
	if text.MediaType() != "text/plain" || (text.Encoding != "quoted-printable" && text.Encoding != "base64") {
		t.Errorf("%s: text part %s %s", user, text.MediaType(), text.Encoding)
	}
	// PartText drops the final line break.
	if got := message.PartText(text, raw[text.BodyStart:text.BodyEnd]); got != strings.TrimSuffix(testBody, "\n") {
		t.Errorf("%s: text %q, want %q", user, got, testBody)
	}
	for i, want := range []struct{ typ, name, data string }{{"application/pdf", "report.pdf", pdfData}, {"image/png", "pixel", string(pngData)}} {
		p := root.Parts[i+1]
		if p.MediaType() != want.typ || p.Filename() != want.name || p.Disposition != "attachment" {
			t.Errorf("%s: attachment %d: %s %q %s", user, i, p.MediaType(), p.Filename(), p.Disposition)
		}
		if got := decodeTransfer(p.Encoding, raw[p.BodyStart:p.BodyEnd]); string(got) != want.data {
			t.Errorf("%s: attachment %s content %q", user, want.name, got)
		}
	}
}

// checkListing finds the message with list --unseen and checks --limit.
func checkListing(t *testing.T, a *Agent, tok string) uint32 {
	t.Helper()
	ctx := context.Background()
	l, err := a.List(ctx, ListOptions{Unseen: true})
	if err != nil {
		t.Fatal(err)
	}
	var uid uint32
	for _, m := range l.Messages {
		if strings.Contains(m.Subject, tok) {
			uid = m.UID
			if m.Seen() || !strings.Contains(m.From, "@") {
				t.Errorf("listed %+v", m)
			}
		}
	}
	if uid == 0 {
		t.Fatalf("list --unseen lacks %s: %+v", tok, l.Messages)
	}
	if !slices.IsSortedFunc(l.Messages, func(x, y Summary) int { return int(int64(y.UID) - int64(x.UID)) }) {
		t.Errorf("listing not newest first: %+v", l.Messages)
	}
	one, err := a.List(ctx, ListOptions{Limit: 1})
	if err != nil || len(one.Messages) != 1 || one.Total < 1 || one.Messages[0].UID < uid {
		t.Errorf("list --limit 1: %+v %v", one, err)
	}
	var buf bytes.Buffer
	WriteListing(&buf, l, time.UTC)
	if !strings.Contains(buf.String(), tok) || !strings.HasPrefix(buf.String(), "ID") {
		t.Errorf("listing output:\n%s", buf.String())
	}
	return uid
}

// checkRead reads the message, saving attachments, and checks it is seen
// afterwards.
func checkRead(t *testing.T, a *Agent, uid uint32, subject string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.pdf"), []byte("older file"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := a.Read(ctx, uid, ReadOptions{SaveDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if l.Subject != subject || l.Text != strings.TrimRight(testBody, "\n") || !strings.Contains(l.To, "Bööb") || l.Cc == "" {
		t.Errorf("read %+v", l)
	}
	if len(l.Attachments) != 2 {
		t.Fatalf("attachments %+v", l.Attachments)
	}
	for i, want := range []struct{ name, typ, file, data string }{{"report.pdf", "application/pdf", "report-1.pdf", pdfData}, {"pixel", "image/png", "pixel", string(pngData)}} {
		at := l.Attachments[i]
		if at.Filename != want.name || at.Type != want.typ || at.SavedAs != filepath.Join(dir, want.file) {
			t.Errorf("attachment %+v", at)
		}
		if got, err := os.ReadFile(at.SavedAs); err != nil || string(got) != want.data {
			t.Errorf("saved %s: %q %v", at.SavedAs, got, err)
		}
	}
	if old, _ := os.ReadFile(filepath.Join(dir, "report.pdf")); string(old) != "older file" {
		t.Error("an existing file was overwritten")
	}
	var out bytes.Buffer
	WriteLetter(&out, l)
	for _, want := range []string{"Subject: " + subject, "Hällo Wörld", "[2]", "report.pdf", "saved as"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("read output lacks %q:\n%s", want, out.String())
		}
	}
	unseen, err := a.List(ctx, ListOptions{Unseen: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range unseen.Messages {
		if m.UID == uid {
			t.Error("still unseen after read")
		}
	}
	if _, err := a.Read(ctx, uid+1000, ReadOptions{}); err == nil || !strings.Contains(err.Error(), ErrNoMessage.Error()) {
		t.Errorf("read of a missing ID: %v", err)
	}
}

func checkSearchAndFlag(t *testing.T, a *Agent, uid uint32, tok string) {
	t.Helper()
	ctx := context.Background()
	for _, q := range [][]string{{"subject:" + tok}, {tok, "Wörld"}, {"body:zweite Zeile", "subject:" + tok}} {
		l, err := a.Search(ctx, "", q, 0)
		if err != nil || len(l.Messages) != 1 || l.Messages[0].UID != uid {
			t.Errorf("search %q: %+v %v", q, l, err)
		}
	}
	if l, err := a.Search(ctx, "", []string{tok, "nichtdrin"}, 0); err != nil || len(l.Messages) != 0 {
		t.Errorf("search for a missing word: %+v %v", l, err)
	}
	if err := a.Flag(ctx, "", uid, true); err != nil {
		t.Fatal(err)
	}
	l, err := a.Search(ctx, "INBOX", []string{"is:flagged", tok}, 0)
	if err != nil || len(l.Messages) != 1 || !l.Messages[0].Flagged() {
		t.Errorf("flagged search: %+v %v", l, err)
	}
	if err := a.Flag(ctx, "", uid, false); err != nil {
		t.Fatal(err)
	}
	if l, err := a.Search(ctx, "INBOX", []string{"is:flagged", tok}, 0); err != nil || len(l.Messages) != 0 {
		t.Errorf("unflag: %+v %v", l, err)
	}
	if err := a.Flag(ctx, "", uid+1000, true); err == nil {
		t.Error("flag of a missing ID succeeded")
	}
}

// checkMoveAndDelete moves the message to a new folder, deletes it there
// (to Trash) and deletes it in Trash (for good).
func checkMoveAndDelete(t *testing.T, s mailSetup, a *Agent, uid uint32, tok string) {
	t.Helper()
	ctx := context.Background()
	folder := "Projekt Ü " + tok
	err := a.session(ctx, func(c *imapclient.Client) error { return c.Create(ctx, folder, "") })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteMailbox(t, s, s.to, folder) })
	if err := a.Move(ctx, "INBOX", uid, folder); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.Search(ctx, "INBOX", []string{"subject:" + tok}, 0); l == nil || len(l.Messages) != 0 {
		t.Errorf("still in INBOX after move: %+v", l)
	}
	moved, err := a.List(ctx, ListOptions{Folder: folder})
	if err != nil || len(moved.Messages) != 1 || !strings.Contains(moved.Messages[0].Subject, tok) {
		t.Fatalf("%s after move: %+v %v", folder, moved, err)
	}
	folders, err := a.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]Folder{}
	for _, f := range folders {
		roles[f.Name] = f
	}
	if f := roles[folder]; f.Messages != 1 || folders[0].Name != "INBOX" || roles["Trash"].SpecialUse != `\Trash` {
		t.Errorf("folders %+v", folders)
	}
	to, err := a.Delete(ctx, folder, moved.Messages[0].UID)
	if err != nil || to != "Trash" {
		t.Fatalf("delete: %q %v", to, err)
	}
	inTrash, err := a.Search(ctx, "Trash", []string{"subject:" + tok}, 0)
	if err != nil || len(inTrash.Messages) != 1 {
		t.Fatalf("Trash after delete: %+v %v", inTrash, err)
	}
	if to, err := a.Delete(ctx, "Trash", inTrash.Messages[0].UID); err != nil || to != "" {
		t.Errorf("delete in Trash: %q %v", to, err)
	}
	if l, err := a.Search(ctx, "Trash", []string{"subject:" + tok}, 0); err != nil || len(l.Messages) != 0 {
		t.Errorf("Trash after the second delete: %+v %v", l, err)
	}
	if err := a.Move(ctx, "INBOX", uid, folder); err == nil {
		t.Error("move of a message that is gone succeeded")
	}
}

// ensureTrash creates the Trash when the account has none yet (Dovecot
// creates the special-use mailboxes of its configuration only on demand).
func ensureTrash(t *testing.T, a *Agent) {
	t.Helper()
	ctx := context.Background()
	err := a.session(ctx, func(c *imapclient.Client) error {
		boxes, err := c.List(ctx)
		if err != nil || findSpecial(boxes, imapclient.SpecialTrash) != "" {
			return err
		}
		return c.Create(ctx, "Trash", imapclient.SpecialTrash)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func deleteMailbox(t *testing.T, s mailSetup, user, name string) {
	acct := s.account(user)
	c, err := goimap.DialStartTLS(s.imapAddr, &goimap.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		return
	}
	defer c.Close()
	if c.Login(acct.User, acct.Password).Wait() == nil {
		c.Delete(name).Wait()
	}
}
