package mailauth

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/store"
)

// signingSetup makes keys for example.org in a real store and a zone that
// publishes them, p=reject DMARC and an SPF record for 192.0.2.25.
type signingSetup struct {
	keys   []store.DKIMKey
	signer *Signer
	zone   *dnstest.Zone
}

var (
	setupOnce sync.Once
	setupKeys []store.DKIMKey
	setupErr  error
)

// newSigningSetup generates one key pair per test binary (RSA-2048 takes
// a while) and stores it for each test.
func newSigningSetup(t *testing.T) *signingSetup {
	t.Helper()
	setupOnce.Do(func() {
		m := NewKeys(newKeyStore(t, "example.org"), nil)
		setupKeys, setupErr = m.Generate(context.Background(), "example.org", true)
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	ks := newKeyStore(t, "example.org")
	z := dnstest.NewZone().
		AddTXT("_dmarc.example.org", "v=DMARC1; p=reject").
		AddTXT("example.org", "v=spf1 ip4:192.0.2.25 -all")
	for _, k := range setupKeys {
		if err := ks.CreateDKIMKey(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		signer, _, err := ParseKey(k.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := KeyRecord(signer)
		if err != nil {
			t.Fatal(err)
		}
		z.AddTXT(RecordName(k.Domain, k.Selector), rec)
	}
	return &signingSetup{keys: setupKeys, signer: NewSigner(SignerOptions{Keys: ks}), zone: z}
}

const plainMessage = "From: Alice <alice@example.org>\r\n" +
	"To: bob@remote.test\r\n" +
	"Subject: Lunch\r\n" +
	"Date: Mon, 2 Mar 2026 12:00:00 +0000\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"\r\n" +
	"Shall we?\r\n"

func (s *signingSetup) sign(t *testing.T, msg string) string {
	t.Helper()
	sig, err := s.signer.Sign(context.Background(), "example.org", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func checkFrom(t *testing.T, c *Checker, ip, msg string) Verdict {
	t.Helper()
	v, err := c.Check(context.Background(), Input{RemoteIP: netip.MustParseAddr(ip), Helo: "out.remote.test",
		MailFrom: "bounce@remote.test", Message: strings.NewReader(msg)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSignVerifyRoundTrip signs with freshly generated keys (Ed25519 and
// RSA-2048) and verifies with the published records; then tampers with
// the message the ways a forger or a broken relay would.
func TestSignVerifyRoundTrip(t *testing.T) {
	s := newSigningSetup(t)
	signed := s.sign(t, plainMessage) + plainMessage
	// Relayed through 198.51.100.1: SPF of the bounce domain is none, so
	// only DKIM can pass DMARC.
	c := newChecker(s.zone, func(o *Options) { o.DMARCEnforce = true })
	v := checkFrom(t, c, "198.51.100.1", signed)
	if len(v.DKIM) != 2 || v.DKIM[0].Result != DKIMPass || v.DKIM[1].Result != DKIMPass ||
		v.DKIM[0].Algorithm != "ed25519-sha256" || v.DKIM[1].Algorithm != "rsa-sha256" {
		t.Fatalf("DKIM = %+v", v.DKIM)
	}
	if v.DMARC.Result != DMARCPass || v.Action != Deliver || v.Err != nil {
		t.Fatalf("DMARC %+v, action %s", v.DMARC, v.Action)
	}
	tamper := []struct {
		name   string
		msg    string
		dmarc  string
		action Action
	}{
		// Oversigning: a second From (or To, Subject) breaks the signature
		// even though the original is still there. Two From fields also
		// leave DMARC without an author domain (RFC 7489 §6.6.1): Junk.
		{"second From on top", "From: ceo@example.org\r\n" + signed, DMARCPermError, Junk},
		{"second Subject on top", "Subject: Urgent wire transfer\r\n" + signed, DMARCFail, Reject},
		{"To added", strings.Replace(signed, "To: bob@remote.test\r\n", "To: bob@remote.test\r\nTo: eve@remote.test\r\n", 1), DMARCFail, Reject},
		{"Subject changed", strings.Replace(signed, "Subject: Lunch", "Subject: Dinner", 1), DMARCFail, Reject},
		{"body changed", strings.Replace(signed, "Shall we?", "Pay now.", 1), DMARCFail, Reject},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			v := checkFrom(t, c, "198.51.100.1", tt.msg)
			for _, d := range v.DKIM {
				if d.Result != DKIMFail {
					t.Fatalf("signature %s still %s", d.Selector, d.Result)
				}
			}
			if v.DMARC.Result != tt.dmarc || v.Action != tt.action || (tt.action == Reject) != errors.Is(v.Err, ErrDMARCReject) {
				t.Fatalf("DMARC %+v, action %s, err %v", v.DMARC, v.Action, v.Err)
			}
		})
	}
	// Relaxed canonicalization survives re-folding and white space
	// changes by relays (RFC 6376 §3.4.2, §3.4.4).
	refolded := strings.Replace(signed, "Subject: Lunch", "Subject:   Lunch ", 1)
	refolded = strings.Replace(refolded, "Shall we?\r\n", "Shall  we?  \r\n\r\n", 1)
	if v := checkFrom(t, c, "198.51.100.1", refolded); v.DKIM[0].Result != DKIMPass {
		t.Fatalf("relaxed canonicalization: %+v", v.DKIM)
	}
}

func TestCheckDispositions(t *testing.T) {
	s := newSigningSetup(t)
	ctx := context.Background()
	unsigned := plainMessage
	junk := newChecker(s.zone)
	enforce := newChecker(s.zone, func(o *Options) { o.DMARCEnforce = true })

	// A forgery of example.org from elsewhere: Junk, or rejected.
	if v := checkFrom(t, junk, "198.51.100.1", unsigned); v.Action != Junk || v.Err != nil {
		t.Fatalf("forgery, not enforced: %s %v", v.Action, v.Err)
	}
	if v := checkFrom(t, enforce, "198.51.100.1", unsigned); v.Action != Reject || !errors.Is(v.Err, ErrDMARCReject) {
		t.Fatalf("forgery, enforced: %s %v", v.Action, v.Err)
	}
	// Unsigned from the domain's own server, MAIL FROM in the domain: SPF
	// passes aligned.
	v, err := enforce.Check(ctx, Input{RemoteIP: netip.MustParseAddr("192.0.2.25"), Helo: "mail.example.org",
		MailFrom: "alice@example.org", Message: strings.NewReader(unsigned)})
	if err != nil || v.DMARC.Result != DMARCPass || v.Action != Deliver {
		t.Fatalf("aligned SPF: %+v %v", v, err)
	}
	if !strings.Contains(v.Header, "spf=pass smtp.mailfrom=example.org;") {
		t.Fatalf("header:\n%s", v.Header)
	}
	// A precomputed SPF result (from MAIL FROM) is used as given.
	pre := enforce.CheckSPF(ctx, netip.MustParseAddr("192.0.2.25"), "mail.example.org", "alice@example.org")
	v, err = enforce.Check(ctx, Input{SPF: &pre, Message: strings.NewReader(unsigned)})
	if err != nil || v.DMARC.Result != DMARCPass {
		t.Fatalf("precomputed SPF: %+v %v", v.DMARC, err)
	}
	// SPF enforcement: MAIL FROM in example.org from the wrong address.
	spfEnforce := newChecker(s.zone, func(o *Options) { o.SPFEnforce = true })
	v, err = spfEnforce.Check(ctx, Input{RemoteIP: netip.MustParseAddr("198.51.100.1"), Helo: "x.test",
		MailFrom: "alice@example.org", Message: strings.NewReader(s.sign(t, unsigned) + unsigned)})
	if err != nil || v.Action != Reject || !errors.Is(v.Err, ErrSPFReject) {
		t.Fatalf("SPF enforced: %s %v", v.Action, v.Err)
	}
	// No From at all: no author to authenticate, so no inbox.
	if v := checkFrom(t, enforce, "198.51.100.1", "Subject: hi\r\n\r\nbody\r\n"); v.Action != Junk || v.DMARC.Result != DMARCPermError {
		t.Fatalf("no From: %+v", v)
	}
	// A domain without DMARC: delivered, whatever SPF and DKIM say.
	other := "From: x@remote.test\r\nSubject: hi\r\n\r\nbody\r\n"
	if v := checkFrom(t, enforce, "198.51.100.1", other); v.Action != Deliver || v.DMARC.Result != DMARCNone || len(v.DKIM) != 0 {
		t.Fatalf("no DMARC: %+v", v)
	}
}

// TestCheckSignatureWithoutKey: a signature whose key is not in DNS is a
// permerror, a DNS failure a temperror; neither stops a message whose
// other signature passes.
func TestCheckSignatureWithoutKey(t *testing.T) {
	s := newSigningSetup(t)
	signed := s.sign(t, plainMessage) + plainMessage
	bogus := "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=gone; c=relaxed/relaxed; h=From; bh=AAAA; b=AAAA\r\n"
	s.zone.Fail("down._domainkey.example.org")
	down := strings.Replace(bogus, "s=gone", "s=down", 1)
	v := checkFrom(t, newChecker(s.zone), "198.51.100.1", bogus+down+signed)
	want := []string{DKIMPermError, DKIMTempError, DKIMPass, DKIMPass}
	if len(v.DKIM) != len(want) {
		t.Fatalf("DKIM = %+v", v.DKIM)
	}
	for i, w := range want {
		if v.DKIM[i].Result != w {
			t.Fatalf("signature %d: %+v, want %s", i, v.DKIM[i], w)
		}
	}
	if v.DMARC.Result != DMARCPass {
		t.Fatalf("DMARC = %+v", v.DMARC)
	}
}

// TestCheckReadError: only reading the message can make Check fail.
func TestCheckReadError(t *testing.T) {
	c := newChecker(dnstest.NewZone())
	_, err := c.Check(context.Background(), Input{Message: errReader{}})
	if err == nil {
		t.Fatal("read error lost")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errTestWrite }

// FuzzCheck runs the whole check on hostile messages: it must never fail
// on an in-memory message, and the Authentication-Results field it makes
// must be one well-formed field, whatever the message's signatures and
// From say (no line break smuggled in from a d= or s= tag).
func FuzzCheck(f *testing.F) {
	f.Add([]byte(plainMessage))
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=ex\r\n\tample.org; s=\"x\r\nX: y\"; h=From; bh=; b=\r\nFrom: a@example.org\r\n\r\nx"))
	f.Add([]byte("DKIM-Signature: v=1; d=a.test; s=s; a=ed25519-sha256; h=from; bh=AA; b=AA; l=1\r\nFrom: <@>\r\n\r\n"))
	f.Add([]byte("From: a@x.test\nFrom: b@y.test\n\nbody"))
	zone := dnstest.NewZone().
		AddTXT("_dmarc.example.org", "v=DMARC1; p=reject").
		AddTXT("s._domainkey.a.test", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	c := newChecker(zone)
	f.Fuzz(func(t *testing.T, msg []byte) {
		v, err := c.Check(context.Background(), Input{RemoteIP: netip.MustParseAddr("198.51.100.1"), Helo: "x.test",
			MailFrom: "a@example.org", Message: strings.NewReader(string(msg))})
		if err != nil {
			t.Fatalf("Check failed on an in-memory message: %v", err)
		}
		h := v.Header
		if !strings.HasPrefix(h, "Authentication-Results: mx.example.test;\r\n\t") || !strings.HasSuffix(h, "\r\n") {
			t.Fatalf("malformed field %q", h)
		}
		for _, line := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n")[1:] {
			if !strings.HasPrefix(line, "\t") || strings.ContainsAny(line, "\r\n") {
				t.Fatalf("a line of the field is not a folded continuation: %q", line)
			}
		}
		switch v.Action {
		case Deliver, Junk, Reject:
		default:
			t.Fatalf("action %q", v.Action)
		}
	})
}
