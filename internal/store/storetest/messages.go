package storetest

import (
	"bytes"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"posthorn/internal/store"
)

func init() {
	register("AppendAndRead", testAppendAndRead)
	register("UIDsIncrease", testUIDsIncrease)
	register("UIDsNotReusedAfterExpunge", testUIDsNotReused)
	register("ConcurrentAppend64", testConcurrentAppend)
	register("SharedBlob", testSharedBlob)
	register("AppendAtomic", testAppendAtomic)
	register("BlobAbort", testBlobAbort)
	register("MailboxCounters", testMailboxCounters)
	register("ModSeqRisesOnEveryChange", testModSeqRises)
	register("ThreadByReferences", testThreads)
	register("MessagesByIDOrder", testMessagesByID)
	register("ReopenKeepsData", testReopen)
	register("ConcurrentAppendsShareAStagedBlob", testConcurrentSharedBlob)
	register("LargeMixedUIDSets", testLargeUIDSets)
}

func testAppendAndRead(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	body := sampleBody(7)
	blob := fx.blob(body)
	if got := fx.readBlob(blob); got != body {
		t.Fatalf("finished blob reads %q", got)
	}
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	nm := store.NewMessage{
		AccountID: fx.acct.ID, MailboxID: fx.inbox.ID, BlobID: blob,
		Prefix: []byte("Return-Path: <bob@example.test>\r\n"), Flags: store.FlagSeen | store.FlagFlagged,
		Keywords: []string{"$Forwarded", "Work", "work"}, InternalDate: date,
		Index: store.MessageIndex{Date: date.Add(-time.Hour), Subject: "Grüße", BaseSubject: "grüße", From: "Bob <bob@example.test>",
			To: "alice@example.test", Cc: "carol@example.test", Bcc: "dave@example.test", SortFrom: "bob", SortTo: "alice", SortCc: "carol",
			MessageID: "<m7@example.test>", InReplyTo: "<m6@example.test>", References: []string{"<m5@example.test>", "<m6@example.test>"},
			HasAttachment: true, Preview: "Hello number 7."},
		Meta: []byte{0, 1, 2, 255},
		Text: "Hello number seven",
	}
	res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{nm}})
	must(t, err, "Append")
	a := res.Messages[0]
	if a.UID != 1 || a.ID == 0 || a.UIDValidity != fx.inbox.UIDValidity || a.MailboxID != fx.inbox.ID || a.ModSeq <= fx.acct.ModSeq {
		t.Fatalf("Appended = %+v", a)
	}
	msgs, err := fx.s.Messages(fx.ctx, fx.inbox.ID, store.AllUIDs)
	must(t, err, "Messages")
	if len(msgs) != 1 {
		t.Fatalf("Messages returned %d", len(msgs))
	}
	m := msgs[0]
	if m.ID != a.ID || m.UID != 1 || m.ModSeq != a.ModSeq || m.CreatedModSeq != a.ModSeq || m.Flags != nm.Flags {
		t.Fatalf("message = %+v", m)
	}
	if !slices.Equal(m.Keywords, []string{"$Forwarded", "Work"}) {
		t.Fatalf("keywords = %v, want normalized [$Forwarded Work]", m.Keywords)
	}
	if !m.InternalDate.Equal(date) || m.Size != int64(len(body)+len(nm.Prefix)) || m.BlobID != blob || !bytes.Equal(m.Prefix, nm.Prefix) {
		t.Fatalf("message = %+v", m)
	}
	if !bytes.Equal(m.Meta, nm.Meta) || m.ThreadID != int64(a.ID) || m.AccountID != fx.acct.ID || m.MailboxID != fx.inbox.ID {
		t.Fatalf("message = %+v", m)
	}
	ix := m.Index
	if !ix.Date.Equal(nm.Index.Date) {
		t.Fatalf("index date %v", ix.Date)
	}
	ix.Date = nm.Index.Date
	if !slices.Equal(ix.References, nm.Index.References) {
		t.Fatalf("references = %v", ix.References)
	}
	ix.References, nm.Index.References = nil, nil
	if !reflect.DeepEqual(ix, nm.Index) {
		t.Fatalf("index = %+v\nwant %+v", ix, nm.Index)
	}
	if got := fx.readBlob(m.BlobID); got != body {
		t.Fatalf("body = %q", got)
	}
	// Ranges, singles and misses in a UID set.
	fx.appendN(fx.inbox, 4, 0)
	got, err := fx.s.Messages(fx.ctx, fx.inbox.ID, store.UIDSet{{First: 2, Last: 3}, {First: 5, Last: 5}, {First: 9, Last: 12}})
	must(t, err, "Messages(set)")
	var gotUIDs []store.UID
	for _, m := range got {
		gotUIDs = append(gotUIDs, m.UID)
	}
	if !slices.Equal(gotUIDs, []store.UID{2, 3, 5}) {
		t.Fatalf("Messages(2:3,5,9:12) UIDs = %v", gotUIDs)
	}
}

