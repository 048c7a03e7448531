package storetest

import (
	"slices"
	"testing"

	"posthorn/internal/store"
)

func init() {
	register("MailboxCreateList", testMailboxCreateList)
	register("MailboxDuplicate", testMailboxDuplicate)
	register("MailboxInboxAnyCase", testMailboxInboxAnyCase)
	register("RenameWithChildren", testRenameWithChildren)
	register("RenameClash", testRenameClash)
	register("InboxCannotBeDeletedOrRenamed", testInboxProtected)
	register("DeleteMailboxDropsMessages", testDeleteMailbox)
	register("UIDValidityNewOnRecreate", testUIDValidityRecreate)
	register("SubscribeAndSpecialUse", testSubscribeSpecialUse)
}

func testMailboxCreateList(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	m, err := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Lists/Go", Subscribed: true})
	must(t, err, "CreateMailbox")
	if m.ID == 0 || m.Name != "Lists/Go" || m.UIDValidity == 0 || m.UIDNext != 1 || !m.Subscribed || m.AccountID != fx.acct.ID {
		t.Fatalf("created mailbox = %+v", m)
	}
	mbs, err := fx.s.Mailboxes(fx.ctx, fx.acct.ID)
	must(t, err, "Mailboxes")
	var names []string
	for _, mb := range mbs {
		names = append(names, mb.Name)
	}
	want := []string{"Archive", "Drafts", "INBOX", "Junk", "Lists/Go", "Sent", "Trash"}
	if !slices.Equal(names, want) {
		t.Fatalf("Mailboxes = %v, want %v", names, want)
	}
	sent := fx.mailbox(fx.acct.ID, "Sent")
	if sent.SpecialUse != store.SpecialSent {
		t.Fatalf("Sent special-use = %q", sent.SpecialUse)
	}
	got, err := fx.s.Mailbox(fx.ctx, m.ID)
	must(t, err, "Mailbox")
	if got != m {
		t.Fatalf("Mailbox = %+v, want %+v", got, m)
	}
	_, err = fx.s.Mailbox(fx.ctx, 999999)
	wantErr(t, err, store.ErrNotFound, "Mailbox unknown")
	_, err = fx.s.MailboxByName(fx.ctx, fx.acct.ID, "Nope")
	wantErr(t, err, store.ErrNotFound, "MailboxByName unknown")
}

func testMailboxDuplicate(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	_, err := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Sent"})
	wantErr(t, err, store.ErrExists, "CreateMailbox Sent again")
	_, err = fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "inbox"})
	wantErr(t, err, store.ErrExists, "CreateMailbox inbox (INBOX is case-insensitive)")
	// Other names are case-sensitive.
	_, err = fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "sent"})
	must(t, err, "CreateMailbox sent")
	// The same name in another account is fine.
	bob := fx.account("bob@example.test")
	_, err = fx.s.CreateMailbox(fx.ctx, bob.ID, store.NewMailbox{Name: "sent"})
	must(t, err, "CreateMailbox in another account")
}

func testMailboxInboxAnyCase(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	m, err := fx.s.MailboxByName(fx.ctx, fx.acct.ID, "iNbOx")
	must(t, err, "MailboxByName iNbOx")
	if m.ID != fx.inbox.ID || m.Name != "INBOX" {
		t.Fatalf("got %+v", m)
	}
	c, err := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "inbox/child"})
	must(t, err, "CreateMailbox inbox/child")
	if c.Name != "INBOX/child" {
		t.Fatalf("child of inbox named %q, want INBOX/child", c.Name)
	}
}

func testRenameWithChildren(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	var created []store.Mailbox
	for _, n := range []string{"a", "a/b", "a/b/c", "ab"} {
		m, err := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: n})
		must(t, err, "CreateMailbox "+n)
		created = append(created, m)
	}
	fx.appendN(created[1], 2, 0)
	before := fx.modseq(fx.acct.ID)
	must(t, fx.s.RenameMailbox(fx.ctx, created[0].ID, "x/y"), "RenameMailbox")
	if fx.modseq(fx.acct.ID) <= before {
		t.Fatalf("rename did not raise MODSEQ")
	}
	for i, want := range []string{"x/y", "x/y/b", "x/y/b/c", "ab"} {
		got := fx.reload(created[i])
		if got.Name != want {
			t.Errorf("mailbox %d named %q, want %q", i, got.Name, want)
		}
		if got.UIDValidity != created[i].UIDValidity {
			t.Errorf("mailbox %q: UIDVALIDITY changed on rename", want)
		}
	}
	_, msgs := fx.state(fx.mailbox(fx.acct.ID, "x/y/b"))
	if len(msgs) != 2 {
		t.Fatalf("renamed child has %d messages, want 2", len(msgs))
	}
	_, err := fx.s.MailboxByName(fx.ctx, fx.acct.ID, "a/b")
	wantErr(t, err, store.ErrNotFound, "old child name")
}

