package smtpd

import (
	"context"
	"strings"
	"testing"
)

// MX policy (issue 3, item 2): local recipients only, resolved through
// aliases, catch-all and subaddresses; unknown users refused at RCPT;
// never an open relay.

// rcptOnly runs MAIL + one RCPT on a fresh MX connection and returns the
// RCPT reply; the transaction is then sent through DATA if it was accepted.
func mxTransaction(t *testing.T, e *env, from, rcpt string) string {
	t.Helper()
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<"+from+">", "250 ")
	got := rc.cmd("RCPT TO:" + rcpt)
	if strings.HasPrefix(got, "250") {
		rc.expect("DATA", "354 ")
		rc.send(testMessage("policy") + ".\r\n")
		if r := rc.reply(); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("DATA after accepted RCPT %s: %q", rcpt, r)
		}
	} else {
		// A transaction without recipients has nothing to send.
		rc.expect("DATA", "503 ")
	}
	rc.expect("QUIT", "221 ")
	return got
}

func TestMXLocalRecipients(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.accts.AddDomain(ctx, "catchall.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.accts.AddAlias(ctx, "@catchall.test", []string{"bob@example.test"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rcpt       string
		alice, bob int // messages each INBOX gains
		queued     int
	}{
		{"<alice@example.test>", 1, 0, 0},
		{"<ALICE@Example.TEST>", 1, 0, 0},              // case-insensitive
		{"<alice+lists@example.test>", 1, 0, 0},        // subaddress
		{"<sales@example.test>", 1, 1, 0},              // alias to two accounts
		{"<anyone@catchall.test>", 0, 1, 0},            // catch-all
		{"<fwd@example.test>", 0, 0, 1},                // local alias forwarding out
		{"<@relay.example:bob@example.test>", 0, 1, 0}, // source route ignored (RFC 5321 §4.1.1.3)
		{"<postmaster@example.test>", 1, 0, 0},         // no account: the domain's oldest
		{"<Postmaster>", 1, 0, 0},                      // RFC 5321 §4.5.1: no domain
	}
	wantAlice, wantBob, wantQueue := 0, 0, 0
	for _, tt := range tests {
		got := mxTransaction(t, e, "x@remote.test", tt.rcpt)
		if !strings.HasPrefix(got, "250 ") {
			t.Errorf("RCPT %s: %q", tt.rcpt, got)
			continue
		}
		wantAlice += tt.alice
		wantBob += tt.bob
		wantQueue += tt.queued
		if n := len(e.inbox("alice@example.test")); n != wantAlice {
			t.Errorf("after %s alice has %d, want %d", tt.rcpt, n, wantAlice)
		}
		if n := len(e.inbox("bob@example.test")); n != wantBob {
			t.Errorf("after %s bob has %d, want %d", tt.rcpt, n, wantBob)
		}
		if _, q := e.counts(); q != wantQueue {
			t.Errorf("after %s %d queue entries, want %d", tt.rcpt, q, wantQueue)
		}
	}
	qs, err := e.st.QueueEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].Domain != "remote.test" || len(qs[0].Recipients) != 1 || qs[0].Recipients[0].Address != "carol@remote.test" {
		t.Fatalf("queue: %+v", qs)
	}
}

func TestMXUnknownUser(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<nobody@example.test>", "550 5.1.1 ")
	rc.expect("RCPT TO:<nobody+tag@example.test>", "550 5.1.1 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	rc.send(testMessage("partial") + ".\r\n")
	rc.wait("250 ")
	// Only alice got it; nothing was queued for the unknown user (no
	// bounce later: no backscatter).
	e.expectCounts(1, 0)
	if n := len(e.inbox("alice@example.test")); n != 1 {
		t.Fatalf("alice has %d", n)
	}
}

// TestMXRelayProbes sends the classic open-relay probes from an
// unauthenticated client; each must be refused at RCPT, and nothing may
// be queued or stored. A catch-all on the local domain must not swallow
// them either.
func TestMXRelayProbes(t *testing.T) {
	e := newEnv(t)
	if _, err := e.accts.AddAlias(context.Background(), "@example.test", []string{"bob@example.test"}); err != nil {
		t.Fatal(err)
	}
	probes := []struct {
		name, rcpt, want string
	}{
		{"remote domain", "<victim@remote.test>", "554 5.7.1 "},
		{"remote domain, trailing dot", "<victim@remote.test.>", "554 5.7.1 "},
		{"percent hack", "<victim%remote.test@example.test>", "553 5.1.3 "},
		{"source route", "<@example.test:victim@remote.test>", "554 5.7.1 "},
		{"source route, two hops", "<@example.test,@example.test:victim@remote.test>", "554 5.7.1 "},
		{"quoted local part", `<"victim@remote.test"@example.test>`, "554 5.7.1 "},
		{"quoted percent", `<"victim%remote.test"@example.test>`, "553 5.1.3 "},
		{"bang path", "<remote.test!victim@example.test>", "553 5.1.3 "},
		{"bang path, two hops", "<a.test!remote.test!victim@example.test>", "553 5.1.3 "},
		{"colon in local part", "<remote.test:victim@example.test>", "501 5.5.2 "},
		{"address literal", "<victim@[192.0.2.1]>", "554 5.7.1 "},
		{"local domain suffix", "<victim@example.test.remote.test>", "554 5.7.1 "},
		{"no domain", "<victim>", "501 5.5.2 "},
	}
	for _, p := range probes {
		got := mxTransaction(t, e, "spammer@remote.test", p.rcpt)
		if !strings.HasPrefix(got, p.want) {
			t.Errorf("%s (%s): %q, want %q", p.name, p.rcpt, got, p.want)
		}
	}
	e.nothingStored()
}

func TestMXNullSenderAccepted(t *testing.T) {
	// Bounces come from the null sender (RFC 5321 §4.5.5); the MX takes them.
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<>", "250 ")
	rc.expect("RCPT TO:<bob@example.test>", "250 ")
	rc.expect("DATA", "354 ")
	rc.send(testMessage("bounce") + ".\r\n")
	rc.wait("250 ")
	got := e.inbox("bob@example.test")
	if len(got) != 1 || !strings.HasPrefix(got[0].Content, "Return-Path: <>\r\n") {
		t.Fatalf("stored %+v", got)
	}
}

func TestMXSequence(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.expect("MAIL FROM:<x@remote.test>", "503 5.5.1 ") // no EHLO yet
	rc.ehlo()
	rc.expect("RCPT TO:<alice@example.test>", "503 5.5.1 ")
	rc.expect("DATA", "503 5.5.1 ")
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("MAIL FROM:<y@remote.test>", "503 5.5.1 ") // nested MAIL
	rc.expect("DATA", "503 5.5.1 ")                      // no recipients
	rc.expect("RSET", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "503 5.5.1 ")
	rc.expect("MAIL FROM:<y@remote.test>", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ")
	rc.expect("RCPT TO:<alice@example.test>", "250 ") // the same twice: one copy
	rc.expect("DATA", "354 ")
	rc.send(testMessage("seq") + ".\r\n")
	rc.wait("250 ")
	got := e.inbox("alice@example.test")
	if len(got) != 1 || !strings.HasPrefix(got[0].Content, "Return-Path: <y@remote.test>\r\n") {
		t.Fatalf("stored %d messages", len(got))
	}
	rc.expect("NOOP", "250 ")
	rc.expect("VRFY alice@example.test", "252 ")
	rc.expect("EXPN sales@example.test", "502 ")
	rc.expect("QUIT", "221 ")
}
