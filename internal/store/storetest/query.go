package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"posthorn/internal/store"
)

// Conformance of store.Querier (JMAP Email/query, /changes, Thread/get).

func init() {
	register("QueryOrderAndPaging", testQueryOrderAndPaging)
	register("QueryFilters", testQueryFilters)
	register("QueryFullText", testQueryFullText)
	register("QueryCollapseThreads", testQueryCollapseThreads)
	register("QueryAccountChanges", testQueryAccountChanges)
	register("QueryAccountChangesLimit", testQueryAccountChangesLimit)
}

// querier returns the store as a Querier, failing the test if it is not.
func (fx *fixture) querier() store.Querier {
	fx.t.Helper()
	q, ok := fx.s.(store.Querier)
	if !ok {
		fx.t.Fatalf("%T does not implement store.Querier", fx.s)
	}
	return q
}

// qmsg describes a message for the query tests.
type qmsg struct {
	mb       store.Mailbox
	date     time.Time
	flags    store.Flags
	kw       []string
	from     string
	subject  string
	msgID    string
	refs     []string
	attach   bool
	text     string
	bodySize int
}

func (fx *fixture) appendQ(m qmsg) store.Appended {
	fx.t.Helper()
	body := fmt.Sprintf("Subject: %s\r\n\r\n%s\r\n", m.subject, m.text)
	for len(body) < m.bodySize {
		body += "padding padding padding padding\r\n"
	}
	nm := store.NewMessage{
		AccountID: m.mb.AccountID, MailboxID: m.mb.ID, BlobID: fx.blob(body), Flags: m.flags, Keywords: m.kw,
		InternalDate: m.date,
		Index: store.MessageIndex{Subject: m.subject, BaseSubject: m.subject, From: m.from, MessageID: m.msgID,
			References: m.refs, HasAttachment: m.attach, Date: m.date},
		Meta: []byte("meta"), Text: m.subject + "\n" + m.text,
	}
	if len(m.refs) > 0 {
		nm.Index.InReplyTo = m.refs[len(m.refs)-1]
	}
	res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{nm}})
	if err != nil {
		fx.t.Fatalf("Append: %v", err)
	}
	return res.Messages[0]
}

func day(n int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }

func ids(as []store.Appended, idx ...int) []store.MessageID {
	out := make([]store.MessageID, len(idx))
	for i, j := range idx {
		out[i] = as[j].ID
	}
	return out
}

func (fx *fixture) query(q store.Querier, mq store.MessageQuery) store.QueryResult {
	fx.t.Helper()
	mq.Account = fx.acct.ID
	res, err := q.QueryMessages(fx.ctx, mq)
	if err != nil {
		fx.t.Fatalf("QueryMessages(%+v): %v", mq, err)
	}
	return res
}

func wantIDs(t *testing.T, what string, got, want []store.MessageID) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: ids = %v, want %v", what, got, want)
	}
}