func testRenameClash(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a, _ := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "a"})
	fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "a/c"})
	fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "b/c"})
	wantErr(t, fx.s.RenameMailbox(fx.ctx, a.ID, "Sent"), store.ErrExists, "rename onto Sent")
	// a → b would make a/c into b/c, which exists: nothing may change.
	b, _ := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "b2"})
	wantErr(t, fx.s.RenameMailbox(fx.ctx, a.ID, "b"), store.ErrExists, "rename whose child clashes")
	if fx.reload(a).Name != "a" {
		t.Fatalf("failed rename changed the name")
	}
	if _, err := fx.s.MailboxByName(fx.ctx, fx.acct.ID, "a/c"); err != nil {
		t.Fatalf("failed rename moved the child: %v", err)
	}
	wantErr(t, fx.s.RenameMailbox(fx.ctx, a.ID, "a/c/d"), store.ErrInvalid, "rename below itself")
	must(t, fx.s.RenameMailbox(fx.ctx, b.ID, "b3"), "plain rename")
}

func testInboxProtected(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	wantErr(t, fx.s.DeleteMailbox(fx.ctx, fx.inbox.ID), store.ErrInbox, "DeleteMailbox INBOX")
	wantErr(t, fx.s.RenameMailbox(fx.ctx, fx.inbox.ID, "Old"), store.ErrInbox, "RenameMailbox INBOX")
	sent := fx.mailbox(fx.acct.ID, "Sent")
	wantErr(t, fx.s.RenameMailbox(fx.ctx, sent.ID, "inbox"), store.ErrInbox, "RenameMailbox onto INBOX")
	if _, err := fx.s.Mailbox(fx.ctx, fx.inbox.ID); err != nil {
		t.Fatalf("INBOX gone: %v", err)
	}
}

func testDeleteMailbox(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	m, _ := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Old"})
	child, _ := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Old/Child"})
	a := fx.appendN(m, 3, 0)
	msgs, err := fx.s.MessagesByID(fx.ctx, fx.acct.ID, []store.MessageID{a[0].ID})
	must(t, err, "MessagesByID")
	before := fx.modseq(fx.acct.ID)
	must(t, fx.s.DeleteMailbox(fx.ctx, m.ID), "DeleteMailbox")
	if fx.modseq(fx.acct.ID) <= before {
		t.Fatalf("delete did not raise MODSEQ")
	}
	_, err = fx.s.Mailbox(fx.ctx, m.ID)
	wantErr(t, err, store.ErrNotFound, "Mailbox after delete")
	if got, _ := fx.s.MessagesByID(fx.ctx, fx.acct.ID, []store.MessageID{a[0].ID}); len(got) != 0 {
		t.Fatalf("messages of a deleted mailbox remain")
	}
	_, err = fx.s.OpenBlob(fx.ctx, msgs[0].BlobID)
	wantErr(t, err, store.ErrNotFound, "body of a message in a deleted mailbox")
	if _, err := fx.s.Mailbox(fx.ctx, child.ID); err != nil {
		t.Fatalf("child went with its parent: %v", err)
	}
	wantErr(t, fx.s.DeleteMailbox(fx.ctx, m.ID), store.ErrNotFound, "DeleteMailbox twice")
}

func testUIDValidityRecreate(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	seen := map[uint32]bool{}
	for i := 0; i < 3; i++ {
		m, err := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Again"})
		must(t, err, "CreateMailbox")
		if seen[m.UIDValidity] {
			t.Fatalf("UIDVALIDITY %d reused for a re-created mailbox", m.UIDValidity)
		}
		seen[m.UIDValidity] = true
		must(t, fx.s.DeleteMailbox(fx.ctx, m.ID), "DeleteMailbox")
	}
}

func testSubscribeSpecialUse(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	m, _ := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Stuff"})
	ms := fx.modseq(fx.acct.ID)
	must(t, fx.s.SetSubscribed(fx.ctx, m.ID, true), "SetSubscribed")
	got := fx.reload(m)
	if !got.Subscribed || got.ModSeq <= ms {
		t.Fatalf("after subscribe: %+v (modseq before %d)", got, ms)
	}
	must(t, fx.s.SetSpecialUse(fx.ctx, m.ID, store.SpecialArchive), "SetSpecialUse")
	got2 := fx.reload(m)
	if got2.SpecialUse != store.SpecialArchive || got2.ModSeq <= got.ModSeq {
		t.Fatalf("after SetSpecialUse: %+v", got2)
	}
	must(t, fx.s.SetSubscribed(fx.ctx, m.ID, false), "unsubscribe")
	if fx.reload(m).Subscribed {
		t.Fatalf("still subscribed")
	}
	wantErr(t, fx.s.SetSubscribed(fx.ctx, 999999, true), store.ErrNotFound, "SetSubscribed unknown")
}

func init() {
	register("DeleteMailboxLeavesTombstones", testDeleteMailboxTombstones)
}

// testDeleteMailboxTombstones: deleting a mailbox records its messages as
// expunged at the deletion's MODSEQ, for account-wide change logs.
func testDeleteMailboxTombstones(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	q, ok := fx.s.(store.Querier)
	if !ok {
		t.Skip("no store.Querier")
	}
	m, _ := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Gone"})
	a := fx.appendN(m, 2, 0)
	before := fx.modseq(fx.acct.ID)
	must(t, fx.s.DeleteMailbox(fx.ctx, m.ID), "DeleteMailbox")
	ch, err := q.AccountChanges(fx.ctx, fx.acct.ID, before, 100)
	must(t, err, "AccountChanges")
	gone := map[store.MessageID]bool{}
	for _, tb := range ch.Gone {
		gone[tb.MessageID] = true
	}
	if !gone[a[0].ID] || !gone[a[1].ID] {
		t.Fatalf("messages of a deleted mailbox not reported destroyed: %+v", ch)
	}
}
