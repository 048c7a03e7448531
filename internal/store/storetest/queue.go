package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"posthorn/internal/store"
)

func init() {
	register("QueueRoundTrip", testQueueRoundTrip)
	register("ClaimOnlyDue", testClaimOnlyDue)
	register("ClaimersNeverShare", testClaimersNeverShare)
	register("ExpiredLeaseReturns", testExpiredLease)
	register("SaveReleasesLease", testSaveReleases)
	register("RescheduleQueue", testReschedule)
	register("AdminBlockedWhileLeased", testAdminBlocked)
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func (fx *fixture) enqueue(domain string, next time.Time, rcpts ...string) store.QueueID {
	fx.t.Helper()
	q := store.QueueEntry{Domain: domain, From: "alice@example.test", BlobID: fx.blob(sampleBody(1)), CreatedAt: next, NextAttempt: next}
	for _, r := range rcpts {
		q.Recipients = append(q.Recipients, store.QueueRecipient{Address: r, Status: store.RcptPending})
	}
	res, err := fx.s.Append(fx.ctx, store.Batch{Queue: []store.QueueEntry{q}})
	if err != nil {
		fx.t.Fatalf("enqueue: %v", err)
	}
	return res.Queue[0]
}

func testQueueRoundTrip(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	blob := fx.blob(sampleBody(1))
	in := store.QueueEntry{
		Domain: "remote.test", From: "", BlobID: blob, Prefix: []byte("DKIM-Signature: x\r\n"),
		EnvID: "env1", Ret: "HDRS", Body8Bit: true, SMTPUTF8: true, AccountID: fx.acct.ID, CreatedAt: t0, NextAttempt: t0.Add(time.Minute),
		Recipients: []store.QueueRecipient{
			{Address: "a@remote.test", Status: store.RcptPending, Notify: "FAILURE,DELAY", ORcpt: "rfc822;a@remote.test"},
			{Address: "b@remote.test", Status: store.RcptPending},
		},
	}
	res, err := fx.s.Append(fx.ctx, store.Batch{Queue: []store.QueueEntry{in}})
	must(t, err, "Append queue")
	q, err := fx.s.QueueEntry(fx.ctx, res.Queue[0])
	must(t, err, "QueueEntry")
	if q.ID != res.Queue[0] || q.Domain != in.Domain || q.From != "" || q.BlobID != blob || string(q.Prefix) != string(in.Prefix) ||
		q.EnvID != "env1" || q.Ret != "HDRS" || !q.Body8Bit || !q.SMTPUTF8 || q.AccountID != fx.acct.ID ||
		!q.CreatedAt.Equal(t0) || !q.NextAttempt.Equal(in.NextAttempt) || q.Attempts != 0 || q.LeaseOwner != "" {
		t.Fatalf("queue entry = %+v", q)
	}
	if q.Size != int64(len(sampleBody(1))+len(in.Prefix)) {
		t.Fatalf("size = %d", q.Size)
	}
	if !slices.Equal(q.Recipients, in.Recipients) {
		t.Fatalf("recipients = %+v", q.Recipients)
	}
	all, err := fx.s.QueueEntries(fx.ctx)
	must(t, err, "QueueEntries")
	if len(all) != 1 {
		t.Fatalf("QueueEntries = %d", len(all))
	}
	at, ok, err := fx.s.NextQueueAttempt(fx.ctx)
	must(t, err, "NextQueueAttempt")
	if !ok || !at.Equal(in.NextAttempt) {
		t.Fatalf("NextQueueAttempt = %v %v", at, ok)
	}
	must(t, fx.s.DeleteQueueEntry(fx.ctx, "", q.ID), "DeleteQueueEntry")
	_, err = fx.s.QueueEntry(fx.ctx, q.ID)
	wantErr(t, err, store.ErrNotFound, "QueueEntry after delete")
	_, ok, _ = fx.s.NextQueueAttempt(fx.ctx)
	if ok {
		t.Fatalf("NextQueueAttempt on an empty queue says ok")
	}
	_, err = fx.s.OpenBlob(fx.ctx, blob)
	wantErr(t, err, store.ErrNotFound, "blob of a deleted queue entry")
}

func testClaimOnlyDue(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	due1 := fx.enqueue("a.test", t0, "x@a.test")
	due2 := fx.enqueue("b.test", t0.Add(time.Second), "y@b.test")
	fx.enqueue("a.test", t0.Add(time.Hour), "z@a.test")
	got, err := fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n1", Now: t0.Add(time.Minute), Lease: time.Minute, Limit: 10})
	must(t, err, "ClaimQueue")
	if len(got) != 2 || got[0].ID != due1 || got[1].ID != due2 {
		t.Fatalf("claimed %+v", got)
	}
	if got[0].LeaseOwner != "n1" || !got[0].LeaseUntil.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("lease = %q until %v", got[0].LeaseOwner, got[0].LeaseUntil)
	}
	// Domain filter and limit.
	fx.enqueue("c.test", t0, "1@c.test")
	fx.enqueue("c.test", t0, "2@c.test")
	fx.enqueue("d.test", t0, "3@d.test")
	got, err = fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n1", Now: t0.Add(time.Minute), Lease: time.Minute, Limit: 1, Domain: "c.test"})
	must(t, err, "ClaimQueue domain")
	if len(got) != 1 || got[0].Domain != "c.test" {
		t.Fatalf("claim for c.test got %+v", got)
	}
	_, err = fx.s.ClaimQueue(fx.ctx, store.Claim{Now: t0, Limit: 1})
	wantErr(t, err, store.ErrInvalid, "claim without owner")
}

