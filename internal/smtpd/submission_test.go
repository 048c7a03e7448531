package smtpd

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/message"
	"posthorn/internal/store"
)

// Submission policy (issue 3, item 3; RFC 6409).

func TestSubmissionNeedsAuth(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	rc.expect("MAIL FROM:<alice@example.test>", "530 5.7.0 ")
	rc.expect("RCPT TO:<bob@example.test>", "503 5.5.1 ")
	rc.expect("DATA", "503 5.5.1 ")
	e.nothingStored()
}

func TestSubmissionWrongCredentials(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	if got := rc.auth("alice@example.test", "wrong"); !strings.HasPrefix(got, "535 5.7.8 ") {
		t.Fatalf("wrong password: %q", got)
	}
	if got := rc.auth("nobody@example.test", password); !strings.HasPrefix(got, "535 5.7.8 ") {
		t.Fatalf("unknown user: %q", got)
	}
	// PLAIN with an authorization identity other than the user.
	authz := base64.StdEncoding.EncodeToString([]byte("bob@example.test\x00alice@example.test\x00" + password))
	rc.expect("AUTH PLAIN "+authz, "535 5.7.8 ")
	// LOGIN: username and password each after a challenge.
	rc.expect("AUTH LOGIN", "334 VXNlcm5hbWU6") // "Username:"
	rc.expect(base64.StdEncoding.EncodeToString([]byte("alice@example.test")), "334 UGFzc3dvcmQ6")
	rc.expect(base64.StdEncoding.EncodeToString([]byte("nope")), "535 5.7.8 ")
	rc.expect("MAIL FROM:<alice@example.test>", "530 5.7.0 ")
	rc.expect("AUTH LOGIN "+base64.StdEncoding.EncodeToString([]byte("alice@example.test")), "334 UGFzc3dvcmQ6")
	rc.expect(base64.StdEncoding.EncodeToString([]byte(password)), "235 2.0.0 ")
	rc.expect("AUTH PLAIN "+plain("alice@example.test", password), "503 5.5.1 ") // once per session
	rc.expect("MAIL FROM:<alice@example.test>", "250 ")
}

func TestSubmissionMalformedSASL(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	rc.expect("AUTH PLAIN !!!notbase64", "501 5.5.2 ")
	// Valid base64 of something that is not a PLAIN message (no NULs).
	rc.expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("just-a-name")), "501 5.5.2 ")
	rc.expect("AUTH LOGIN", "334 ")
	rc.expect("*", "501 ") // RFC 4954 §4: the client cancels
	rc.expect("AUTH CRAM-MD5", "504 5.7.4 ")
	rc.expect("AUTH", "501 ")
}

func TestSubmissionLoginBackoff(t *testing.T) {
	// The clock stands still, so the back-off after the account's free
	// failures lasts for the whole test.
	frozen := time.Date(2024, 3, 9, 17, 4, 5, 0, time.UTC)
	e := newEnv(t, withAccounts(func(o *account.Options) { o.Now = func() time.Time { return frozen } }))
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	for i := range 5 {
		if got := rc.auth("alice@example.test", "wrong"); !strings.HasPrefix(got, "535 5.7.8 ") {
			t.Fatalf("failure %d: %q", i+1, got)
		}
	}
	// Even the right password is not checked while the account waits.
	if got := rc.auth("alice@example.test", password); !strings.HasPrefix(got, "454 4.7.0 ") {
		t.Fatalf("during back-off: %q", got)
	}
	rc.expect("MAIL FROM:<alice@example.test>", "530 5.7.0 ")
	// Another account from the same address is not held back yet.
	rc.expect("AUTH PLAIN "+plain("bob@example.test", password), "235 2.0.0 ")
}

func TestSubmissionSenderMustBeOwn(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ from, want string }{
		{"alice@example.test", "250 "},
		{"Alice@EXAMPLE.test", "250 "},
		{"alice+news@example.test", "250 "}, // her subaddress
		{"sales@example.test", "250 "},      // an alias that reaches her
		{"bob@example.test", "553 5.7.1 "},
		{"fwd@example.test", "553 5.7.1 "}, // an alias that does not reach her
		{"alice@remote.test", "553 5.7.1 "},
		{"", "553 5.7.1 "}, // the null sender is for bounces
	}
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	rc.expect("AUTH PLAIN "+plain("alice@example.test", password), "235 ")
	for _, tt := range tests {
		got := rc.cmd("MAIL FROM:<" + tt.from + ">")
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("MAIL FROM:<%s>: %q, want %q", tt.from, got, tt.want)
		}
		rc.expect("RSET", "250 ")
	}
}

func TestSubmissionLocalAndRemoteInOneTransaction(t *testing.T) {
	e := newEnv(t)
	body := "From: alice@example.test\r\nSubject: hello all\r\nDate: Sat, 09 Mar 2024 17:04:05 +0100\r\n" +
		"Message-ID: <one@example.test>\r\n\r\nHi.\r\n"
	to := []string{"bob@example.test", "carol@remote.test", "dave@remote.test", "eve@other.test", "sales@example.test"}
	if err := submit(e.sub, "alice@example.test", "alice@example.test", to, body); err != nil {
		t.Fatal(err)
	}
	bob, alice := e.inbox("bob@example.test"), e.inbox("alice@example.test")
	if len(bob) != 1 || len(alice) != 1 {
		t.Fatalf("bob has %d, alice (via sales@) %d, want 1 each", len(bob), len(alice))
	}
	qs, err := e.st.QueueEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.accts.User(context.Background(), "alice@example.test")
	byDomain := map[string]store.QueueEntry{}
	for _, q := range qs {
		byDomain[q.Domain] = q
		if q.From != "alice@example.test" || q.AccountID != a.ID {
			t.Errorf("queue entry %s: from %q account %d", q.Domain, q.From, q.AccountID)
		}
		// One body for the local copies and the queue (one transaction).
		if q.BlobID != bob[0].BlobID {
			t.Errorf("queue entry %s has blob %s, bob's copy %s", q.Domain, q.BlobID, bob[0].BlobID)
		}
	}
	if len(qs) != 2 || len(byDomain["remote.test"].Recipients) != 2 || len(byDomain["other.test"].Recipients) != 1 {
		t.Fatalf("queue: %+v", qs)
	}
	if alice[0].BlobID != bob[0].BlobID {
		t.Errorf("two blobs for one message")
	}
	// The Received field says authenticated, and does not name the
	// recipients of a message to many (RFC 5321 §7.2).
	if !strings.Contains(bob[0].Content, "with ESMTPA") || strings.Contains(bob[0].Content, " for <") {
		t.Errorf("stored:\n%s", bob[0].Content)
	}
}

