package mailauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"posthorn/internal/queue/smtpclient"
)

// TestPostfixKeepsSignature is the interop check of issue 8: a message
// signed by Posthorn, sent by the queue's SMTP client to the Postfix peer
// (SMTP 127.0.0.1:10025, delivered to Dovecot over LMTP) and fetched back
// over IMAP (127.0.0.1:10143), still carries valid signatures.
//
// It runs with POSTHORN_TEST_PEERS=1 and the peers up (see
// /work/shared/peers: ./up.sh starts Postfix and Dovecot; users
// alice@peer.test, password "password").
func TestPostfixKeepsSignature(t *testing.T) {
	if os.Getenv("POSTHORN_TEST_PEERS") != "1" {
		t.Skip("needs the Postfix peer: POSTHORN_TEST_PEERS=1")
	}
	s := newSigningSetup(t)
	var nonce [8]byte
	rand.Read(nonce[:])
	msgID := "<" + hex.EncodeToString(nonce[:]) + "@example.org>"
	// Things relays like to touch: a long folded Subject, 8-bit text,
	// trailing white space, a line starting with a dot (dot-stuffed on the
	// wire), MIME parts.
	msg := crlf("From: Alice <alice@example.org>\n" +
		"To: alice@peer.test\n" +
		"Subject: Interop check of DKIM signatures through Postfix and Dovecot, with a subject\n" +
		" long enough to be folded\n" +
		"Date: Mon, 2 Mar 2026 12:00:00 +0000\n" +
		"Message-ID: " + msgID + "\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\n" +
		"\n" +
		"--b1\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"Content-Transfer-Encoding: 8bit\n" +
		"\n" +
		"Grüße aus Posthorn.   \n" +
		".a line that starts with a dot\n" +
		"\n" +
		"--b1\n" +
		"Content-Type: text/html; charset=utf-8\n" +
		"\n" +
		"<p>Grüße</p>\n" +
		"--b1--\n")
	signed := s.sign(t, msg) + msg

	conn, err := net.DialTimeout("tcp", "127.0.0.1:10025", 10*time.Second)
	if err != nil {
		t.Fatalf("the Postfix peer is not running (/work/shared/peers/up.sh): %v", err)
	}
	c, err := smtpclient.NewClient(conn, smtpclient.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.example.org"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Ext("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}, "mx.example.org"); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.Send(smtpclient.Envelope{From: "alice@example.org", Rcpts: []smtpclient.Rcpt{{Addr: "alice@peer.test"}}},
		func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(signed)), nil })
	if err != nil || !res.Rcpts[0].Positive() {
		t.Fatalf("Postfix refused: %v %v", err, res.Rcpts)
	}
	c.Quit()

	got := fetchByMessageID(t, msgID)
	if !bytes.Contains(got, []byte("Received:")) {
		t.Fatalf("the message did not pass through Postfix:\n%s", got)
	}
	v, err := newChecker(s.zone).Check(context.Background(), Input{RemoteIP: netip.MustParseAddr("127.0.0.1"),
		Helo: "mx.example.org", MailFrom: "alice@example.org", Message: bytes.NewReader(got)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.DKIM) != 2 || v.DKIM[0].Result != DKIMPass || v.DKIM[1].Result != DKIMPass || v.DMARC.Result != DMARCPass {
		t.Fatalf("after Postfix and Dovecot: DKIM %+v, DMARC %+v\n%s", v.DKIM, v.DMARC, got)
	}
}

// fetchByMessageID waits for the message in alice@peer.test's INBOX,
// returns it whole and deletes it.
func fetchByMessageID(t *testing.T, msgID string) []byte {
	t.Helper()
	ic, err := imapclient.DialInsecure("127.0.0.1:10143", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("alice@peer.test", "password").Wait(); err != nil {
		t.Fatal(err)
	}
	// Postfix's queue is shared with the peers' benchmarks: be patient.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		data, err := ic.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: msgID}}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			set := imap.UIDSetNum(uids...)
			msgs, err := ic.Fetch(set, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil || len(msgs) == 0 || len(msgs[0].BodySection) == 0 {
				t.Fatalf("FETCH: %v", err)
			}
			body := msgs[0].BodySection[0].Bytes
			ic.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close()
			ic.Expunge().Close()
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s did not arrive in alice@peer.test's INBOX", msgID)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