func testUIDsIncrease(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a := fx.appendN(fx.inbox, 5, 0)
	for i, x := range a {
		if x.UID != store.UID(i+1) {
			t.Fatalf("message %d got UID %d", i, x.UID)
		}
	}
	mb := fx.reload(fx.inbox)
	if mb.UIDNext != 6 {
		t.Fatalf("UIDNEXT = %d, want 6", mb.UIDNext)
	}
}

func testUIDsNotReused(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	fx.appendN(fx.inbox, 3, store.FlagDeleted)
	gone, _, err := fx.s.Expunge(fx.ctx, fx.inbox.ID, store.AllUIDs, true)
	must(t, err, "Expunge")
	if !slices.Equal(gone, []store.UID{1, 2, 3}) {
		t.Fatalf("expunged %v", gone)
	}
	a := fx.appendN(fx.inbox, 1, 0)
	if a[0].UID != 4 {
		t.Fatalf("UID after expunge of 1:3 = %d, want 4", a[0].UID)
	}
}

func testConcurrentAppend(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	const writers, each = 64, 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []store.Appended
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				bw, err := fx.s.NewBlob(fx.ctx)
				if err != nil {
					errs <- err
					return
				}
				bw.Write([]byte(sampleBody(w*100 + i)))
				id, _, err := bw.Finish()
				if err != nil {
					errs <- err
					return
				}
				res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(fx.inbox, id, 0, nil)}})
				bw.Abort()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, res.Messages...)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	seen := map[store.UID]bool{}
	for _, a := range got {
		if seen[a.UID] {
			t.Fatalf("UID %d given twice", a.UID)
		}
		seen[a.UID] = true
	}
	mb, msgs := fx.state(fx.inbox)
	if len(msgs) != writers*each || mb.Total != writers*each || mb.UIDNext != store.UID(writers*each+1) {
		t.Fatalf("after %d appends: %d messages, Total %d, UIDNEXT %d", writers*each, len(msgs), mb.Total, mb.UIDNext)
	}
	// UIDs are assigned in commit order, so MODSEQ never falls as UID rises.
	for i := 1; i < len(msgs); i++ {
		if msgs[i].UID <= msgs[i-1].UID || msgs[i].ModSeq < msgs[i-1].ModSeq {
			t.Fatalf("UID/MODSEQ order broken at %d: %+v then %+v", i, msgs[i-1], msgs[i])
		}
	}
	for _, m := range msgs[:5] {
		full, _ := fx.s.Messages(fx.ctx, fx.inbox.ID, store.UIDSetOf(m.UID))
		if body := fx.readBlob(full[0].BlobID); len(body) < 50 {
			t.Fatalf("body of UID %d = %q", m.UID, body)
		}
	}
}

func testSharedBlob(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	bob := fx.account("bob@example.test")
	bobInbox := fx.mailbox(bob.ID, "INBOX")
	body := sampleBody(1)
	blob := fx.blob(body)
	res, err := fx.s.Append(fx.ctx, store.Batch{
		Messages: []store.NewMessage{fx.newMessage(fx.inbox, blob, 0, nil), fx.newMessage(bobInbox, blob, 0, nil)},
		Queue:    []store.QueueEntry{{Domain: "remote.test", From: "alice@example.test", BlobID: blob, Recipients: []store.QueueRecipient{{Address: "x@remote.test", Status: store.RcptPending}}}},
	})
	must(t, err, "Append")
	if len(res.Messages) != 2 || len(res.Queue) != 1 {
		t.Fatalf("result = %+v", res)
	}
	// Each reference goes; the body stays until the last.
	_, _, err = fx.s.Expunge(fx.ctx, fx.inbox.ID, store.AllUIDs, false)
	must(t, err, "Expunge alice")
	if fx.readBlob(blob) != body {
		t.Fatalf("body changed")
	}
	must(t, fx.s.DeleteQueueEntry(fx.ctx, "", res.Queue[0]), "DeleteQueueEntry")
	if fx.readBlob(blob) != body {
		t.Fatalf("body changed")
	}
	_, _, err = fx.s.Expunge(fx.ctx, bobInbox.ID, store.AllUIDs, false)
	must(t, err, "Expunge bob")
	_, err = fx.s.OpenBlob(fx.ctx, blob)
	wantErr(t, err, store.ErrNotFound, "OpenBlob after the last reference went")
}

