package mailbox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
)

// fixture is a mailbox service over a fresh SQLite store with one account
// (standard mailboxes).
type fixture struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	svc  *Service
	acct store.Account
}

func newFixture(t *testing.T, wrap ...func(store.Store) store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store = sq
	for _, w := range wrap {
		st = w(st)
	}
	if err := st.CreateDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	acct, err := st.CreateAccount(ctx, store.NewAccount{Address: "a@example.test", PasswordHash: "x",
		Mailboxes: []store.NewMailbox{{Name: "INBOX"}, {Name: "Trash", SpecialUse: store.SpecialTrash}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Options{Store: st})
	t.Cleanup(func() { svc.Close(); sq.Close() })
	return &fixture{t: t, ctx: ctx, st: st, svc: svc, acct: acct}
}

func (fx *fixture) mailbox(name string) store.Mailbox {
	fx.t.Helper()
	mb, err := fx.svc.Get(fx.ctx, fx.acct.ID, name)
	if err != nil {
		fx.t.Fatal(err)
	}
	return mb
}

// add appends messages built by body(i) and returns their UIDs.
func (fx *fixture) add(name string, n int, body func(i int) string, flags store.Flags) []store.UID {
	fx.t.Helper()
	mb := fx.mailbox(name)
	var uids []store.UID
	for i := 0; i < n; i++ {
		res, err := fx.svc.Append(fx.ctx, fx.acct.ID, mb.ID, []NewMessage{{Body: strings.NewReader(body(i)), Flags: flags,
			Date: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC)}})
		if err != nil {
			fx.t.Fatal(err)
		}
		uids = append(uids, res[0].UID)
	}
	return uids
}

func plain(i int) string {
	return fmt.Sprintf("Subject: message %d\r\nMessage-ID: <%d@x>\r\n\r\nbody %d\r\n", i, i, i)
}

func TestIndexFollowsChanges(t *testing.T) {
	fx := newFixture(t)
	uids := fx.add("INBOX", 5, plain, 0)
	inbox := fx.mailbox("INBOX")
	ix, err := fx.svc.OpenIndex(fx.ctx, fx.acct.ID, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	s1, _ := ix.Snapshot(fx.ctx)
	if !slices.Equal(s1.UIDs(), uids) || s1.Unseen() != 5 || s1.FirstUnseen() != 0 {
		t.Fatalf("snapshot %v unseen %d", s1.UIDs(), s1.Unseen())
	}
	// New messages share the arrays; flag changes and expunges copy them.
	fx.add("INBOX", 2, plain, store.FlagSeen)
	s2, _ := ix.Refresh(fx.ctx)
	if s2.Len() != 7 || s1.Len() != 5 || s2.Flags(6) != store.FlagSeen {
		t.Fatalf("after append: %v / %v", s2.UIDs(), s1.UIDs())
	}
	if _, err := fx.svc.UpdateFlags(fx.ctx, fx.acct.ID, store.FlagUpdate{MailboxID: inbox.ID, UIDs: store.UIDSetOf(uids[0]),
		Op: store.FlagsAdd, Flags: store.FlagFlagged, Keywords: []string{"$Work"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.svc.Expunge(fx.ctx, fx.acct.ID, inbox.ID, store.UIDSetOf(uids[1], uids[2]), false); err != nil {
		t.Fatal(err)
	}
	s3, _ := ix.Refresh(fx.ctx)
	if s3.Len() != 5 || s3.UID(1) != uids[3] || s3.Flags(0) != store.FlagFlagged || !s3.HasKeyword(0, "$work") {
		t.Fatalf("after changes: %v flags %v kw %v", s3.UIDs(), s3.Flags(0), s3.Keywords(0))
	}
	if s1.Len() != 5 || s1.Flags(0) != 0 || s1.UID(1) != uids[1] {
		t.Fatal("an old snapshot changed")
	}
	if !slices.Equal(s3.AllKeywords(), []string{"$Work"}) || s3.ModSeq(0) <= s1.ModSeq(0) {
		t.Errorf("keywords %v modseq %d", s3.AllKeywords(), s3.ModSeq(0))
	}
	if s3.Mailbox.HighestModSeq < s3.ModSeq(0) {
		t.Errorf("HighestModSeq %d", s3.Mailbox.HighestModSeq)
	}
}

func TestIndexNotifyAndFreshness(t *testing.T) {
	fx := newFixture(t)
	inbox := fx.mailbox("INBOX")
	ix, err := fx.svc.OpenIndex(fx.ctx, fx.acct.ID, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	kicked := make(chan struct{}, 10)
	cancel := ix.Notify(func() { kicked <- struct{}{} })
	defer cancel()
	fx.add("Trash", 1, plain, 0) // another mailbox: no notification
	fx.add("INBOX", 1, plain, 0)
	<-kicked
	if ix.Fresh() {
		t.Error("index fresh after a change")
	}
	snap, _ := ix.Snapshot(fx.ctx)
	if snap.Len() != 1 || !ix.Fresh() {
		t.Errorf("after catching up: %d messages, fresh %v", snap.Len(), ix.Fresh())
	}
	select {
	case <-kicked:
		t.Error("notified of another mailbox's change")
	default:
	}
}

func TestIndexIsolationAndCache(t *testing.T) {
	fx := newFixture(t)
	other, err := fx.st.CreateAccount(fx.ctx, store.NewAccount{Address: "b@example.test", PasswordHash: "x", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
	if err != nil {
		t.Fatal(err)
	}
	inbox := fx.mailbox("INBOX")
	if _, err := fx.svc.OpenIndex(fx.ctx, other.ID, inbox.ID); err == nil {
		t.Fatal("another account opened the index")
	}
	ix, _ := fx.svc.OpenIndex(fx.ctx, fx.acct.ID, inbox.ID)
	ix.Close()
	if _, err := fx.svc.OpenIndex(fx.ctx, other.ID, inbox.ID); err == nil {
		t.Fatal("another account opened the cached index")
	}
	if open, cached := fx.svc.CachedIndexes(); open != 0 || cached != 1 {
		t.Errorf("open %d cached %d", open, cached)
	}
}

func TestFetchCache(t *testing.T) {
	fx := newFixture(t)
	uids := fx.add("INBOX", 3, plain, 0)
	ix, _ := fx.svc.OpenIndex(fx.ctx, fx.acct.ID, fx.mailbox("INBOX").ID)
	defer ix.Close()
	sets := func(us []store.UID) []store.UIDSet { return []store.UIDSet{store.UIDSetOf(us...)} }
	for round := 0; round < 2; round++ {
		got, err := ix.Fetch(fx.ctx, []store.UID{uids[2], 99, uids[0]}, sets)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Msg.UID != uids[0] || got[1].Msg.UID != uids[2] {
			t.Fatalf("round %d: %d messages", round, len(got))
		}
		meta, err := got[1].Meta()
		if err != nil || meta.Subject != "message 2" {
			t.Errorf("meta %v %v", meta, err)
		}
	}
}

func storeAccount(addr string) store.NewAccount {
	return store.NewAccount{Address: addr, PasswordHash: "x", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}}
}
