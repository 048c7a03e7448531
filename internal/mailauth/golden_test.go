package mailauth

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"posthorn/internal/mailauth/dnstest"
	"posthorn/internal/store"
)

// The keys the RFCs publish for their examples.
const (
	// RFC 6376 Appendix C: brisbane._domainkey.example.com.
	rfc6376Key = "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
	// RFC 8463 Appendix A.2.
	rfc8463Ed25519Key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	rfc8463RSAKey     = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
	// RFC 8463 Appendix A.1: the Ed25519 secret key (the RFC 8032 seed).
	rfc8463Ed25519Seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
	// The body hash of both RFCs' example body.
	rfcBodyHash = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
)

func rfcZone() *dnstest.Zone {
	return dnstest.NewZone().
		AddTXT("brisbane._domainkey.example.com", rfc6376Key).
		AddTXT("brisbane._domainkey.football.example.com", rfc8463Ed25519Key).
		AddTXT("test._domainkey.football.example.com", rfc8463RSAKey)
}

func rfcInput(msg string) Input {
	return Input{RemoteIP: netip.MustParseAddr("192.0.2.1"), Helo: "client1.football.example.com",
		MailFrom: "joe@football.example.com", Message: strings.NewReader(crlf(msg))}
}

// TestGoldenRFC6376 verifies the signed message of RFC 6376 Appendix A.2
// with the key of Appendix C, and checks the Authentication-Results field
// we write for it. The From domain's organizational domain is example.com,
// so the d=example.com signature is aligned in relaxed mode (DMARC pass)
// and not in strict mode.
func TestGoldenRFC6376(t *testing.T) {
	for _, tt := range []struct {
		name, dmarc, golden string
		result              string
		action              Action
	}{
		{"relaxed", "v=DMARC1; p=reject", "rfc6376-a2.relaxed.golden", DMARCPass, Deliver},
		{"strict", "v=DMARC1; p=reject; adkim=s", "rfc6376-a2.strict.golden", DMARCFail, Junk},
	} {
		t.Run(tt.name, func(t *testing.T) {
			z := rfcZone().AddTXT("_dmarc.football.example.com", tt.dmarc)
			v, err := newChecker(z).Check(context.Background(), rfcInput(testdata(t, "rfc6376-a2.eml")))
			if err != nil {
				t.Fatal(err)
			}
			if len(v.DKIM) != 1 || v.DKIM[0].Result != DKIMPass || v.DKIM[0].Domain != "example.com" || v.DKIM[0].Selector != "brisbane" {
				t.Fatalf("DKIM = %+v", v.DKIM)
			}
			if v.DMARC.Result != tt.result || v.Action != tt.action {
				t.Fatalf("DMARC %+v, action %s", v.DMARC, v.Action)
			}
			golden(t, tt.golden, v.Header)
		})
	}
}

// TestGoldenRFC8463 verifies both signatures of RFC 8463 Appendix A.3
// (Ed25519 and RSA) with the keys of Appendix A.2.
func TestGoldenRFC8463(t *testing.T) {
	v, err := newChecker(rfcZone()).Check(context.Background(), rfcInput(testdata(t, "rfc8463-a3.eml")))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.DKIM) != 2 {
		t.Fatalf("DKIM = %+v", v.DKIM)
	}
	for i, want := range []string{"ed25519-sha256", "rsa-sha256"} {
		if d := v.DKIM[i]; d.Result != DKIMPass || d.Algorithm != want || d.Domain != "football.example.com" {
			t.Errorf("signature %d = %+v", i, d)
		}
	}
	golden(t, "rfc8463-a3.golden", v.Header)
}

// TestGoldenEd25519Record: the RFC 8463 secret key gives exactly the key
// record RFC 8463 A.2 publishes.
func TestGoldenEd25519Record(t *testing.T) {
	seed, err := base64.StdEncoding.DecodeString(rfc8463Ed25519Seed)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := KeyRecord(ed25519.NewKeyFromSeed(seed))
	if err != nil || rec != rfc8463Ed25519Key {
		t.Fatalf("KeyRecord = %q, %v\nwant %q", rec, err, rfc8463Ed25519Key)
	}
	// The RSA key of A.1 gives the record of A.2 too.
	blk, _ := pem.Decode([]byte(testdata(t, "rfc8463-a1-rsa.pem")))
	rk, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if rec, _ := KeyRecord(rk); rec != rfc8463RSAKey {
		t.Fatalf("RSA KeyRecord = %q", rec)
	}
}

// rfcKeys stores the RFC 8463 A.1 keys as football.example.com's active
// keys, with the RFC's selectors.
func rfcKeys(t *testing.T) store.KeyStore {
	t.Helper()
	ks := newKeyStore(t, "football.example.com")
	seed, _ := base64.StdEncoding.DecodeString(rfc8463Ed25519Seed)
	edPEM, err := MarshalKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(testdata(t, "rfc8463-a1-rsa.pem")))
	rk, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM, err := MarshalKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	for _, k := range []store.DKIMKey{
		{Domain: "football.example.com", Selector: "brisbane", Algorithm: store.DKIMEd25519, PrivateKey: edPEM, CreatedAt: now, Active: true},
		{Domain: "football.example.com", Selector: "test", Algorithm: store.DKIMRSA, PrivateKey: rsaPEM, CreatedAt: now, Active: true},
	} {
		if err := ks.CreateDKIMKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	return ks
}

var volatileTags = regexp.MustCompile(`(t=)[0-9]+|(b=)[A-Za-z0-9+/=]+(\r\n [A-Za-z0-9+/=]+)*`)

// TestGoldenSignRFC8463 signs the unsigned message of RFC 8463 A.1 with
// the RFC's own keys. The body hash must be the RFC's; the signature
// fields (with t= and b=, which depend on the time, masked) are golden;
// and our own verifier, given the RFC's public keys, passes both.
func TestGoldenSignRFC8463(t *testing.T) {
	s := NewSigner(SignerOptions{Keys: rfcKeys(t)})
	msg := crlf(testdata(t, "rfc8463-a1.eml"))
	sig, err := s.Sign(context.Background(), "football.example.com", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(sig, "DKIM-Signature:") != 2 || strings.Count(sig, "bh="+rfcBodyHash) != 2 {
		t.Fatalf("signature fields:\n%s", sig)
	}
	golden(t, "rfc8463-sign.golden", volatileTags.ReplaceAllString(sig, "${1}${2}XXX"))
	v, err := newChecker(rfcZone()).Check(context.Background(), rfcInput(sig+msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.DKIM) != 2 || v.DKIM[0].Result != DKIMPass || v.DKIM[1].Result != DKIMPass {
		t.Fatalf("our signatures do not verify: %+v", v.DKIM)
	}
}
