package storetest

import (
	"slices"
	"testing"

	"posthorn/internal/store"
)

func init() {
	register("UpdateFlagsOps", testUpdateFlagsOps)
	register("UnchangedSince", testUnchangedSince)
	register("CopyGivesNewUIDs", testCopy)
	register("MoveKeepsIDs", testMove)
	register("ExpungeOnlyDeleted", testExpungeOnlyDeleted)
	register("ChangesSince", testChangesSince)
	register("CrossAccountCopyRefused", testCrossAccount)
}

func testUpdateFlagsOps(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	fx.appendOne(fx.inbox, "x", store.FlagSeen, []string{"A"})
	upd := func(op store.FlagOp, fl store.Flags, kw ...string) store.MessageFlags {
		t.Helper()
		_, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(1), Op: op, Flags: fl, Keywords: kw})
		must(t, err, "UpdateFlags")
		_, msgs := fx.state(fx.inbox)
		return msgs[0]
	}
	m := upd(store.FlagsAdd, store.FlagFlagged|store.FlagAnswered, "b", "a")
	if m.Flags != store.FlagSeen|store.FlagFlagged|store.FlagAnswered || !slices.Equal(m.Keywords, []string{"A", "b"}) {
		t.Fatalf("after add: %+v", m)
	}
	m = upd(store.FlagsRemove, store.FlagSeen, "B")
	if m.Flags != store.FlagFlagged|store.FlagAnswered || !slices.Equal(m.Keywords, []string{"A"}) {
		t.Fatalf("after remove: %+v", m)
	}
	m = upd(store.FlagsReplace, store.FlagDraft, "z", "y")
	if m.Flags != store.FlagDraft || !slices.Equal(m.Keywords, []string{"y", "z"}) {
		t.Fatalf("after replace: %+v", m)
	}
	m = upd(store.FlagsReplace, 0)
	if m.Flags != 0 || len(m.Keywords) != 0 {
		t.Fatalf("after clearing: %+v", m)
	}
	r, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: 999999, UIDs: store.AllUIDs, Op: store.FlagsAdd, Flags: store.FlagSeen})
	wantErr(t, err, store.ErrNotFound, "UpdateFlags of an unknown mailbox")
	_ = r
}

func testUnchangedSince(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a := fx.appendN(fx.inbox, 2, 0)
	// Change message 2 after the client's bookmark.
	r, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(2), Op: store.FlagsAdd, Keywords: []string{"x"}})
	must(t, err, "UpdateFlags")
	bookmark := a[1].ModSeq
	if r.ModSeq <= bookmark {
		t.Fatalf("MODSEQ did not rise")
	}
	r, err = fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.AllUIDs, Op: store.FlagsAdd, Flags: store.FlagSeen, UnchangedSince: bookmark})
	must(t, err, "UpdateFlags UNCHANGEDSINCE")
	if !slices.Equal(r.Modified, []store.UID{2}) || len(r.Updated) != 1 || r.Updated[0].UID != 1 {
		t.Fatalf("UNCHANGEDSINCE result: %+v", r)
	}
	_, msgs := fx.state(fx.inbox)
	if msgs[1].Flags&store.FlagSeen != 0 {
		t.Fatalf("modified message was changed anyway")
	}
}

func testCopy(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	arch := fx.mailbox(fx.acct.ID, "Archive")
	fx.appendN(arch, 2, 0) // dst already has UIDs 1, 2
	src := fx.appendN(fx.inbox, 3, store.FlagSeen)
	fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(3), Op: store.FlagsAdd, Keywords: []string{"kw"}})
	maps, err := fx.s.CopyMessages(fx.ctx, fx.inbox.ID, store.UIDSet{{First: 1, Last: 1}, {First: 3, Last: 10}}, arch.ID)
	must(t, err, "CopyMessages")
	if len(maps) != 2 || maps[0].Src != 1 || maps[0].Dst != 3 || maps[1].Src != 3 || maps[1].Dst != 4 {
		t.Fatalf("COPYUID mapping = %+v", maps)
	}
	if maps[0].ID == src[0].ID {
		t.Fatalf("copy kept the source's id")
	}
	copies, err := fx.s.Messages(fx.ctx, arch.ID, store.UIDSetOf(3, 4))
	must(t, err, "Messages")
	if copies[1].Flags != store.FlagSeen || !slices.Equal(copies[1].Keywords, []string{"kw"}) || copies[1].ThreadID != int64(src[2].ThreadID) {
		t.Fatalf("copy lost flags or thread: %+v", copies[1])
	}
	_, srcMsgs := fx.state(fx.inbox)
	if len(srcMsgs) != 3 {
		t.Fatalf("source changed by copy")
	}
	if fx.reload(arch).UIDNext != 5 {
		t.Fatalf("dst UIDNEXT = %d", fx.reload(arch).UIDNext)
	}
	// Expunging the original keeps the copy's body.
	fx.s.Expunge(fx.ctx, fx.inbox.ID, store.AllUIDs, false)
	if fx.readBlob(copies[0].BlobID) == "" {
		t.Fatalf("copy's body gone")
	}
	maps, err = fx.s.CopyMessages(fx.ctx, fx.inbox.ID, store.AllUIDs, arch.ID)
	must(t, err, "CopyMessages of nothing")
	if len(maps) != 0 {
		t.Fatalf("copied from an empty mailbox: %+v", maps)
	}
}

