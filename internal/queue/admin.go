package queue

import (
	"context"
	"fmt"
	"time"

	"posthorn/internal/store"
)

// AdminBounce makes an entry fail now: its pending recipients are marked
// failed by the administrator, and the entry is made due, so the running
// queue sends the DSN and removes it (`posthorn queue bounce ID`). It is
// safe while the queue runs: an entry under a live lease is refused.
func AdminBounce(ctx context.Context, st store.Store, id store.QueueID, now time.Time) error {
	e, err := st.QueueEntry(ctx, id)
	if err != nil {
		return err
	}
	n := 0
	for i := range e.Recipients {
		if e.Recipients[i].Status == store.RcptPending {
			e.Recipients[i].Status = failedNow
			e.Recipients[i].LastReply = "550 5.0.0 returned to sender by the administrator"
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("queue entry %d has no pending recipients", id)
	}
	e.NextAttempt = now
	return st.SaveQueueEntry(ctx, "", e)
}

// AdminRetry makes one entry (or all, for id 0) due now
// (`posthorn queue retry [ID]`).
func AdminRetry(ctx context.Context, st store.Store, id store.QueueID, now time.Time) error {
	return st.RescheduleQueue(ctx, id, now)
}

// AdminDelete removes an entry without a DSN (`posthorn queue delete ID`).
func AdminDelete(ctx context.Context, st store.Store, id store.QueueID) error {
	return st.DeleteQueueEntry(ctx, "", id)
}