func testClaimersNeverShare(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	const n = 60
	for i := 0; i < n; i++ {
		fx.enqueue(fmt.Sprintf("d%d.test", i%7), t0, fmt.Sprintf("r%d@x.test", i))
	}
	var mu sync.Mutex
	owner := map[store.QueueID]string{}
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			me := fmt.Sprintf("node%d", c)
			for {
				got, err := fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: me, Now: t0, Lease: time.Hour, Limit: 3})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, q := range got {
					if prev, ok := owner[q.ID]; ok {
						t.Errorf("entry %d claimed by %s and %s", q.ID, prev, me)
					}
					owner[q.ID] = me
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	if len(owner) != n {
		t.Fatalf("claimed %d of %d entries", len(owner), n)
	}
}

func testExpiredLease(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	id := fx.enqueue("a.test", t0, "x@a.test")
	got, _ := fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "dead", Now: t0, Lease: time.Minute, Limit: 5})
	if len(got) != 1 {
		t.Fatalf("first claim got %d", len(got))
	}
	got, _ = fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "other", Now: t0.Add(30 * time.Second), Lease: time.Minute, Limit: 5})
	if len(got) != 0 {
		t.Fatalf("claimed an entry under a live lease")
	}
	at, _, _ := fx.s.NextQueueAttempt(fx.ctx)
	if !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextQueueAttempt under lease = %v, want the lease's end", at)
	}
	got, _ = fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "other", Now: t0.Add(2 * time.Minute), Lease: time.Minute, Limit: 5})
	if len(got) != 1 || got[0].ID != id || got[0].LeaseOwner != "other" {
		t.Fatalf("expired lease not returned: %+v", got)
	}
	q := got[0]
	q.Attempts = 1
	wantErr(t, fx.s.SaveQueueEntry(fx.ctx, "dead", q), store.ErrLeaseLost, "save by the old owner")
	wantErr(t, fx.s.DeleteQueueEntry(fx.ctx, "dead", q.ID), store.ErrLeaseLost, "delete by the old owner")
	must(t, fx.s.SaveQueueEntry(fx.ctx, "other", q), "save by the new owner")
}

func testSaveReleases(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	fx.enqueue("a.test", t0, "x@a.test", "y@a.test")
	got, _ := fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n1", Now: t0, Lease: time.Hour, Limit: 1})
	q := got[0]
	q.Recipients[0].Status = store.RcptDelivered
	q.Recipients[0].LastReply = "250 2.0.0 ok"
	q.Recipients[1].LastReply = "451 4.3.0 later"
	q.Recipients[1].Attempts = 1
	q.Attempts, q.LastError, q.DelayNotified = 1, "451 4.3.0 later", true
	q.NextAttempt = t0.Add(5 * time.Minute)
	must(t, fx.s.SaveQueueEntry(fx.ctx, "n1", q), "SaveQueueEntry")
	back, err := fx.s.QueueEntry(fx.ctx, q.ID)
	must(t, err, "QueueEntry")
	if back.LeaseOwner != "" || !back.LeaseUntil.IsZero() || back.Attempts != 1 || back.LastError != q.LastError || !back.DelayNotified ||
		!back.NextAttempt.Equal(q.NextAttempt) || !slices.Equal(back.Recipients, q.Recipients) {
		t.Fatalf("saved entry = %+v", back)
	}
	got, _ = fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n2", Now: t0.Add(time.Minute), Lease: time.Hour, Limit: 1})
	if len(got) != 0 {
		t.Fatalf("claimed before the next attempt")
	}
	got, _ = fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n2", Now: t0.Add(5 * time.Minute), Lease: time.Hour, Limit: 1})
	if len(got) != 1 {
		t.Fatalf("not claimable at the next attempt")
	}
}

func testReschedule(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a := fx.enqueue("a.test", t0.Add(time.Hour), "x@a.test")
	fx.enqueue("b.test", t0.Add(2*time.Hour), "y@b.test")
	must(t, fx.s.RescheduleQueue(fx.ctx, a, t0), "RescheduleQueue one")
	got, _ := fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n", Now: t0, Lease: time.Second, Limit: 5})
	if len(got) != 1 || got[0].ID != a {
		t.Fatalf("after rescheduling one: %+v", got)
	}
	must(t, fx.s.RescheduleQueue(fx.ctx, 0, t0.Add(-time.Minute)), "RescheduleQueue all")
	got, _ = fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n", Now: t0.Add(2 * time.Second), Lease: time.Second, Limit: 5})
	if len(got) != 2 {
		t.Fatalf("after rescheduling all: %d due", len(got))
	}
	wantErr(t, fx.s.RescheduleQueue(fx.ctx, 999999, t0), store.ErrNotFound, "reschedule unknown")
}

func testAdminBlocked(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	id := fx.enqueue("a.test", time.Now().Add(-time.Minute), "x@a.test")
	got, _ := fx.s.ClaimQueue(fx.ctx, store.Claim{Owner: "n", Now: time.Now(), Lease: time.Hour, Limit: 5})
	if len(got) != 1 {
		t.Fatalf("claim got %d", len(got))
	}
	wantErr(t, fx.s.DeleteQueueEntry(fx.ctx, "", id), store.ErrLeaseLost, "admin delete under a live lease")
	must(t, fx.s.SaveQueueEntry(fx.ctx, "n", got[0]), "release")
	must(t, fx.s.DeleteQueueEntry(fx.ctx, "", id), "admin delete after release")
}
