package storetest

import (
	"slices"
	"testing"

	"posthorn/internal/store"
)

func init() {
	register("DomainCRUD", testDomainCRUD)
	register("DomainDeleteInUse", testDomainDeleteInUse)
	register("AccountCRUD", testAccountCRUD)
	register("AccountDuplicate", testAccountDuplicate)
	register("AccountUnknownDomain", testAccountUnknownDomain)
	register("AliasCRUD", testAliasCRUD)
	register("DeleteAccountRemovesEverything", testDeleteAccount)
}

func testDomainCRUD(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	must(t, fx.s.CreateDomain(fx.ctx, "b.test"), "CreateDomain")
	wantErr(t, fx.s.CreateDomain(fx.ctx, "b.test"), store.ErrExists, "duplicate CreateDomain")
	ds, err := fx.s.Domains(fx.ctx)
	must(t, err, "Domains")
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
		if d.CreatedAt.IsZero() {
			t.Errorf("domain %s has no CreatedAt", d.Name)
		}
	}
	if !slices.Equal(names, []string{"b.test", "example.test"}) {
		t.Fatalf("Domains = %v", names)
	}
	must(t, fx.s.DeleteDomain(fx.ctx, "b.test"), "DeleteDomain")
	wantErr(t, fx.s.DeleteDomain(fx.ctx, "b.test"), store.ErrNotFound, "DeleteDomain twice")
	ds, _ = fx.s.Domains(fx.ctx)
	if len(ds) != 1 {
		t.Fatalf("after delete: %v", ds)
	}
}

func testDomainDeleteInUse(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	wantErr(t, fx.s.DeleteDomain(fx.ctx, "example.test"), store.ErrNotEmpty, "DeleteDomain with an account")
	must(t, fx.s.CreateDomain(fx.ctx, "c.test"), "CreateDomain")
	must(t, fx.s.SetAlias(fx.ctx, store.Alias{Address: "x@c.test", Targets: []string{"alice@example.test"}}), "SetAlias")
	wantErr(t, fx.s.DeleteDomain(fx.ctx, "c.test"), store.ErrNotEmpty, "DeleteDomain with an alias")
	must(t, fx.s.DeleteAlias(fx.ctx, "x@c.test"), "DeleteAlias")
	must(t, fx.s.DeleteDomain(fx.ctx, "c.test"), "DeleteDomain after the alias went")
}

func testAccountCRUD(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	a := fx.acct
	if a.ID == 0 || a.Address != "alice@example.test" || a.Domain != "example.test" || a.PasswordHash != "hash-alice@example.test" {
		t.Fatalf("created account = %+v", a)
	}
	got, err := fx.s.Account(fx.ctx, a.ID)
	must(t, err, "Account")
	if got.Address != a.Address || got.ModSeq != a.ModSeq || got.CreatedAt.IsZero() {
		t.Fatalf("Account = %+v, created %+v", got, a)
	}
	got, err = fx.s.AccountByAddress(fx.ctx, "alice@example.test")
	must(t, err, "AccountByAddress")
	if got.ID != a.ID {
		t.Fatalf("AccountByAddress id = %d", got.ID)
	}
	_, err = fx.s.AccountByAddress(fx.ctx, "nobody@example.test")
	wantErr(t, err, store.ErrNotFound, "AccountByAddress unknown")

	must(t, fx.s.CreateDomain(fx.ctx, "other.test"), "CreateDomain")
	fx.account("bob@other.test")
	all, err := fx.s.Accounts(fx.ctx, "")
	must(t, err, "Accounts")
	if len(all) != 2 || all[0].Address != "alice@example.test" || all[1].Address != "bob@other.test" {
		t.Fatalf("Accounts() = %+v", all)
	}
	one, err := fx.s.Accounts(fx.ctx, "other.test")
	must(t, err, "Accounts(domain)")
	if len(one) != 1 || one[0].Address != "bob@other.test" {
		t.Fatalf("Accounts(other.test) = %+v", one)
	}

	must(t, fx.s.SetPassword(fx.ctx, a.ID, "new-hash"), "SetPassword")
	got, _ = fx.s.Account(fx.ctx, a.ID)
	if got.PasswordHash != "new-hash" {
		t.Fatalf("hash after SetPassword = %q", got.PasswordHash)
	}
	wantErr(t, fx.s.SetPassword(fx.ctx, 99999, "x"), store.ErrNotFound, "SetPassword unknown")

	mbs, err := fx.s.Mailboxes(fx.ctx, a.ID)
	must(t, err, "Mailboxes")
	if len(mbs) != len(standardMailboxes) {
		t.Fatalf("account has %d mailboxes, want %d", len(mbs), len(standardMailboxes))
	}
}