func testMove(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	trash := fx.mailbox(fx.acct.ID, "Trash")
	src := fx.appendN(fx.inbox, 3, 0)
	maps, err := fx.s.MoveMessages(fx.ctx, fx.inbox.ID, store.UIDSetOf(1, 2), trash.ID)
	must(t, err, "MoveMessages")
	if len(maps) != 2 || maps[0].Dst != 1 || maps[1].Dst != 2 || maps[0].ID != src[0].ID || maps[1].ID != src[1].ID {
		t.Fatalf("move mapping = %+v", maps)
	}
	_, left := fx.state(fx.inbox)
	if !slices.Equal(uids(left), []store.UID{3}) {
		t.Fatalf("source after move: %v", uids(left))
	}
	moved, _ := fx.s.MessagesByID(fx.ctx, fx.acct.ID, []store.MessageID{src[0].ID})
	if moved[0].MailboxID != trash.ID || moved[0].UID != 1 {
		t.Fatalf("moved message: %+v", moved[0])
	}
	_, _, gone, err := fx.s.ChangesSince(fx.ctx, fx.inbox.ID, src[2].ModSeq)
	must(t, err, "ChangesSince")
	if len(gone) != 2 || !gone[0].Moved || gone[0].UID != 1 || gone[0].MessageID != src[0].ID {
		t.Fatalf("tombstones after move: %+v", gone)
	}
	_, err = fx.s.MoveMessages(fx.ctx, trash.ID, store.AllUIDs, trash.ID)
	wantErr(t, err, store.ErrInvalid, "move into the same mailbox")
}

func testExpungeOnlyDeleted(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	fx.appendN(fx.inbox, 4, 0)
	fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(2, 4), Op: store.FlagsAdd, Flags: store.FlagDeleted})
	gone, ms, err := fx.s.Expunge(fx.ctx, fx.inbox.ID, store.UIDSet{{First: 1, Last: 3}}, true)
	must(t, err, "Expunge")
	if !slices.Equal(gone, []store.UID{2}) || ms == 0 {
		t.Fatalf("UID EXPUNGE 1:3 removed %v", gone)
	}
	gone, _, _ = fx.s.Expunge(fx.ctx, fx.inbox.ID, store.AllUIDs, true)
	if !slices.Equal(gone, []store.UID{4}) {
		t.Fatalf("EXPUNGE removed %v", gone)
	}
	_, left := fx.state(fx.inbox)
	if !slices.Equal(uids(left), []store.UID{1, 3}) {
		t.Fatalf("left %v", uids(left))
	}
	gone, _, err = fx.s.Expunge(fx.ctx, fx.inbox.ID, store.AllUIDs, true)
	must(t, err, "Expunge of nothing")
	if len(gone) != 0 {
		t.Fatalf("expunged %v without \\Deleted", gone)
	}
}

func testChangesSince(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a := fx.appendN(fx.inbox, 4, 0)
	bookmark := a[3].ModSeq
	fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(2), Op: store.FlagsAdd, Flags: store.FlagSeen})
	fx.s.Expunge(fx.ctx, fx.inbox.ID, store.UIDSetOf(3), false)
	added := fx.appendOne(fx.inbox, "new", 0, nil)
	mb, changed, gone, err := fx.s.ChangesSince(fx.ctx, fx.inbox.ID, bookmark)
	must(t, err, "ChangesSince")
	if !slices.Equal(uids(changed), []store.UID{2, 5}) {
		t.Fatalf("changed = %v, want [2 5]", uids(changed))
	}
	if len(gone) != 1 || gone[0].UID != 3 || gone[0].Moved {
		t.Fatalf("tombstones = %+v", gone)
	}
	if mb.HighestModSeq != added.ModSeq || changed[1].ModSeq != added.ModSeq {
		t.Fatalf("HIGHESTMODSEQ %d, appended at %d", mb.HighestModSeq, added.ModSeq)
	}
	_, changed, gone, _ = fx.s.ChangesSince(fx.ctx, fx.inbox.ID, mb.HighestModSeq)
	if len(changed)+len(gone) != 0 {
		t.Fatalf("changes after HIGHESTMODSEQ: %v %v", changed, gone)
	}
	_, _, _, err = fx.s.ChangesSince(fx.ctx, 999999, 0)
	wantErr(t, err, store.ErrNotFound, "ChangesSince unknown mailbox")
}

func testCrossAccount(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	bob := fx.account("bob@example.test")
	fx.appendN(fx.inbox, 1, 0)
	_, err := fx.s.CopyMessages(fx.ctx, fx.inbox.ID, store.AllUIDs, fx.mailbox(bob.ID, "INBOX").ID)
	wantErr(t, err, store.ErrInvalid, "copy across accounts")
	_, err = fx.s.MoveMessages(fx.ctx, fx.inbox.ID, store.AllUIDs, fx.mailbox(bob.ID, "INBOX").ID)
	wantErr(t, err, store.ErrInvalid, "move across accounts")
}