func TestSubmissionRefusesRoutingAddresses(t *testing.T) {
	// Authenticated users may relay, but not through routing tricks.
	e := newEnv(t)
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	rc.expect("AUTH PLAIN "+plain("alice@example.test", password), "235 ")
	rc.expect("MAIL FROM:<alice@example.test>", "250 ")
	for _, r := range []string{"<victim%remote.test@example.test>", `<"victim@remote.test"@example.test>`,
		"<remote.test!victim@example.test>", "<victim%other.test@remote.test>"} {
		if got := rc.cmd("RCPT TO:" + r); !strings.HasPrefix(got, "553 5.1.3 ") {
			t.Errorf("RCPT TO:%s: %q", r, got)
		}
	}
	rc.expect("DATA", "503 ")
	e.nothingStored()
}

func TestSubmissionFixups(t *testing.T) {
	e := newEnv(t)
	bare := "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: no date\r\n\r\nBody.\r\n"
	if err := submit(e.sub, "alice@example.test", "alice@example.test", []string{"bob@example.test"}, bare); err != nil {
		t.Fatal(err)
	}
	full := testMessage("has both")
	if err := submit(e.sub, "alice@example.test", "alice@example.test", []string{"bob@example.test"}, full); err != nil {
		t.Fatal(err)
	}
	// The MX adds nothing (RFC 6409 §8 is for submission only).
	if err := send(e.mx, "x@remote.test", []string{"bob@example.test"}, bare); err != nil {
		t.Fatal(err)
	}
	got := e.inbox("bob@example.test")
	if len(got) != 3 {
		t.Fatalf("bob has %d", len(got))
	}
	count := func(i int, name string) int {
		h, _ := message.ParseHeader([]byte(got[i].Content))
		return len(h.Values(name))
	}
	if count(0, "Date") != 1 || count(0, "Message-ID") != 1 {
		t.Errorf("submitted without Date/Message-ID: got %d and %d", count(0, "Date"), count(0, "Message-ID"))
	}
	h, _ := message.ParseHeader([]byte(got[0].Content))
	if _, ok := message.ParseDate(h.Get("Date")); !ok {
		t.Errorf("added Date %q does not parse", h.Get("Date"))
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@"+hostname+">") {
		t.Errorf("added Message-ID %q", id)
	}
	if !strings.HasSuffix(got[0].Content, bare) {
		t.Errorf("the user's message was changed:\n%s", got[0].Content)
	}
	if count(1, "Date") != 1 || count(1, "Message-ID") != 1 || !strings.HasSuffix(got[1].Content, full) {
		t.Errorf("submitted with both: changed:\n%s", got[1].Content)
	}
	if count(2, "Date") != 0 || count(2, "Message-ID") != 0 {
		t.Errorf("the MX added fields:\n%s", got[2].Content)
	}
}

func TestSubmissionDSNParameters(t *testing.T) {
	// RFC 3461 parameters travel with the queue entry; RFC 6152 and 6531
	// flags too.
	e := newEnv(t)
	rc := dialRaw(t, e.sub)
	rc.ehlo()
	rc.expect("AUTH PLAIN "+plain("alice@example.test", password), "235 ")
	rc.expect("MAIL FROM:<alice@example.test> RET=HDRS ENVID=env+2Bid BODY=8BITMIME SMTPUTF8", "250 ")
	rc.expect("RCPT TO:<carol@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol@remote.test", "250 ")
	rc.expect("RCPT TO:<dave@remote.test> NOTIFY=NEVER", "250 ")
	rc.expect("DATA", "354 ")
	rc.send("Subject: dsn\r\n\r\nx\r\n.\r\n")
	rc.wait("250 ")
	qs, err := e.st.QueueEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 {
		t.Fatalf("queue: %+v", qs)
	}
	q := qs[0]
	if q.EnvID != "env+id" || q.Ret != "HDRS" || !q.Body8Bit || !q.SMTPUTF8 {
		t.Errorf("entry: envid %q ret %q 8bit %v utf8 %v", q.EnvID, q.Ret, q.Body8Bit, q.SMTPUTF8)
	}
	want := []store.QueueRecipient{
		{Address: "carol@remote.test", Notify: "SUCCESS,FAILURE", ORcpt: "RFC822;carol@remote.test"},
		{Address: "dave@remote.test", Notify: "NEVER"},
	}
	for i, w := range want {
		r := q.Recipients[i]
		if r.Address != w.Address || r.Notify != w.Notify || r.ORcpt != w.ORcpt || r.Status != store.RcptPending {
			t.Errorf("recipient %d: %+v, want %+v", i, r, w)
		}
	}
}
