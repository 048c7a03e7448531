package mailbox

import (
	"errors"
	"testing"

	"posthorn/internal/store"
)

// noQuerier hides a store's Querier.
type noQuerier struct{ store.Store }

func TestQueryChecksOwnership(t *testing.T) {
	fx := newFixture(t)
	other, err := fx.st.CreateAccount(fx.ctx, store.NewAccount{Address: "b@example.test", PasswordHash: "x",
		Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := fx.st.MailboxByName(fx.ctx, other.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	inbox := fx.mailbox("INBOX")
	fx.add("INBOX", 3, func(i int) string { return "Subject: m\r\n\r\nbody\r\n" }, 0)

	res, err := fx.svc.Query(fx.ctx, MessageQuery{Account: fx.acct.ID, Filter: &MessageFilter{InMailbox: inbox.ID}, CalculateTotal: true})
	if err != nil || res.Total != 3 || len(res.IDs) != 3 {
		t.Fatalf("own inbox: %+v, %v", res, err)
	}
	// Another account's mailbox, even nested in an operator, is not found.
	for _, f := range []*MessageFilter{
		{InMailbox: theirs.ID},
		{Op: FilterOr, Children: []MessageFilter{{InMailbox: inbox.ID}, {NotInMailboxes: []MailboxID{theirs.ID}}}},
	} {
		if _, err := fx.svc.Query(fx.ctx, MessageQuery{Account: fx.acct.ID, Filter: f}); !errors.Is(err, ErrNotFound) {
			t.Errorf("filter %+v: err = %v, want ErrNotFound", f, err)
		}
	}
	// A mailbox id that cannot exist matches nothing instead.
	res, err = fx.svc.Query(fx.ctx, MessageQuery{Account: fx.acct.ID, Filter: &MessageFilter{InMailbox: -1}})
	if err != nil || len(res.IDs) != 0 {
		t.Errorf("impossible mailbox: %+v, %v", res, err)
	}
	if _, _, err := fx.svc.ThreadCounts(fx.ctx, fx.acct.ID, theirs.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("thread counts of another account's mailbox: %v", err)
	}
	total, unread, err := fx.svc.ThreadCounts(fx.ctx, fx.acct.ID, inbox.ID)
	if err != nil || total != 3 || unread != 3 {
		t.Errorf("thread counts: %d %d %v", total, unread, err)
	}
	ms, mbs, err := fx.svc.AccountState(fx.ctx, fx.acct.ID)
	if err != nil || len(mbs) != 2 {
		t.Fatalf("AccountState: %v %v", mbs, err)
	}
	if now, err := fx.svc.AccountModSeq(fx.ctx, fx.acct.ID); err != nil || now != ms {
		t.Errorf("AccountModSeq %d, AccountState %d, %v", now, ms, err)
	}
	ch, err := fx.svc.AccountChanges(fx.ctx, fx.acct.ID, 0, 100)
	if err != nil || len(ch.Messages) != 3 || ch.UpTo != ms {
		t.Errorf("AccountChanges: %+v, %v", ch, err)
	}
}

func TestQueryNeedsQuerier(t *testing.T) {
	fx := newFixture(t, func(s store.Store) store.Store { return noQuerier{s} })
	if _, err := fx.svc.Query(fx.ctx, MessageQuery{Account: fx.acct.ID}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Query: %v", err)
	}
	if _, _, err := fx.svc.AccountState(fx.ctx, fx.acct.ID); !errors.Is(err, ErrUnsupported) {
		t.Errorf("AccountState: %v", err)
	}
}