func testAppendAtomic(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	blob := fx.blob(sampleBody(1))
	bad := fx.newMessage(fx.inbox, blob, 0, nil)
	bad.MailboxID = 999999
	_, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(fx.inbox, blob, 0, nil), bad}})
	wantErr(t, err, store.ErrNotFound, "Append to an unknown mailbox")
	mb, msgs := fx.state(fx.inbox)
	if len(msgs) != 0 || mb.Total != 0 || mb.UIDNext != 1 {
		t.Fatalf("failed batch left %d messages, UIDNEXT %d", len(msgs), mb.UIDNext)
	}
	// The body is still staged: a retry can use it.
	res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(fx.inbox, blob, 0, nil)}})
	must(t, err, "retry Append")
	if res.Messages[0].UID != 1 {
		t.Fatalf("retry got UID %d, want 1", res.Messages[0].UID)
	}
	_, err = fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(fx.inbox, "no-such-blob", 0, nil)}})
	wantErr(t, err, store.ErrNotFound, "Append naming an unknown blob")
}

func testBlobAbort(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	// Abort before Append: gone.
	w, err := fx.s.NewBlob(fx.ctx)
	must(t, err, "NewBlob")
	w.Write([]byte("x"))
	id, _, err := w.Finish()
	must(t, err, "Finish")
	w.Abort()
	w.Abort()
	_, err = fx.s.OpenBlob(fx.ctx, id)
	wantErr(t, err, store.ErrNotFound, "OpenBlob after Abort")
	_, err = fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(fx.inbox, id, 0, nil)}})
	wantErr(t, err, store.ErrNotFound, "Append of an aborted blob")
	// Abort after a committed Append: a no-op.
	w, _ = fx.s.NewBlob(fx.ctx)
	w.Write([]byte("kept\r\n"))
	id, _, _ = w.Finish()
	_, err = fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(fx.inbox, id, 0, nil)}})
	must(t, err, "Append")
	w.Abort()
	if fx.readBlob(id) != "kept\r\n" {
		t.Fatalf("Abort after commit removed the body")
	}
	// Abort without Finish.
	w, _ = fx.s.NewBlob(fx.ctx)
	w.Write([]byte("never"))
	w.Abort()
}

func testMailboxCounters(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	other := fx.mailbox(fx.acct.ID, "Archive")
	fx.appendOne(fx.inbox, "aaaa", store.FlagSeen, nil)
	fx.appendOne(fx.inbox, "bbbbbbbb", 0, nil)
	fx.appendOne(fx.inbox, "cc", 0, nil)
	check := func(m store.Mailbox, total, unseen int, size int64) {
		t.Helper()
		got := fx.reload(m)
		if got.Total != total || got.Unseen != unseen || got.Size != size {
			t.Fatalf("%s: total %d unseen %d size %d; want %d %d %d", got.Name, got.Total, got.Unseen, got.Size, total, unseen, size)
		}
	}
	check(fx.inbox, 3, 2, 14)
	_, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(2), Op: store.FlagsAdd, Flags: store.FlagSeen})
	must(t, err, "UpdateFlags")
	check(fx.inbox, 3, 1, 14)
	_, err = fx.s.CopyMessages(fx.ctx, fx.inbox.ID, store.UIDSetOf(1, 3), other.ID)
	must(t, err, "CopyMessages")
	check(other, 2, 1, 6)
	_, err = fx.s.MoveMessages(fx.ctx, fx.inbox.ID, store.UIDSetOf(3), other.ID)
	must(t, err, "MoveMessages")
	check(fx.inbox, 2, 0, 12)
	check(other, 3, 2, 8)
	_, _, err = fx.s.Expunge(fx.ctx, other.ID, store.UIDSetOf(1), false)
	must(t, err, "Expunge")
	check(other, 2, 2, 4)
}

