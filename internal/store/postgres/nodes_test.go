package postgres

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"posthorn/internal/store"
)

// openNodes opens n stores on one fresh schema, as n servers sharing a
// database would.
func openNodes(t *testing.T, n int) []*Store {
	t.Helper()
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	nodes := make([]*Store, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range nodes {
		wg.Add(1)
		go func() { // all at once: only one may migrate
			defer wg.Done()
			nodes[i], errs[i] = Open(context.Background(), Options{DSN: dsn, Schema: schema})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open node %d: %v", i, err)
		}
		t.Cleanup(func() { nodes[i].Close() })
	}
	return nodes
}

func setupAccounts(t *testing.T, s store.Store, names ...string) []store.Mailbox {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	var inboxes []store.Mailbox
	for _, n := range names {
		a, err := s.CreateAccount(ctx, store.NewAccount{Address: n + "@example.test", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
		if err != nil {
			t.Fatal(err)
		}
		mb, err := s.MailboxByName(ctx, a.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		inboxes = append(inboxes, mb)
	}
	return inboxes
}

func stage(t *testing.T, s store.Store, body string) store.BlobID {
	t.Helper()
	w, err := s.NewBlob(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	id, _, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	nodes := openNodes(t, 4)
	var versions []int
	rows, err := nodes[0].pool.Query(context.Background(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		versions = append(versions, v)
	}
	if len(versions) != len(migrations) || versions[len(versions)-1] != len(migrations) {
		t.Fatalf("schema_migrations = %v, want 1..%d once each", versions, len(migrations))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	s, err := Open(context.Background(), Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.pool.Exec(context.Background(), `INSERT INTO schema_migrations (version) VALUES ($1)`, len(migrations)+1)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(context.Background(), Options{DSN: dsn, Schema: schema}); err == nil {
		s2.Close()
		t.Fatalf("Open accepted a schema newer than the program")
	}
}

// Changes committed on one node reach the subscribers of another.
func TestFeedAcrossNodes(t *testing.T) {
	nodes := openNodes(t, 2)
	got := make(chan store.Change, 100)
	cancel := nodes[1].Subscribe(func(cs []store.Change) {
		for _, c := range cs {
			got <- c
		}
	})
	defer cancel()
	inbox := setupAccounts(t, nodes[0], "alice")[0]
	res, err := nodes[0].Append(context.Background(), store.Batch{Messages: []store.NewMessage{{
		AccountID: inbox.AccountID, MailboxID: inbox.ID, BlobID: stage(t, nodes[0], "hi\r\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c := <-got:
			if c.Kind == store.ChangeMessageAdded && c.MailboxID == inbox.ID && c.ModSeq == res.Messages[0].ModSeq {
				return
			}
		case <-timeout:
			t.Fatalf("node 1 never heard of node 0's append")
		}
	}
}

// After the listening connection dies, the store reconnects and later
// changes arrive again.
func TestListenerReconnects(t *testing.T) {
	s := openNodes(t, 1)[0]
	ctx := context.Background()
	got := make(chan store.Change, 100)
	defer s.Subscribe(func(cs []store.Change) {
		for _, c := range cs {
			got <- c
		}
	})()
	tag, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN '||quote_ident($1)`, s.channel)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("terminating the listener: %v (%d rows)", err, tag.RowsAffected())
	}
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := s.CreateDomain(ctx, fmt.Sprintf("d%d.test", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, store.Batch{Queue: []store.QueueEntry{{Domain: "remote.test", BlobID: stage(t, s, "x"),
			Recipients: []store.QueueRecipient{{Address: "a@remote.test", Status: store.RcptPending}}}}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("no change arrived after the listener's connection was killed")
}

// Writers on two nodes delivering one body to two accounts, naming them in
// opposite orders, with expunges mixed in: lock ordering must keep them
// from failing (a deadlock that slips through is retried).
func TestCrossNodeMultiAccountAppends(t *testing.T) {
	nodes := openNodes(t, 2)
	inboxes := setupAccounts(t, nodes[0], "alice", "bob")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := nodes[w%2]
			a, b := inboxes[0], inboxes[1]
			if w%4 >= 2 {
				a, b = b, a
			}
			for i := 0; i < 10; i++ {
				blob := stage(t, s, fmt.Sprintf("body %d %d\r\n", w, i))
				_, err := s.Append(ctx, store.Batch{Messages: []store.NewMessage{
					{AccountID: a.AccountID, MailboxID: a.ID, BlobID: blob, Text: "shared body"},
					{AccountID: b.AccountID, MailboxID: b.ID, BlobID: blob}}})
				if err == nil && i%3 == 0 {
					_, _, err = s.Expunge(ctx, a.ID, store.AllUIDs, false)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent multi-account append: %v", err)
	}
	// Every body still referenced is stored with the right count.
	var bad int
	err := nodes[0].pool.QueryRow(ctx, `SELECT count(*) FROM blobs b WHERE refs <> (SELECT count(*) FROM messages m WHERE m.blob_id = b.id)`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Fatalf("%d blobs with a wrong reference count (%v)", bad, err)
	}
	var orphans int
	nodes[0].pool.QueryRow(ctx, `SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = m.blob_id)`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d messages name a missing body", orphans)
	}
}

// A body shared by several messages is indexed once, and found.
func TestFullTextIndexedOnce(t *testing.T) {
	s := openNodes(t, 1)[0]
	inboxes := setupAccounts(t, s, "alice", "bob")
	ctx := context.Background()
	blob := stage(t, s, "Subject: x\r\n\r\nthe quick brown fox\r\n")
	var msgs []store.NewMessage
	for _, mb := range inboxes {
		msgs = append(msgs, store.NewMessage{AccountID: mb.AccountID, MailboxID: mb.ID, BlobID: blob, Text: "the quick brown fox\x00\xff"})
	}
	if _, err := s.Append(ctx, store.Batch{Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CopyMessages(ctx, inboxes[0].ID, store.AllUIDs, inboxes[0].ID); err != nil {
		t.Fatal(err)
	}
	var n, refs int
	if err := s.pool.QueryRow(ctx, `SELECT count(*), max(b.refs) FROM blob_text t JOIN blobs b ON b.id = t.blob_id
		WHERE t.tsv @@ to_tsquery('simple', 'brown & fox')`).Scan(&n, &refs); err != nil {
		t.Fatal(err)
	}
	if n != 1 || refs != 3 {
		t.Fatalf("%d index entries for the body (want 1), %d references (want 3)", n, refs)
	}
}

// A subscriber hears of transactions that commit after Subscribe returns,
// not of earlier ones still on their way through LISTEN.
func TestSubscribeSkipsEarlierCommits(t *testing.T) {
	s := openNodes(t, 1)[0]
	inbox := setupAccounts(t, s, "alice")[0]
	ctx := context.Background()
	before := map[store.MailboxID]bool{}
	for i := 0; i < 20; i++ {
		m, err := s.CreateMailbox(ctx, inbox.AccountID, store.NewMailbox{Name: fmt.Sprintf("m%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		before[m.ID] = true
	}
	got := make(chan store.Change, 100)
	defer s.Subscribe(func(cs []store.Change) {
		for _, c := range cs {
			got <- c
		}
	})()
	after, err := s.CreateMailbox(ctx, inbox.AccountID, store.NewMailbox{Name: "after"})
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c := <-got:
			if before[c.MailboxID] || c.MailboxID == inbox.ID {
				t.Fatalf("subscriber got a change committed before it subscribed: %+v", c)
			}
			if c.MailboxID == after.ID {
				return
			}
		case <-timeout:
			t.Fatalf("the change after Subscribe never came")
		}
	}
}

// A body larger than BlobMemMax spills to a temporary file, reads back
// while staged and once stored, and leaves no file behind.
func TestLargeBlobSpills(t *testing.T) {
	dsn := testDSN(t)
	tmp := t.TempDir()
	s, err := Open(context.Background(), Options{DSN: dsn, Schema: newSchema(t, dsn), BlobMemMax: 64 << 10, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inbox := setupAccounts(t, s, "alice")[0]
	ctx := context.Background()
	body := make([]byte, 3<<20)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	readAll := func(id store.BlobID) []byte {
		t.Helper()
		b, err := s.OpenBlob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		out := make([]byte, b.Size())
		if _, err := b.ReadAt(out, 0); err != nil {
			t.Fatal(err)
		}
		return out
	}
	id := stage(t, s, string(body))
	if files, _ := os.ReadDir(tmp); len(files) != 1 {
		t.Fatalf("%d temporary files for a spilled body, want 1", len(files))
	}
	if !bytes.Equal(readAll(id), body) {
		t.Fatalf("staged body reads back wrong")
	}
	if _, err := s.Append(ctx, store.Batch{Messages: []store.NewMessage{{AccountID: inbox.AccountID, MailboxID: inbox.ID, BlobID: id}}}); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(tmp); len(files) != 0 {
		t.Fatalf("%d temporary files left after the append", len(files))
	}
	if !bytes.Equal(readAll(id), body) {
		t.Fatalf("stored body reads back wrong")
	}
	// Abort of a spilled body that was never appended removes its file.
	w, _ := s.NewBlob(ctx)
	w.Write(body)
	w.Finish()
	w.Abort()
	if files, _ := os.ReadDir(tmp); len(files) != 0 {
		t.Fatalf("%d temporary files left after Abort", len(files))
	}
}
