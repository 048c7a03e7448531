package useragent

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"posthorn/internal/servertest"
)

// posthornSetup runs the scenario against a whole Posthorn on 127.0.0.1.
func posthornSetup(t *testing.T) (mailSetup, *servertest.Server) {
	s := servertest.Start(t)
	s.AddUser(t, "carol@example.test")
	s.AddUser(t, "dave@example.test")
	port := func(name string) int {
		_, p, err := net.SplitHostPort(s.Addr(name))
		if err != nil {
			t.Fatalf("listener %s: %v", name, err)
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	smtpPort, imapPort := port("submission"), port("imap")
	return mailSetup{
		account: func(user string) Account {
			return Account{Server: "127.0.0.1", SMTPPort: smtpPort, IMAPPort: imapPort, User: user, Password: servertest.Password, Insecure: true}
		},
		imapAddr: s.Addr("imap"),
		sender:   "alice@example.test", to: "bob@example.test", cc: "carol@example.test", bcc: "dave@example.test",
		addr: func(u string) string { return u },
	}, s
}

func TestScenarioPosthorn(t *testing.T) {
	setup, _ := posthornSetup(t)
	runScenario(t, setup)
}

func TestSendRefusals(t *testing.T) {
	setup, _ := posthornSetup(t)
	ctx := context.Background()
	draft := Draft{To: []string{"bob@example.test"}, Subject: "x", Body: "y"}

	// Without Insecure the self-signed certificate is refused.
	acct := setup.account("alice@example.test")
	acct.Insecure = false
	if _, err := newAgent(t, acct).Send(ctx, draft); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("send to a self-signed server without --insecure: %v", err)
	}
	if _, err := newAgent(t, acct).Folders(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("IMAP to a self-signed server without --insecure: %v", err)
	}

	acct = setup.account("alice@example.test")
	acct.Password = "wrong"
	if _, err := newAgent(t, acct).Send(ctx, draft); err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("send with a wrong password: %v", err)
	}

	// One unknown local recipient stops the whole message.
	a := newAgent(t, setup.account("alice@example.test"))
	bad := draft
	bad.To = []string{"bob@example.test", "nobody@example.test"}
	bad.Subject = "must not arrive"
	if _, err := a.Send(ctx, bad); err == nil || !strings.Contains(err.Error(), "nobody@example.test") {
		t.Errorf("send to an unknown recipient: %v", err)
	}
	l, err := newAgent(t, setup.account("bob@example.test")).Search(ctx, "", []string{"subject:must not arrive"}, 0)
	if err != nil || len(l.Messages) != 0 {
		t.Errorf("bob got the refused message: %+v %v", l, err)
	}
	if _, err := a.Read(ctx, 4242, ReadOptions{}); !errors.Is(err, ErrNoMessage) {
		t.Errorf("read of a missing ID: %v", err)
	}
	if _, err := a.Delete(ctx, "", 4242); !errors.Is(err, ErrNoMessage) {
		t.Errorf("delete of a missing ID: %v", err)
	}
	if err := a.Move(ctx, "INBOX", 1, "INBOX"); err == nil {
		t.Error("move to the same folder succeeded")
	}
}

func TestNewNeedsServerAndUser(t *testing.T) {
	if _, err := New(Account{User: "a@b"}, Options{}); err == nil {
		t.Error("no server accepted")
	}
	if _, err := New(Account{Server: "h"}, Options{}); err == nil {
		t.Error("no user accepted")
	}
	a, err := New(Account{Server: "h", User: "u"}, Options{})
	if err != nil || a.acct.SMTPPort != DefaultSMTPPort || a.acct.IMAPPort != DefaultIMAPPort {
		t.Errorf("defaults: %+v %v", a, err)
	}
}