func testModSeqRises(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	last := fx.modseq(fx.acct.ID)
	step := func(what string, do func()) {
		t.Helper()
		do()
		now := fx.modseq(fx.acct.ID)
		if now <= last {
			t.Fatalf("%s: MODSEQ %d did not rise above %d", what, now, last)
		}
		last = now
	}
	arch := fx.mailbox(fx.acct.ID, "Archive")
	var a store.Appended
	step("append", func() { a = fx.appendOne(fx.inbox, "x", 0, nil) })
	if a.ModSeq != last {
		t.Fatalf("appended MODSEQ %d, account %d", a.ModSeq, last)
	}
	step("flags", func() {
		r, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.AllUIDs, Op: store.FlagsAdd, Flags: store.FlagSeen})
		must(t, err, "UpdateFlags")
		if len(r.Updated) != 1 || r.Updated[0].ModSeq != r.ModSeq {
			t.Fatalf("UpdateFlags result %+v", r)
		}
	})
	step("keywords", func() {
		_, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.AllUIDs, Op: store.FlagsAdd, Keywords: []string{"k"}})
		must(t, err, "UpdateFlags keywords")
	})
	step("copy", func() {
		_, err := fx.s.CopyMessages(fx.ctx, fx.inbox.ID, store.AllUIDs, arch.ID)
		must(t, err, "CopyMessages")
	})
	step("move", func() {
		_, err := fx.s.MoveMessages(fx.ctx, arch.ID, store.AllUIDs, fx.mailbox(fx.acct.ID, "Trash").ID)
		must(t, err, "MoveMessages")
	})
	step("expunge", func() {
		_, _, err := fx.s.Expunge(fx.ctx, fx.inbox.ID, store.AllUIDs, false)
		must(t, err, "Expunge")
	})
	var m store.Mailbox
	step("create mailbox", func() {
		var err error
		m, err = fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "New"})
		must(t, err, "CreateMailbox")
	})
	step("rename", func() { must(t, fx.s.RenameMailbox(fx.ctx, m.ID, "Newer"), "RenameMailbox") })
	step("subscribe", func() { must(t, fx.s.SetSubscribed(fx.ctx, m.ID, true), "SetSubscribed") })
	step("delete mailbox", func() { must(t, fx.s.DeleteMailbox(fx.ctx, m.ID), "DeleteMailbox") })
	// A change that changes nothing need not raise it.
	r, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: arch.ID, UIDs: store.AllUIDs, Op: store.FlagsAdd, Flags: store.FlagSeen})
	must(t, err, "no-op UpdateFlags")
	if len(r.Updated) != 0 || r.ModSeq != last {
		t.Fatalf("no-op UpdateFlags: %+v (account MODSEQ %d)", r, last)
	}
}

func testThreads(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	add := func(msgID, inReplyTo string, refs ...string) store.Appended {
		nm := fx.newMessage(fx.inbox, fx.blob(msgID), 0, nil)
		nm.Index = store.MessageIndex{MessageID: msgID, InReplyTo: inReplyTo, References: refs}
		res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{nm}})
		must(t, err, "Append")
		return res.Messages[0]
	}
	root := add("<root@x>", "")
	reply := add("<r1@x>", "<root@x>", "<root@x>")
	deep := add("<r2@x>", "", "<root@x>", "<r1@x>")
	other := add("<other@x>", "<unknown@x>")
	if root.ThreadID != int64(root.ID) {
		t.Fatalf("root thread %d, id %d", root.ThreadID, root.ID)
	}
	if reply.ThreadID != root.ThreadID || deep.ThreadID != root.ThreadID {
		t.Fatalf("replies not in the root's thread: %d %d %d", root.ThreadID, reply.ThreadID, deep.ThreadID)
	}
	if other.ThreadID == root.ThreadID {
		t.Fatalf("unrelated message joined the thread")
	}
	// Threads stay within an account.
	bob := fx.account("bob@example.test")
	binbox := fx.mailbox(bob.ID, "INBOX")
	nm := fx.newMessage(binbox, fx.blob("b"), 0, nil)
	nm.Index = store.MessageIndex{MessageID: "<b@x>", InReplyTo: "<root@x>"}
	res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{nm}})
	must(t, err, "Append bob")
	if res.Messages[0].ThreadID == root.ThreadID {
		t.Fatalf("thread crossed accounts")
	}
}