func testAccountDuplicate(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	_, err := fx.s.CreateAccount(fx.ctx, store.NewAccount{Address: "alice@example.test", Mailboxes: standardMailboxes})
	wantErr(t, err, store.ErrExists, "duplicate CreateAccount")
	// The failed create left nothing behind.
	all, _ := fx.s.Accounts(fx.ctx, "")
	if len(all) != 1 {
		t.Fatalf("accounts after failed create: %d", len(all))
	}
}

func testAccountUnknownDomain(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	_, err := fx.s.CreateAccount(fx.ctx, store.NewAccount{Address: "x@nowhere.test", Mailboxes: standardMailboxes})
	wantErr(t, err, store.ErrNotFound, "CreateAccount in an unknown domain")
	_, err = fx.s.CreateAccount(fx.ctx, store.NewAccount{Address: "no-at-sign"})
	wantErr(t, err, store.ErrInvalid, "CreateAccount without a domain")
}

func testAliasCRUD(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	must(t, fx.s.SetAlias(fx.ctx, store.Alias{Address: "team@example.test", Targets: []string{"alice@example.test", "bob@remote.test"}}), "SetAlias")
	a, err := fx.s.Alias(fx.ctx, "team@example.test")
	must(t, err, "Alias")
	if !slices.Equal(a.Targets, []string{"alice@example.test", "bob@remote.test"}) {
		t.Fatalf("targets = %v", a.Targets)
	}
	must(t, fx.s.SetAlias(fx.ctx, store.Alias{Address: "team@example.test", Targets: []string{"carol@example.test"}}), "SetAlias replace")
	a, _ = fx.s.Alias(fx.ctx, "team@example.test")
	if !slices.Equal(a.Targets, []string{"carol@example.test"}) {
		t.Fatalf("targets after replace = %v", a.Targets)
	}
	must(t, fx.s.SetAlias(fx.ctx, store.Alias{Address: "@example.test", Targets: []string{"alice@example.test"}}), "SetAlias catch-all")
	list, err := fx.s.Aliases(fx.ctx, "example.test")
	must(t, err, "Aliases")
	if len(list) != 2 || list[0].Address != "@example.test" {
		t.Fatalf("Aliases = %+v", list)
	}
	wantErr(t, fx.s.SetAlias(fx.ctx, store.Alias{Address: "x@unknown.test", Targets: []string{"a@b"}}), store.ErrNotFound, "SetAlias unknown domain")
	wantErr(t, fx.s.SetAlias(fx.ctx, store.Alias{Address: "x@example.test"}), store.ErrInvalid, "SetAlias without targets")
	must(t, fx.s.DeleteAlias(fx.ctx, "team@example.test"), "DeleteAlias")
	_, err = fx.s.Alias(fx.ctx, "team@example.test")
	wantErr(t, err, store.ErrNotFound, "Alias after delete")
	wantErr(t, fx.s.DeleteAlias(fx.ctx, "team@example.test"), store.ErrNotFound, "DeleteAlias twice")
}

func testDeleteAccount(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	bob := fx.account("bob@example.test")
	bobInbox := fx.mailbox(bob.ID, "INBOX")
	// One body shared by alice and bob: deleting alice must keep it for bob.
	shared := fx.blob(sampleBody(1))
	_, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{
		fx.newMessage(fx.inbox, shared, 0, nil), fx.newMessage(bobInbox, shared, 0, nil)}})
	must(t, err, "Append")
	own := fx.appendOne(fx.inbox, "alice only\r\n", 0, nil)
	ownMsg, err := fx.s.MessagesByID(fx.ctx, fx.acct.ID, []store.MessageID{own.ID})
	must(t, err, "MessagesByID")

	must(t, fx.s.DeleteAccount(fx.ctx, fx.acct.ID), "DeleteAccount")
	_, err = fx.s.Account(fx.ctx, fx.acct.ID)
	wantErr(t, err, store.ErrNotFound, "Account after delete")
	mbs, err := fx.s.Mailboxes(fx.ctx, fx.acct.ID)
	must(t, err, "Mailboxes")
	if len(mbs) != 0 {
		t.Fatalf("deleted account still has %d mailboxes", len(mbs))
	}
	if got := fx.readBlob(shared); got != sampleBody(1) {
		t.Fatalf("shared body changed: %q", got)
	}
	_, err = fx.s.OpenBlob(fx.ctx, ownMsg[0].BlobID)
	wantErr(t, err, store.ErrNotFound, "OpenBlob of a body only the deleted account had")
	wantErr(t, fx.s.DeleteAccount(fx.ctx, fx.acct.ID), store.ErrNotFound, "DeleteAccount twice")
}
