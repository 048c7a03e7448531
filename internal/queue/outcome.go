package queue

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"posthorn/internal/message"
	"posthorn/internal/queue/smtpclient"
	"posthorn/internal/store"
)

// Recipient states an attempt passes through before settle records the
// final ones: they mark who needs a DSN from this attempt.
const (
	failedNow    store.RecipientStatus = "failed-now"
	deliveredNow store.RecipientStatus = "delivered-now"
)

// settle finishes an attempt on an entry: it fails recipients whose
// lifetime ran out, sends the DSNs that are due (failure; delay, once;
// success where asked and the peer could not relay the request), and then
// deletes the entry when nobody is pending, else schedules its next try.
func (q *Queue) settle(ctx context.Context, e store.QueueEntry, info attemptInfo) {
	now := q.o.Clock.Now()
	e.Attempts++
	pending := 0
	for _, r := range e.Recipients {
		if r.Status == store.RcptPending {
			pending++
		}
	}
	if pending > 0 && now.Sub(e.CreatedAt) >= q.o.Lifetime {
		for i := range e.Recipients {
			r := &e.Recipients[i]
			if r.Status == store.RcptPending {
				r.Status = failedNow
				r.LastReply = expiredReply(r.LastReply, q.o.Lifetime).String()
			}
		}
		pending = 0
	}
	var failed, delivered, delayed []int
	for i, r := range e.Recipients {
		switch {
		case r.Status == failedNow && notifies(r.Notify, "FAILURE"):
			failed = append(failed, i)
		case r.Status == deliveredNow && notifies(r.Notify, "SUCCESS") && !info.peerDSN:
			delivered = append(delivered, i)
		case r.Status == store.RcptPending && notifies(r.Notify, "DELAY"):
			delayed = append(delayed, i)
		}
	}
	if len(failed) > 0 {
		q.bounce(ctx, e, failed, message.ActionFailed, info, now)
	}
	if len(delivered) > 0 {
		q.bounce(ctx, e, delivered, message.ActionRelayed, info, now)
	}
	if len(delayed) > 0 && !e.DelayNotified && q.o.DelayNotice > 0 && now.Sub(e.CreatedAt) >= q.o.DelayNotice {
		q.bounce(ctx, e, delayed, message.ActionDelayed, info, now)
		e.DelayNotified = true
	}
	for i := range e.Recipients {
		switch e.Recipients[i].Status {
		case failedNow:
			metricAttempts.WithLabelValues("bounced").Inc()
			e.Recipients[i].Status = store.RcptFailed
			q.log.Info("bounced", "queue_id", e.ID, "from", e.From, "rcpt", e.Recipients[i].Address, "reply", e.Recipients[i].LastReply)
		case deliveredNow:
			metricAttempts.WithLabelValues("delivered").Inc()
			e.Recipients[i].Status = store.RcptDelivered
			q.log.Info("delivered", "queue_id", e.ID, "from", e.From, "rcpt", e.Recipients[i].Address, "host", info.host, "reply", e.Recipients[i].LastReply)
		}
	}
	if pending == 0 {
		if err := q.o.Store.DeleteQueueEntry(ctx, q.o.Owner, e.ID); err != nil {
			q.log.Error("removing finished queue entry", "queue_id", e.ID, "err", err)
		}
		return
	}
	metricAttempts.WithLabelValues("deferred").Add(float64(pending))
	e.NextAttempt = now.Add(q.retryAfter(e.Attempts))
	q.log.Info("deferred", "queue_id", e.ID, "from", e.From, "pending", pending, "attempts", e.Attempts,
		"next_attempt", e.NextAttempt.Format(time.RFC3339), "reply", e.LastError)
	if err := q.o.Store.SaveQueueEntry(ctx, q.o.Owner, e); err != nil {
		q.log.Error("saving queue entry", "queue_id", e.ID, "err", err)
	}
}

// retryAfter returns the wait after the n-th attempt: the n-th step of the
// schedule, the last step repeating.
func (q *Queue) retryAfter(attempts int) time.Duration {
	i := min(max(attempts-1, 0), len(q.o.Retry)-1)
	return q.o.Retry[i]
}

