package mailauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"posthorn/internal/mailauth"
	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/servertest"
	"posthorn/internal/store"
	"posthorn/internal/store/sqlite"
)

// TestSignedMailThroughOurMX signs a message as example.org, sends it over
// SMTP to a whole Posthorn (its MX listener on 127.0.0.1), reads it back
// from the recipient's INBOX as IMAP would serve it (Return-Path and our
// Received added), and verifies the signatures there.
func TestSignedMailThroughOurMX(t *testing.T) {
	ctx := context.Background()
	senderStore, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer senderStore.Close()
	if err := senderStore.CreateDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	keys, err := mailauth.NewKeys(senderStore, nil).Generate(ctx, "example.org", true)
	if err != nil {
		t.Fatal(err)
	}
	zone := dnstest.NewZone().AddTXT("_dmarc.example.org", "v=DMARC1; p=reject")
	for _, k := range keys {
		sk, _, _ := mailauth.ParseKey(k.PrivateKey)
		rec, _ := mailauth.KeyRecord(sk)
		zone.AddTXT(mailauth.RecordName(k.Domain, k.Selector), rec)
	}
	msg := "From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nSubject: through the MX\r\n" +
		"Message-ID: <mx-roundtrip@example.org>\r\n\r\nHello Alice.\r\n.a dot-stuffed line\r\n"
	sig, err := mailauth.NewSigner(mailauth.SignerOptions{Keys: senderStore}).Sign(ctx, "example.org", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}

	s := servertest.Start(t)
	c, err := smtp.Dial(s.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("carol@example.org", []string{"alice@example.test"}, strings.NewReader(sig+msg)); err != nil {
		t.Fatal(err)
	}
	stored := inboxMessage(t, s, "alice@example.test")
	if !strings.Contains(stored, "Received: ") || !strings.HasSuffix(stored, msg) {
		t.Fatalf("stored message:\n%s", stored)
	}
	v, err := mailauth.NewChecker(mailauth.Options{Resolver: zone, Hostname: "mx.example.test"}).Check(ctx, mailauth.Input{
		RemoteIP: netip.MustParseAddr("127.0.0.1"), Helo: "localhost", MailFrom: "carol@example.org", Message: strings.NewReader(stored)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.DKIM) != 2 || v.DKIM[0].Result != mailauth.DKIMPass || v.DKIM[1].Result != mailauth.DKIMPass || v.DMARC.Result != mailauth.DMARCPass {
		t.Fatalf("after our MX: DKIM %+v DMARC %+v", v.DKIM, v.DMARC)
	}
}

// inboxMessage returns the one message of a user's INBOX, prefix and body.
func inboxMessage(t *testing.T, s *servertest.Server, user string) string {
	t.Helper()
	ctx := context.Background()
	a, err := s.Accounts.User(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Store.MailboxByName(ctx, a.ID, store.InboxName)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Store.Messages(ctx, mb.ID, store.AllUIDs)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("INBOX holds %d messages: %v", len(msgs), err)
	}
	b, err := s.Store.OpenBlob(ctx, msgs[0].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	body, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(msgs[0].Prefix) + string(body)
}
