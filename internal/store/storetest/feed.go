package storetest

import (
	"sync"
	"testing"
	"time"

	"posthorn/internal/store"
)

func init() {
	register("ChangeFeedOrder", testChangeFeedOrder)
	register("ChangeFeedOnlyAfterCommit", testChangeFeedOnlyCommitted)
}

// recorder collects changes from the feed.
type recorder struct {
	mu      sync.Mutex
	changes []store.Change
}

func (r *recorder) add(cs []store.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, cs...)
	r.mu.Unlock()
}

// waitFor waits until pred holds for the collected changes.
func (r *recorder) waitFor(t *testing.T, what string, pred func([]store.Change) bool) []store.Change {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		cs := append([]store.Change(nil), r.changes...)
		r.mu.Unlock()
		if pred(cs) {
			return cs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; have %+v", what, cs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func kinds(cs []store.Change, account store.AccountID) []store.ChangeKind {
	var out []store.ChangeKind
	for _, c := range cs {
		if c.AccountID == account {
			out = append(out, c.Kind)
		}
	}
	return out
}

func testChangeFeedOrder(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	rec := &recorder{}
	cancel := fx.s.Subscribe(rec.add)
	defer cancel()
	arch := fx.mailbox(fx.acct.ID, "Archive")
	fx.appendN(fx.inbox, 3, 0)
	fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(1), Op: store.FlagsAdd, Flags: store.FlagSeen})
	fx.s.MoveMessages(fx.ctx, fx.inbox.ID, store.UIDSetOf(2), arch.ID)
	fx.s.Expunge(fx.ctx, fx.inbox.ID, store.UIDSetOf(3), false)
	fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Feed"})
	fx.enqueue("remote.test", t0, "x@remote.test")
	final := fx.modseq(fx.acct.ID)

	cs := rec.waitFor(t, "the queue change", func(cs []store.Change) bool {
		for _, c := range cs {
			if c.Kind == store.ChangeQueue {
				return true
			}
		}
		return false
	})
	var last store.ModSeq
	for _, c := range cs {
		if c.AccountID != fx.acct.ID {
			continue
		}
		if c.ModSeq < last {
			t.Fatalf("changes out of MODSEQ order: %+v", cs)
		}
		last = c.ModSeq
	}
	if last != final {
		t.Fatalf("last change MODSEQ %d, account at %d", last, final)
	}
	want := []store.ChangeKind{store.ChangeMessageAdded, store.ChangeMessageAdded, store.ChangeMessageAdded, store.ChangeMessageFlags,
		store.ChangeMessageExpunged, store.ChangeMessageAdded, store.ChangeMessageExpunged, store.ChangeMailbox}
	got := kinds(cs, fx.acct.ID)
	if len(got) != len(want) {
		t.Fatalf("change kinds = %v, want %v", got, want)
	}
	// Within one transaction (the move) the order of its two changes is free.
	for i := range want {
		if got[i] != want[i] && !(i == 4 || i == 5) {
			t.Fatalf("change kinds = %v, want %v", got, want)
		}
	}
	for _, c := range cs {
		if c.Kind == store.ChangeMessageFlags && c.MailboxID != fx.inbox.ID {
			t.Fatalf("flag change names mailbox %d", c.MailboxID)
		}
	}
}

func testChangeFeedOnlyCommitted(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	rec := &recorder{}
	cancel := fx.s.Subscribe(rec.add)
	defer cancel()
	bad := fx.newMessage(fx.inbox, fx.blob("x"), 0, nil)
	bad2 := bad
	bad2.MailboxID = 999999
	if _, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{bad, bad2}}); err == nil {
		t.Fatalf("Append to an unknown mailbox succeeded")
	}
	// A marker write afterwards: once its change is seen, anything the
	// failed write published would have been seen too.
	m, err := fx.s.CreateMailbox(fx.ctx, fx.acct.ID, store.NewMailbox{Name: "Marker"})
	must(t, err, "CreateMailbox")
	cs := rec.waitFor(t, "the marker", func(cs []store.Change) bool {
		for _, c := range cs {
			if c.MailboxID == m.ID {
				return true
			}
		}
		return false
	})
	for _, c := range cs {
		if c.Kind == store.ChangeMessageAdded {
			t.Fatalf("a rolled-back append was published: %+v", cs)
		}
	}
	if fx.reload(fx.inbox).Total != 0 {
		t.Fatalf("rolled-back append left messages")
	}
}