func testQueryOrderAndPaging(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	q := fx.querier()
	arch := fx.mailbox(fx.acct.ID, "Archive")
	// Dates out of append order; two share a date (the id breaks the tie).
	dates := []int{5, 1, 9, 3, 3, 7}
	var as []store.Appended
	for i, d := range dates {
		as = append(as, fx.appendQ(qmsg{mb: fx.inbox, date: day(d), subject: fmt.Sprintf("m%d", i), bodySize: 100 * (i + 1)}))
	}
	other := fx.appendQ(qmsg{mb: arch, date: day(4), subject: "elsewhere"})
	inbox := &store.MessageFilter{InMailbox: fx.inbox.ID}

	res := fx.query(q, store.MessageQuery{Filter: inbox, CalculateTotal: true})
	wantIDs(t, "newest first", res.IDs, ids(as, 2, 5, 0, 4, 3, 1))
	if res.Total != 6 || res.Position != 0 {
		t.Errorf("total, position = %d, %d; want 6, 0", res.Total, res.Position)
	}
	res = fx.query(q, store.MessageQuery{Filter: inbox, Sort: []store.MessageSort{{Key: store.SortReceivedAt, Ascending: true}}})
	wantIDs(t, "oldest first", res.IDs, ids(as, 1, 3, 4, 0, 5, 2))
	if res.Total != -1 {
		t.Errorf("total not asked for = %d, want -1", res.Total)
	}
	res = fx.query(q, store.MessageQuery{Filter: inbox, Position: 2, Limit: 3})
	wantIDs(t, "page", res.IDs, ids(as, 0, 4, 3))
	res = fx.query(q, store.MessageQuery{Filter: inbox, Sort: []store.MessageSort{{Key: store.SortSize}}, Limit: 2})
	wantIDs(t, "by size", res.IDs, ids(as, 5, 4))
	res = fx.query(q, store.MessageQuery{Filter: inbox, Anchor: as[0].ID, AnchorOffset: 1, Limit: 2})
	wantIDs(t, "anchor+1", res.IDs, ids(as, 4, 3))
	if res.Position != 3 {
		t.Errorf("anchor position = %d, want 3", res.Position)
	}
	res = fx.query(q, store.MessageQuery{Filter: inbox, Anchor: as[5].ID, AnchorOffset: -5, Limit: 1})
	if res.Position != 0 || !slices.Equal(res.IDs, ids(as, 2)) {
		t.Errorf("anchor-5 clamps to 0: position %d ids %v", res.Position, res.IDs)
	}
	_, err := q.QueryMessages(fx.ctx, store.MessageQuery{Account: fx.acct.ID, Filter: inbox, Anchor: other.ID})
	wantErr(t, err, store.ErrNotFound, "anchor outside the results")

	all := fx.query(q, store.MessageQuery{CalculateTotal: true})
	if all.Total != 7 || all.IDs[3] != other.ID { // days 9, 7, 5, then 4
		t.Errorf("whole account: total %d ids %v", all.Total, all.IDs)
	}
	bob := fx.account("bob@example.test")
	if res, err := q.QueryMessages(fx.ctx, store.MessageQuery{Account: bob.ID, CalculateTotal: true}); err != nil || res.Total != 0 || len(res.IDs) != 0 {
		t.Errorf("another account sees %v (total %d), err %v", res.IDs, res.Total, err)
	}
	res, err = q.QueryMessages(fx.ctx, store.MessageQuery{Account: bob.ID, Filter: inbox, CalculateTotal: true})
	if err != nil || res.Total != 0 || len(res.IDs) != 0 {
		t.Errorf("another account's mailbox named in the filter: %v (total %d), err %v", res.IDs, res.Total, err)
	}
}

