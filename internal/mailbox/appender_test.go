package mailbox

import (
	"errors"
	"strings"
	"testing"
)

func TestAppenderAllOrNothing(t *testing.T) {
	fx := newFixture(t)
	inbox := fx.mailbox("INBOX")
	a, err := fx.svc.NewAppender(fx.ctx, fx.acct.ID, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := a.Add(fx.ctx, NewMessage{Body: strings.NewReader(plain(i))}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := a.Commit(fx.ctx)
	if err != nil || len(res) != 3 || res[2].UID != 3 {
		t.Fatalf("%v %v", res, err)
	}
	// An aborted append stores nothing.
	b, _ := fx.svc.NewAppender(fx.ctx, fx.acct.ID, inbox.ID)
	b.Add(fx.ctx, NewMessage{Body: strings.NewReader(plain(9))})
	b.Abort()
	b.Abort()
	if mb := fx.mailbox("INBOX"); mb.Total != 3 {
		t.Errorf("after abort: %d messages", mb.Total)
	}
	// Too big.
	small := New(Options{Store: fx.st, MaxMessageSize: 10})
	defer small.Close()
	c, _ := small.NewAppender(fx.ctx, fx.acct.ID, inbox.ID)
	if err := c.Add(fx.ctx, NewMessage{Body: strings.NewReader(plain(1))}); !errors.Is(err, ErrTooBig) {
		t.Errorf("err = %v, want ErrTooBig", err)
	}
	c.Abort()
	// Another account's mailbox.
	other, _ := fx.st.CreateAccount(fx.ctx, storeAccount("b@example.test"))
	if _, err := fx.svc.NewAppender(fx.ctx, other.ID, inbox.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}