func testMessagesByID(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a := fx.appendN(fx.inbox, 3, 0)
	got, err := fx.s.MessagesByID(fx.ctx, fx.acct.ID, []store.MessageID{a[2].ID, 999999, a[0].ID})
	must(t, err, "MessagesByID")
	if len(got) != 2 || got[0].ID != a[2].ID || got[1].ID != a[0].ID {
		t.Fatalf("MessagesByID order/misses wrong: %d results", len(got))
	}
	bob := fx.account("bob@example.test")
	got, _ = fx.s.MessagesByID(fx.ctx, bob.ID, []store.MessageID{a[0].ID})
	if len(got) != 0 {
		t.Fatalf("MessagesByID crossed accounts")
	}
}

func testReopen(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a := fx.appendOne(fx.inbox, "persist me\r\n", store.FlagSeen, []string{"kw"})
	must(t, fx.s.Close(), "Close")
	s2, err := f.Open(fx.ctx, fx.loc)
	must(t, err, "reopen")
	defer s2.Close()
	msgs, err := s2.MessagesByID(fx.ctx, fx.acct.ID, []store.MessageID{a.ID})
	must(t, err, "MessagesByID after reopen")
	if len(msgs) != 1 || msgs[0].Flags != store.FlagSeen || !slices.Equal(msgs[0].Keywords, []string{"kw"}) {
		t.Fatalf("after reopen: %+v", msgs)
	}
	fx.s = s2
	if fx.readBlob(msgs[0].BlobID) != "persist me\r\n" {
		t.Fatalf("body lost across reopen")
	}
}

// testConcurrentSharedBlob: several Appends at once name one staged body
// (likely in one group commit); all succeed and the body is counted right.
func testConcurrentSharedBlob(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	blob := fx.blob(sampleBody(1))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{fx.newMessage(fx.inbox, blob, 0, nil)}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent Append of one staged blob")
	}
	_, _, err := fx.s.Expunge(fx.ctx, fx.inbox.ID, store.UIDSet{{First: 1, Last: 7}}, false)
	must(t, err, "Expunge 1:7")
	if fx.readBlob(blob) != sampleBody(1) {
		t.Fatal("body gone while a message still names it")
	}
	_, _, err = fx.s.Expunge(fx.ctx, fx.inbox.ID, store.AllUIDs, false)
	must(t, err, "Expunge the last")
	_, err = fx.s.OpenBlob(fx.ctx, blob)
	wantErr(t, err, store.ErrNotFound, "body after its last message went")
}

// testLargeUIDSets: sets of thousands of ranges, mixed single UIDs and
// ranges, unordered and overlapping (as IMAP clients send them) select
// each message once, in UID order, for reads and writes alike.
func testLargeUIDSets(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	const n = 300
	for i := 0; i < n; i++ {
		fx.appendOne(fx.inbox, "x", 0, nil)
	}
	var set store.UIDSet
	want := map[store.UID]bool{}
	for u := store.UID(n); u >= 1; u -= 3 { // descending singles
		set = append(set, store.UIDRange{First: u, Last: u})
		want[u] = true
	}
	for u := store.UID(1); u+1 <= n; u += 7 { // overlapping, reversed ranges
		set = append(set, store.UIDRange{First: u + 1, Last: u})
		want[u], want[u+1] = true, true
	}
	for i := 0; i < 1500; i++ { // many duplicate terms
		set = append(set, store.UIDRange{First: 2, Last: 2})
	}
	want[2] = true
	got, err := fx.s.Messages(fx.ctx, fx.inbox.ID, set)
	must(t, err, "Messages with a large set")
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i, m := range got {
		if !want[m.UID] || (i > 0 && got[i-1].UID >= m.UID) {
			t.Fatalf("message %d: UID %d (order or membership wrong)", i, m.UID)
		}
	}
	r, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: set, Op: store.FlagsAdd, Flags: store.FlagFlagged})
	must(t, err, "UpdateFlags with a large set")
	if len(r.Updated) != len(want) {
		t.Fatalf("flagged %d, want %d", len(r.Updated), len(want))
	}
}