func testQueryFilters(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	q := fx.querier()
	as := []store.Appended{
		fx.appendQ(qmsg{mb: fx.inbox, date: day(1), flags: store.FlagSeen, from: "Anna <anna@example.test>", subject: "Lunch plans", bodySize: 50}),
		fx.appendQ(qmsg{mb: fx.inbox, date: day(2), kw: []string{"$Label1"}, from: "bob@example.test", subject: "Quarterly REPORT", attach: true, bodySize: 5000}),
		fx.appendQ(qmsg{mb: fx.inbox, date: day(3), flags: store.FlagFlagged | store.FlagSeen, from: "carol@example.test", subject: "lunch again", bodySize: 500}),
	}
	cases := []struct {
		name string
		f    store.MessageFilter
		want []int
	}{
		{"seen", store.MessageFilter{HasFlags: store.FlagSeen}, []int{2, 0}},
		{"unseen", store.MessageFilter{NotFlags: store.FlagSeen}, []int{1}},
		{"seen and flagged", store.MessageFilter{HasFlags: store.FlagSeen | store.FlagFlagged}, []int{2}},
		{"keyword any case", store.MessageFilter{HasKeyword: "$label1"}, []int{1}},
		{"not keyword", store.MessageFilter{NotKeyword: "$LABEL1"}, []int{2, 0}},
		{"attachment", store.MessageFilter{HasAttachment: store.TriYes}, []int{1}},
		{"no attachment", store.MessageFilter{HasAttachment: store.TriNo}, []int{2, 0}},
		{"before", store.MessageFilter{Before: day(2)}, []int{0}},
		{"after", store.MessageFilter{After: day(2)}, []int{2, 1}},
		{"min size", store.MessageFilter{MinSize: 1000}, []int{1}},
		{"max size", store.MessageFilter{MaxSize: 1000}, []int{2, 0}},
		{"from substring", store.MessageFilter{From: "ANNA"}, []int{0}},
		{"subject substring", store.MessageFilter{Subject: "lunch"}, []int{2, 0}},
		{"subject with LIKE wildcards", store.MessageFilter{Subject: "%"}, nil},
		{"or", store.MessageFilter{Op: store.FilterOr, Children: []store.MessageFilter{{From: "bob"}, {From: "carol"}}}, []int{2, 1}},
		{"not", store.MessageFilter{Op: store.FilterNot, Children: []store.MessageFilter{{From: "bob"}, {From: "carol"}}}, []int{0}},
		{"and", store.MessageFilter{Op: store.FilterAnd, Children: []store.MessageFilter{{Subject: "lunch"}, {HasFlags: store.FlagFlagged}}}, []int{2}},
		{"empty and", store.MessageFilter{Op: store.FilterAnd}, []int{2, 1, 0}},
		{"empty or", store.MessageFilter{Op: store.FilterOr}, nil},
		{"other mailboxes", store.MessageFilter{NotInMailboxes: []store.MailboxID{fx.inbox.ID}}, nil},
	}
	for _, c := range cases {
		res := fx.query(q, store.MessageQuery{Filter: &c.f, CalculateTotal: true})
		wantIDs(t, c.name, res.IDs, ids(as, c.want...))
		if res.Total != len(c.want) {
			t.Errorf("%s: total = %d, want %d", c.name, res.Total, len(c.want))
		}
	}
}

func testQueryFullText(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	q := fx.querier()
	as := []store.Appended{
		fx.appendQ(qmsg{mb: fx.inbox, date: day(1), subject: "one", text: "The quarterly report is attached"}),
		fx.appendQ(qmsg{mb: fx.inbox, date: day(2), subject: "two", text: "Reporting lines changed"}),
		fx.appendQ(qmsg{mb: fx.inbox, date: day(3), subject: "three", text: "Nothing to see"}),
	}
	other := fx.account("bob@example.test")
	obox := fx.mailbox(other.ID, "INBOX")
	fx.appendQ(qmsg{mb: obox, date: day(1), subject: "bob's", text: "quarterly report for bob"})
	for _, c := range []struct {
		text string
		want []int
	}{
		{"quarterly report", []int{0}},
		{"REPORT", []int{1, 0}}, // the last word is a prefix: "reporting" too
		{"report quarterly", []int{0}},
		{"lines", []int{1}},
		{"absent", nil},
		{`"; DROP TABLE messages; --`, nil}, // only words reach the index
		{"!!!", nil},
	} {
		res := fx.query(q, store.MessageQuery{Filter: &store.MessageFilter{Text: c.text}})
		wantIDs(t, "text "+c.text, res.IDs, ids(as, c.want...))
	}
}

