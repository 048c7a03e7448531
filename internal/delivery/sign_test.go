package delivery

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"posthorn/internal/mailauth"
	"posthorn/internal/message"
	"posthorn/internal/store"
)

// TestDeliverSignsSevenBitCopy: mail a local user sends with 8-bit content
// to another domain is queued as 7-bit MIME and signed in that form (RFC
// 6376 §5.3), so the signature still verifies after a hop without 8BITMIME;
// the local copy keeps the original bytes, and 7-bit mail is queued as is.
func TestDeliverSignsSevenBitCopy(t *testing.T) {
	var signer *mailauth.Signer
	f := newFixture(t, func(o *Options) {
		signer = mailauth.NewSigner(mailauth.SignerOptions{Keys: o.Store.(store.KeyStore), CacheFor: time.Nanosecond})
		o.Signer = signer
	})
	ctx := context.Background()
	eight := "From: alice@example.test\r\nTo: dave@remote.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln.\r\n"

	// Without keys nothing is signed, and the 8-bit body is queued as is.
	env := f.env("alice@example.test", true, "bob@example.test", "dave@remote.test")
	env.Body8Bit = true
	if _, err := f.svc.Deliver(ctx, env, strings.NewReader(eight)); err != nil {
		t.Fatal(err)
	}
	if q, bob := f.queue(), f.inbox("bob@example.test"); len(q) != 1 || len(bob) != 1 || q[0].BlobID != bob[0].BlobID || q[0].Prefix != nil {
		t.Fatalf("unsigned 8-bit mail: queue %+v", q)
	}
	if err := f.st.DeleteQueueEntry(ctx, "", f.queue()[0].ID); err != nil {
		t.Fatal(err)
	}

	keys, err := mailauth.NewKeys(f.st.(store.KeyStore), nil).Generate(ctx, "example.test", true)
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]string{}
	for _, k := range keys {
		s, _, err := mailauth.ParseKey(k.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := mailauth.KeyRecord(s)
		if err != nil {
			t.Fatal(err)
		}
		records[mailauth.RecordName(k.Domain, k.Selector)] = rec
	}
	verify := func(content string) {
		t.Helper()
		vs, err := dkim.VerifyWithOptions(strings.NewReader(content), &dkim.VerifyOptions{
			LookupTXT: func(name string) ([]string, error) { return []string{records[name]}, nil },
		})
		if err != nil || len(vs) != 2 {
			t.Fatalf("verify: %v, %d signatures", err, len(vs))
		}
		for _, v := range vs {
			if v.Err != nil {
				t.Errorf("signature %s: %v", v.Domain, v.Err)
			}
		}
	}
	queued := func(q store.QueueEntry) string {
		t.Helper()
		b, err := f.st.OpenBlob(ctx, q.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		body, _ := io.ReadAll(b)
		return string(q.Prefix) + string(body)
	}

	// With keys, an 8-bit body is queued and signed as 7-bit MIME.
	if _, err := f.svc.Deliver(ctx, env, strings.NewReader(eight)); err != nil {
		t.Fatal(err)
	}
	q, bob := f.queue(), f.inbox("bob@example.test")
	if len(q) != 1 || len(bob) != 2 {
		t.Fatalf("queue %d, bob %d", len(q), len(bob))
	}
	bob = bob[1:]
	if q[0].BlobID == bob[0].BlobID || q[0].Body8Bit {
		t.Fatalf("queued the 8-bit body (blob shared %v, Body8Bit %v)", q[0].BlobID == bob[0].BlobID, q[0].Body8Bit)
	}
	out := queued(q[0])
	if message.Is8Bit([]byte(out)) {
		t.Fatalf("queued copy has 8-bit octets:\n%s", out)
	}
	if need, _ := message.NeedsDowngrade(strings.NewReader(out)); need {
		t.Fatal("queued copy would be downgraded again")
	}
	verify(out)
	if !strings.HasSuffix(f.content(bob[0]), eight) {
		t.Fatal("local copy changed")
	}
	m, err := message.Analyze(strings.NewReader(out))
	if err != nil || !strings.Contains(m.Text, "Grüße aus Köln.") {
		t.Fatalf("queued copy decodes to %q (%v)", m.Text, err)
	}

	// 7-bit mail shares its body with the local copies.
	seven := "From: alice@example.test\r\nTo: dave@remote.test\r\nSubject: plain\r\n\r\nHello.\r\n"
	env = f.env("alice@example.test", true, "bob@example.test", "erin@remote.test")
	if _, err := f.svc.Deliver(ctx, env, strings.NewReader(seven)); err != nil {
		t.Fatal(err)
	}
	q, bob = f.queue(), f.inbox("bob@example.test")
	if len(q) != 2 || len(bob) != 3 || q[1].BlobID != bob[2].BlobID {
		t.Fatalf("7-bit mail: queue %d, bob %d", len(q), len(bob))
	}
	verify(queued(q[1]))
}