// notifies reports whether a NOTIFY value asks for a kind of DSN. Without
// NOTIFY we send failures and delays (RFC 3461 §4.1 leaves the default to
// us), never success.
func notifies(notify, kind string) bool {
	if notify == "" {
		return kind != "SUCCESS"
	}
	for _, n := range strings.Split(strings.ToUpper(notify), ",") {
		if strings.TrimSpace(n) == kind {
			return true
		}
	}
	return false
}

// expiredReply is the reply a recipient gets when its time runs out: the
// last temporary status, now final (RFC 3463 §3.5 4.4.7 when none).
func expiredReply(last string, lifetime time.Duration) smtpclient.Reply {
	status := "4.4.7"
	if f := strings.Fields(last); len(f) > 1 && strings.Count(f[1], ".") == 2 {
		status = f[1]
	}
	text := "delivery time expired after " + lifetime.String()
	if last != "" {
		text += "; last reply: " + last
	}
	return smtpclient.Reply{Code: 550, Enhanced: status, Text: text}
}

// bounce sends a DSN about some recipients of an entry to its sender —
// never for the null sender (RFC 5321 §4.5.5, RFC 3461 §6.2).
func (q *Queue) bounce(ctx context.Context, e store.QueueEntry, idx []int, action message.DSNAction, info attemptInfo, now time.Time) {
	if e.From == "" {
		return
	}
	orig, headersOnly, err := q.original(ctx, e)
	if err != nil {
		q.log.Error("reading message for DSN", "queue_id", e.ID, "err", err)
		return
	}
	d := message.DSN{
		ReportingMTA: q.o.Hostname, To: e.From, Date: now, EnvelopeID: e.EnvID, ArrivalDate: e.CreatedAt,
		Original: orig, HeadersOnly: headersOnly || strings.EqualFold(e.Ret, "HDRS"),
	}
	for _, i := range idx {
		r := e.Recipients[i]
		rep := parseReply(r.LastReply)
		dr := message.DSNRecipient{
			FinalRecipient: r.Address, OriginalRecipient: r.ORcpt, Action: action, Status: rep.Status(),
			RemoteMTA: info.host, DiagnosticCode: r.LastReply, LastAttempt: now,
		}
		if action == message.ActionDelayed {
			dr.WillRetryUntil = e.CreatedAt.Add(q.o.Lifetime)
		}
		if action == message.ActionRelayed {
			dr.Status = "2.0.0"
		}
		d.Recipients = append(d.Recipients, dr)
	}
	msg, err := message.BuildDSN(d)
	if err != nil {
		q.log.Error("building DSN", "queue_id", e.ID, "err", err)
		return
	}
	if err := q.o.Bouncer.Bounce(ctx, e.From, msg); err != nil {
		q.log.Error("sending DSN", "queue_id", e.ID, "to", e.From, "err", err)
		return
	}
	q.log.Info("dsn sent", "queue_id", e.ID, "to", e.From, "action", string(action), "recipients", len(idx))
}

// original reads the message for a DSN: all of it when it is at most
// message.DefaultMaxOriginal, else enough for its header.
func (q *Queue) original(ctx context.Context, e store.QueueEntry) ([]byte, bool, error) {
	r, err := q.opener(ctx, e)()
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, message.DefaultMaxOriginal+1))
	if err != nil {
		return nil, false, err
	}
	return buf.Bytes(), n > message.DefaultMaxOriginal, nil
}

// parseReply reads back a reply stored as text ("451 4.3.0 text").
func parseReply(s string) smtpclient.Reply {
	f := strings.SplitN(s, " ", 3)
	var r smtpclient.Reply
	if len(f) > 0 {
		for _, ch := range f[0] {
			r.Code = r.Code*10 + int(ch-'0')
		}
	}
	if len(f) > 1 && strings.Count(f[1], ".") == 2 {
		r.Enhanced = f[1]
	}
	return r
}