func testQueryCollapseThreads(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	q := fx.querier()
	arch := fx.mailbox(fx.acct.ID, "Archive")
	a := fx.appendQ(qmsg{mb: fx.inbox, date: day(1), subject: "root", msgID: "<root@x>"})
	b := fx.appendQ(qmsg{mb: arch, date: day(3), subject: "re: root", msgID: "<r1@x>", refs: []string{"<root@x>"}})
	c := fx.appendQ(qmsg{mb: fx.inbox, date: day(2), subject: "other", msgID: "<other@x>"})
	d := fx.appendQ(qmsg{mb: fx.inbox, date: day(4), subject: "re: re: root", msgID: "<r2@x>", refs: []string{"<root@x>", "<r1@x>"}})
	if b.ThreadID != a.ThreadID || d.ThreadID != a.ThreadID || c.ThreadID == a.ThreadID {
		t.Fatalf("threads: %d %d %d %d", a.ThreadID, b.ThreadID, c.ThreadID, d.ThreadID)
	}
	res := fx.query(q, store.MessageQuery{CollapseThreads: true, CalculateTotal: true})
	wantIDs(t, "collapsed", res.IDs, []store.MessageID{d.ID, c.ID})
	if res.Total != 2 {
		t.Errorf("collapsed total = %d, want 2", res.Total)
	}
	res = fx.query(q, store.MessageQuery{CollapseThreads: true, Filter: &store.MessageFilter{InMailbox: fx.inbox.ID}, Anchor: c.ID})
	wantIDs(t, "collapsed from anchor", res.IDs, []store.MessageID{c.ID})
	members, err := q.ThreadMembers(fx.ctx, fx.acct.ID, []int64{a.ThreadID, c.ThreadID})
	must(t, err, "ThreadMembers")
	var got []store.MessageID
	for _, m := range members {
		got = append(got, m.ID)
	}
	// Thread a (a.ID) comes before thread c (a later id); inside it, by date.
	wantIDs(t, "thread members by thread then date", got, []store.MessageID{a.ID, b.ID, d.ID, c.ID})
	total, unread, err := q.MailboxThreadCounts(fx.ctx, fx.inbox.ID)
	must(t, err, "MailboxThreadCounts")
	if total != 2 || unread != 2 {
		t.Errorf("inbox threads = %d, unread %d; want 2, 2", total, unread)
	}
	_, err = fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.AllUIDs, Op: store.FlagsAdd, Flags: store.FlagSeen})
	must(t, err, "UpdateFlags")
	if _, unread, _ = q.MailboxThreadCounts(fx.ctx, fx.inbox.ID); unread != 0 {
		t.Errorf("unread threads after reading all = %d", unread)
	}
}

func testQueryAccountChanges(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	q := fx.querier()
	arch := fx.mailbox(fx.acct.ID, "Archive")
	as := fx.appendN(fx.inbox, 4, 0)
	since := fx.modseq(fx.acct.ID)
	_, err := fx.s.UpdateFlags(fx.ctx, store.FlagUpdate{MailboxID: fx.inbox.ID, UIDs: store.UIDSetOf(as[0].UID), Op: store.FlagsAdd, Flags: store.FlagSeen})
	must(t, err, "UpdateFlags")
	_, err = fx.s.MoveMessages(fx.ctx, fx.inbox.ID, store.UIDSetOf(as[1].UID), arch.ID)
	must(t, err, "MoveMessages")
	_, _, err = fx.s.Expunge(fx.ctx, fx.inbox.ID, store.UIDSetOf(as[2].UID), false)
	must(t, err, "Expunge")
	added := fx.appendOne(fx.inbox, sampleBody(9), 0, nil)
	now := fx.modseq(fx.acct.ID)

	ch, err := q.AccountChanges(fx.ctx, fx.acct.ID, since, 100)
	must(t, err, "AccountChanges")
	if ch.More || ch.UpTo != now {
		t.Errorf("More %v UpTo %d; want false, %d", ch.More, ch.UpTo, now)
	}
	created, updated := map[store.MessageID]bool{}, map[store.MessageID]bool{}
	for _, m := range ch.Messages {
		if m.ModSeq <= since {
			t.Errorf("message %d with MODSEQ %d <= since %d", m.ID, m.ModSeq, since)
		}
		if m.CreatedModSeq > since {
			created[m.ID] = true
		} else {
			updated[m.ID] = true
		}
	}
	if !created[added.ID] || len(created) != 1 {
		t.Errorf("created = %v, want only %d", created, added.ID)
	}
	if !updated[as[0].ID] || !updated[as[1].ID] || len(updated) != 2 {
		t.Errorf("updated = %v, want %d (flags) and %d (moved, same id)", updated, as[0].ID, as[1].ID)
	}
	var destroyed, moved []store.MessageID
	for _, g := range ch.Gone {
		if g.Moved {
			moved = append(moved, g.MessageID)
		} else {
			destroyed = append(destroyed, g.MessageID)
		}
	}
	wantIDs(t, "destroyed", destroyed, []store.MessageID{as[2].ID})
	wantIDs(t, "moved away", moved, []store.MessageID{as[1].ID})
	for i := 1; i < len(ch.Messages); i++ {
		if ch.Messages[i].ModSeq < ch.Messages[i-1].ModSeq {
			t.Errorf("messages not in MODSEQ order: %+v", ch.Messages)
		}
	}
	ms, mbs, err := q.AccountState(fx.ctx, fx.acct.ID)
	must(t, err, "AccountState")
	if ms != now || len(mbs) != len(standardMailboxes) || !slices.IsSortedFunc(mbs, func(a, b store.Mailbox) int {
		return strings.Compare(a.Name, b.Name)
	}) {
		t.Errorf("AccountState = %d, %d mailboxes; want %d, %d sorted by name", ms, len(mbs), now, len(standardMailboxes))
	}
	if _, _, err := q.AccountState(fx.ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AccountState of a missing account: %v", err)
	}
	ch, err = q.AccountChanges(fx.ctx, fx.acct.ID, now, 100)
	must(t, err, "AccountChanges at the current MODSEQ")
	if len(ch.Messages)+len(ch.Gone) != 0 || ch.More || ch.UpTo != now {
		t.Errorf("no changes expected: %+v", ch)
	}
	_, err = q.AccountChanges(fx.ctx, 1<<40, 0, 10)
	wantErr(t, err, store.ErrNotFound, "AccountChanges of a missing account")
}

