package smtpd

import (
	"crypto/tls"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posthorn/internal/delivery"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// receivedAt is the fixed clock of the golden tests.
var receivedAt = time.Date(2024, 3, 9, 17, 4, 5, 0, time.FixedZone("", 3600))

// TestReceivedGolden checks the trace headers (Return-Path and Received)
// that a message gets in each kind of session against golden files. The
// queue id, which is random, is written as QUEUEID. TLS 1.2 with a fixed
// cipher suite keeps the TLS clause independent of the machine (TLS 1.3
// picks AES or ChaCha20 by CPU).
func TestReceivedGolden(t *testing.T) {
	e := newEnv(t, withDelivery(func(o *delivery.Options) { o.Now = func() time.Time { return receivedAt } }))
	tls12 := clientTLS()
	tls12.MaxVersion = tls.VersionTLS12
	tls12.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	tests := []struct {
		name string
		addr string
		run  func(rc *rawConn) // after the greeting, up to and including DATA's 354
		rcpt string
	}{
		{"mx-esmtp", e.mx, func(rc *rawConn) {
			rc.ehlo()
			mailTo(rc, "x@remote.test", "alice@example.test")
		}, "alice@example.test"},
		{"mx-smtp-helo", e.mx, func(rc *rawConn) {
			rc.expect("HELO old.remote.test", "250 ")
			mailTo(rc, "x@remote.test", "alice@example.test")
		}, "alice@example.test"},
		{"mx-esmtps", e.mx, func(rc *rawConn) {
			rc.ehlo()
			rc.startTLS(tls12)
			rc.ehlo()
			mailTo(rc, "x@remote.test", "alice@example.test")
		}, "alice@example.test"},
		{"mx-utf8-two-recipients", e.mx, func(rc *rawConn) {
			rc.ehlo()
			rc.expect("MAIL FROM:<jörg@remote.test> SMTPUTF8", "250 ")
			rc.expect("RCPT TO:<alice@example.test>", "250 ")
			rc.expect("RCPT TO:<bob@example.test>", "250 ")
			rc.expect("DATA", "354 ")
		}, "alice@example.test"},
		{"submission-esmtpsa", e.sub, func(rc *rawConn) {
			rc.ehlo()
			rc.startTLS(tls12)
			rc.ehlo()
			rc.expect("AUTH PLAIN "+plain("bob@example.test", password), "235 ")
			mailTo(rc, "bob@example.test", "alice@example.test")
		}, "alice@example.test"},
		{"submission-esmtpa-plaintext-loopback", e.sub, func(rc *rawConn) {
			rc.ehlo()
			rc.expect("AUTH PLAIN "+plain("bob@example.test", password), "235 ")
			mailTo(rc, "bob@example.test", "alice@example.test")
		}, "alice@example.test"},
	}
	body := testMessage("golden")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.inbox(tt.rcpt))
			rc := dialRaw(t, tt.addr)
			tt.run(rc)
			rc.send(body + ".\r\n")
			id := queuedID(t, rc.wait("250 "))
			got := e.inbox(tt.rcpt)
			if len(got) != before+1 {
				t.Fatalf("INBOX has %d, want %d", len(got), before+1)
			}
			m := got[len(got)-1]
			trace, ok := strings.CutSuffix(m.Content, body)
			if !ok {
				t.Fatalf("body changed:\n%s", m.Content)
			}
			if !m.InternalDate.Equal(receivedAt) {
				t.Errorf("internal date %v", m.InternalDate)
			}
			checkGolden(t, "received-"+tt.name+".txt", strings.ReplaceAll(trace, id, "QUEUEID"))
		})
	}
}

func mailTo(rc *rawConn, from, to string) {
	rc.t.Helper()
	rc.expect("MAIL FROM:<"+from+">", "250 ")
	rc.expect("RCPT TO:<"+to+">", "250 ")
	rc.expect("DATA", "354 ")
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}
