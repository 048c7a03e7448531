package queue

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"time"

	"posthorn/internal/queue/smtpclient"
	"posthorn/internal/store"
)

// deliverDomain delivers claimed entries of one domain over one
// connection, then claims more of the domain's due entries and sends them
// over the same connection, up to MaxPerConnection messages.
func (q *Queue) deliverDomain(ctx context.Context, domain string, entries []store.QueueEntry) {
	// Entries with nobody left to send to (an administrator's bounce) are
	// settled without a connection.
	var work []store.QueueEntry
	for _, e := range entries {
		if hasPending(e) {
			work = append(work, e)
		} else {
			q.settle(ctx, e, attemptInfo{})
		}
	}
	entries = work
	if len(entries) == 0 {
		return
	}
	hops, err := q.route(ctx, domain)
	if err != nil {
		for _, e := range entries {
			q.applyAll(&e, replyOf(err))
			q.settle(ctx, e, attemptInfo{})
		}
		return
	}
	c, host, err := q.connectSTS(ctx, domain, hops) // MTA-STS hook (mtasts.go); connect when no policy applies
	if err != nil {
		for _, e := range entries {
			q.applyAll(&e, replyOf(err))
			q.settle(ctx, e, attemptInfo{})
		}
		return
	}
	info := attemptInfo{host: host, addr: c.RemoteAddr().String()}
	if st, ok := c.TLS(); ok {
		info.tls = tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite)
	}
	_, info.peerDSN = c.Ext("DSN")
	// Each message's outcome is saved (an fsynced store write) by a
	// settler beside the connection, so the next message goes out while
	// the last one is recorded; all are saved before the worker returns.
	settled := make(chan store.QueueEntry, 16)
	var settlers sync.WaitGroup
	settlers.Add(1)
	go func() {
		defer settlers.Done()
		for e := range settled {
			q.settle(ctx, e, info)
		}
	}()
	defer settlers.Wait()
	defer close(settled)
	sent := 0
	broken := false
	for len(entries) > 0 && !broken {
		for i, e := range entries {
			if broken || sent >= q.o.MaxPerConnection {
				// Not sent on this connection: give back, due now.
				q.release(ctx, entries[i:])
				break
			}
			// RFC 5321 §4.1.1.4: a completed transaction needs no RSET.
			if c.InTransaction() {
				if err := c.Reset(); err != nil {
					broken = true
					q.release(ctx, entries[i:])
					break
				}
			}
			broken = q.sendEntry(ctx, c, &e, info)
			settled <- e
			sent++
		}
		entries = nil
		if !broken && sent < q.o.MaxPerConnection {
			more, err := q.o.Store.ClaimQueue(ctx, store.Claim{Owner: q.o.Owner, Now: q.o.Clock.Now(), Lease: q.o.Lease,
				Limit: min(q.o.MaxPerConnection-sent, 32), Domain: domain})
			if err != nil {
				q.log.Error("claiming queue entries", "domain", domain, "err", err)
			}
			entries = more
		}
	}
	if broken {
		c.Close()
		return
	}
	c.Quit()
}

// attemptInfo describes the connection an attempt used, for logs and DSNs.
type attemptInfo struct {
	host    string
	addr    string
	tls     string
	peerDSN bool
}

// sendEntry sends one entry's pending recipients and records each one's
// reply. It reports whether the connection is broken.
func (q *Queue) sendEntry(ctx context.Context, c *smtpclient.Client, e *store.QueueEntry, info attemptInfo) (broken bool) {
	env := smtpclient.Envelope{From: e.From, Ret: e.Ret, EnvID: e.EnvID, SMTPUTF8: e.SMTPUTF8}
	var idx []int
	for i, r := range e.Recipients {
		if r.Status == store.RcptPending {
			env.Rcpts = append(env.Rcpts, smtpclient.Rcpt{Addr: r.Address, Notify: r.Notify, ORcpt: r.ORcpt})
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return false
	}
	start := time.Now()
	res, err := c.Send(env, q.opener(ctx, *e))
	metricAttemptSeconds.Observe(time.Since(start).Seconds())
	var se *smtpclient.Error
	switch {
	case err == nil:
		for k, i := range idx {
			q.apply(e, i, res.Rcpts[k])
		}
	case errors.As(err, &se) && se.Err == nil:
		q.applyAll(e, se.Reply) // MAIL refused, or SIZE/SMTPUTF8 refused up front
	default:
		broken = true
		q.applyAll(e, smtpclient.Reply{Code: 451, Enhanced: "4.4.2", Text: "connection lost: " + err.Error()})
	}
	for _, i := range idx {
		r := e.Recipients[i]
		q.log.Info("attempt", "queue_id", e.ID, "from", e.From, "rcpt", r.Address, "host", info.host, "addr", info.addr,
			"tls", orNone(info.tls), "reply", r.LastReply, "downgraded", res.Downgraded)
	}
	return broken
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// opener returns the entry's message as stored: its prefix, then its body.
func (q *Queue) opener(ctx context.Context, e store.QueueEntry) smtpclient.Opener {
	return func() (io.ReadCloser, error) {
		b, err := q.o.Store.OpenBlob(ctx, e.BlobID)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(e.Prefix), b), b}, nil
	}
}

// replyOf turns a routing or connection error into the reply it stands for.
func replyOf(err error) smtpclient.Reply {
	var re *routeError
	if errors.As(err, &re) {
		return re.reply
	}
	return smtpclient.Reply{Code: 451, Enhanced: "4.4.1", Text: err.Error()}
}

// apply records one recipient's reply: 2xx delivered, 5xx failed, 4xx
// still pending.
func (q *Queue) apply(e *store.QueueEntry, i int, rep smtpclient.Reply) {
	r := &e.Recipients[i]
	r.Attempts++
	r.LastReply = rep.String()
	switch {
	case rep.Positive():
		r.Status = deliveredNow
	case rep.Permanent():
		r.Status = failedNow
	}
}

// applyAll records the same reply for every pending recipient.
func (q *Queue) applyAll(e *store.QueueEntry, rep smtpclient.Reply) {
	for i, r := range e.Recipients {
		if r.Status == store.RcptPending {
			q.apply(e, i, rep)
		}
	}
	e.LastError = rep.String()
}

func hasPending(e store.QueueEntry) bool {
	for _, r := range e.Recipients {
		if r.Status == store.RcptPending {
			return true
		}
	}
	return false
}
