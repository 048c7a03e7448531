// Package storetest is the conformance suite every store.Store
// implementation runs: the SQLite store always, the PostgreSQL store when
// POSTHORN_TEST_POSTGRES holds a DSN. Each case gets a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"posthorn/internal/store"
)

// Factory tells the suite how to make and reopen stores of one backend.
type Factory struct {
	// New returns a fresh, empty store for one test and a location from
	// which Open can reopen it (a directory, a DSN). It registers its own
	// cleanup with t.
	New func(t *testing.T) (store.Store, string)
	// Open reopens the store at a location, in this process or in a child
	// process (the crash test).
	Open func(ctx context.Context, location string) (store.Store, error)
}

type testCase struct {
	name string
	fn   func(t *testing.T, f Factory)
}

var cases []testCase

func register(name string, fn func(t *testing.T, f Factory)) {
	cases = append(cases, testCase{name, fn})
}

// Run runs every case of the suite against the backend.
func Run(t *testing.T, f Factory) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, f)
		})
	}
}

// Count is the number of cases in the suite.
func Count() int { return len(cases) }

// --- fixtures shared by the cases ---

var standardMailboxes = []store.NewMailbox{
	{Name: "INBOX", Subscribed: true},
	{Name: "Sent", SpecialUse: store.SpecialSent, Subscribed: true},
	{Name: "Drafts", SpecialUse: store.SpecialDrafts, Subscribed: true},
	{Name: "Trash", SpecialUse: store.SpecialTrash, Subscribed: true},
	{Name: "Junk", SpecialUse: store.SpecialJunk, Subscribed: true},
	{Name: "Archive", SpecialUse: store.SpecialArchive, Subscribed: true},
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	s     store.Store
	loc   string
	acct  store.Account
	inbox store.Mailbox
}

// newFixture makes a store with domain example.test and account
// alice@example.test with the standard mailboxes.
func newFixture(t *testing.T, f Factory) *fixture {
	t.Helper()
	s, loc := f.New(t)
	ctx := context.Background()
	if err := s.CreateDomain(ctx, "example.test"); err != nil {
		t.Fatalf("CreateDomain: %v", err)
	}
	fx := &fixture{t: t, ctx: ctx, s: s, loc: loc}
	fx.acct = fx.account("alice@example.test")
	fx.inbox = fx.mailbox(fx.acct.ID, "INBOX")
	return fx
}

func (fx *fixture) account(addr string) store.Account {
	fx.t.Helper()
	a, err := fx.s.CreateAccount(fx.ctx, store.NewAccount{Address: addr, PasswordHash: "hash-" + addr, Mailboxes: standardMailboxes})
	if err != nil {
		fx.t.Fatalf("CreateAccount(%s): %v", addr, err)
	}
	return a
}

func (fx *fixture) mailbox(account store.AccountID, name string) store.Mailbox {
	fx.t.Helper()
	m, err := fx.s.MailboxByName(fx.ctx, account, name)
	if err != nil {
		fx.t.Fatalf("MailboxByName(%s): %v", name, err)
	}
	return m
}

func (fx *fixture) reload(m store.Mailbox) store.Mailbox {
	fx.t.Helper()
	m, err := fx.s.Mailbox(fx.ctx, m.ID)
	if err != nil {
		fx.t.Fatalf("Mailbox(%d): %v", m.ID, err)
	}
	return m
}

func (fx *fixture) modseq(a store.AccountID) store.ModSeq {
	fx.t.Helper()
	acct, err := fx.s.Account(fx.ctx, a)
	if err != nil {
		fx.t.Fatalf("Account: %v", err)
	}
	return acct.ModSeq
}

// blob stores body and returns its id (finished, not yet appended).
func (fx *fixture) blob(body string) store.BlobID {
	fx.t.Helper()
	w, err := fx.s.NewBlob(fx.ctx)
	if err != nil {
		fx.t.Fatalf("NewBlob: %v", err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		fx.t.Fatalf("blob write: %v", err)
	}
	id, size, err := w.Finish()
	if err != nil {
		fx.t.Fatalf("Finish: %v", err)
	}
	if size != int64(len(body)) {
		fx.t.Fatalf("Finish size = %d, want %d", size, len(body))
	}
	return id
}

func sampleBody(n int) string {
	return fmt.Sprintf("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: message %d\r\nMessage-ID: <m%d@example.test>\r\n\r\nHello number %d.\r\n", n, n, n)
}

// appendN appends n messages to a mailbox of the fixture's account.
func (fx *fixture) appendN(m store.Mailbox, n int, flags store.Flags) []store.Appended {
	fx.t.Helper()
	var out []store.Appended
	for i := 0; i < n; i++ {
		out = append(out, fx.appendOne(m, sampleBody(i), flags, nil))
	}
	return out
}

func (fx *fixture) appendOne(m store.Mailbox, body string, flags store.Flags, kw []string) store.Appended {
	fx.t.Helper()
	res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(m, fx.blob(body), flags, kw)}})
	if err != nil {
		fx.t.Fatalf("Append: %v", err)
	}
	if len(res.Messages) != 1 {
		fx.t.Fatalf("Append returned %d messages", len(res.Messages))
	}
	return res.Messages[0]
}

func (fx *fixture) newMessage(m store.Mailbox, blob store.BlobID, flags store.Flags, kw []string) store.NewMessage {
	return store.NewMessage{
		AccountID: m.AccountID, MailboxID: m.ID, BlobID: blob, Flags: flags, Keywords: kw,
		InternalDate: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Index:        store.MessageIndex{Subject: "hello", MessageID: fmt.Sprintf("<%s@example.test>", blob)},
		Meta:         []byte("meta"),
	}
}

func (fx *fixture) readBlob(id store.BlobID) string {
	fx.t.Helper()
	b, err := fx.s.OpenBlob(fx.ctx, id)
	if err != nil {
		fx.t.Fatalf("OpenBlob(%s): %v", id, err)
	}
	defer b.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, b); err != nil {
		fx.t.Fatalf("read blob: %v", err)
	}
	if int64(buf.Len()) != b.Size() {
		fx.t.Fatalf("blob Size() = %d, read %d bytes", b.Size(), buf.Len())
	}
	return buf.String()
}

func (fx *fixture) state(m store.Mailbox) (store.Mailbox, []store.MessageFlags) {
	fx.t.Helper()
	mb, msgs, err := fx.s.MailboxState(fx.ctx, m.ID)
	if err != nil {
		fx.t.Fatalf("MailboxState: %v", err)
	}
	return mb, msgs
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func uids(msgs []store.MessageFlags) []store.UID {
	out := make([]store.UID, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}
