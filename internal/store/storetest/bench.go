package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"posthorn/internal/store"
)

// BenchmarkFactory opens a fresh store for a benchmark.
type BenchmarkFactory func(b *testing.B) store.Store

// BenchAppend measures durable appends of 4 KiB messages (write the body,
// Finish, Append) with 1, 8 and 64 concurrent writers into one mailbox, the
// way SMTP deliveries arrive. It reports appends/s.
func BenchAppend(b *testing.B, open BenchmarkFactory) {
	body := strings.Repeat("x", 4096-2) + "\r\n"
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := open(b)
			ctx := context.Background()
			if err := s.CreateDomain(ctx, "example.test"); err != nil {
				b.Fatal(err)
			}
			acct, err := s.CreateAccount(ctx, store.NewAccount{Address: "bench@example.test", Mailboxes: standardMailboxes})
			if err != nil {
				b.Fatal(err)
			}
			inbox, err := s.MailboxByName(ctx, acct.ID, "INBOX")
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						bw, err := s.NewBlob(ctx)
						if err != nil {
							errs <- err
							return
						}
						bw.Write([]byte(body))
						id, _, err := bw.Finish()
						if err == nil {
							_, err = s.Append(ctx, store.Batch{Messages: []store.NewMessage{{
								AccountID: acct.ID, MailboxID: inbox.ID, BlobID: id, InternalDate: time.Now(),
								Index: store.MessageIndex{Subject: "bench"}, Text: "bench message text",
							}}})
						}
						bw.Abort()
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
		})
	}
}