func testQueryAccountChangesLimit(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	q := fx.querier()
	since := fx.modseq(fx.acct.ID)
	fx.appendN(fx.inbox, 3, 0) // three transactions
	// One transaction that changes four messages at once.
	res, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{
		fx.newMessage(fx.inbox, fx.blob("a"), 0, nil), fx.newMessage(fx.inbox, fx.blob("b"), 0, nil),
		fx.newMessage(fx.inbox, fx.blob("c"), 0, nil), fx.newMessage(fx.inbox, fx.blob("d"), 0, nil),
	}})
	must(t, err, "Append batch")
	batchMS := res.Messages[0].ModSeq
	total := 0
	cur := since
	for rounds := 0; ; rounds++ {
		if rounds > 10 {
			t.Fatal("AccountChanges does not make progress")
		}
		ch, err := q.AccountChanges(fx.ctx, fx.acct.ID, cur, 2)
		must(t, err, "AccountChanges")
		inBatch := 0
		for _, m := range ch.Messages {
			if m.ModSeq > ch.UpTo || m.ModSeq <= cur {
				t.Errorf("change at %d outside (%d, %d]", m.ModSeq, cur, ch.UpTo)
			}
			if m.ModSeq == batchMS {
				inBatch++
			}
		}
		if inBatch != 0 && inBatch != 4 {
			t.Errorf("the batch's MODSEQ was split: %d of 4 messages", inBatch)
		}
		if len(ch.Messages) > 2 && ch.UpTo != batchMS {
			t.Errorf("%d changes past the limit outside one transaction", len(ch.Messages))
		}
		total += len(ch.Messages)
		if ch.UpTo <= cur && ch.More {
			t.Fatalf("UpTo %d did not advance past %d", ch.UpTo, cur)
		}
		cur = ch.UpTo
		if !ch.More {
			break
		}
	}
	if total != 7 {
		t.Errorf("saw %d changes in all, want 7", total)
	}
	if cut, more := store.ChangesCut(nil, nil, 0); more || cut != 0 {
		t.Errorf("ChangesCut of nothing = %d, %v", cut, more)
	}
}
