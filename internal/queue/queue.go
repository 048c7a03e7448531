package queue

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"posthorn/internal/store"
)

// Resolver looks up DNS for routing; tests use a fake zone.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Bouncer delivers a DSN the queue made to the envelope sender of a failed
// message, with the null sender: into a local INBOX, or back into the
// queue for a remote sender. The server wires delivery to it.
type Bouncer interface {
	Bounce(ctx context.Context, rcpt string, dsn []byte) error
}

// Options configure the queue. Store and Bouncer are required.
type Options struct {
	Store   store.Store
	Bouncer Bouncer
	// Resolver defaults to net.DefaultResolver.
	Resolver Resolver
	// Dial opens connections; defaults to a net.Dialer with a 30 s timeout.
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	Hostname string // our EHLO name and Reporting-MTA
	// Retry lists the waits after each failed attempt; the last repeats
	// (default 5m, 10m, 20m, 30m).
	Retry       []time.Duration
	Lifetime    time.Duration // default 120h
	DelayNotice time.Duration // default 4h; 0 keeps the default, negative disables
	Smarthost   string        // "host:port" for all remote mail
	Routes      map[string]string
	// Port is the SMTP port of MX hosts (default 25).
	Port             int
	Workers          int // concurrent deliveries (default 16)
	PerDestination   int // concurrent connections per domain (default 2)
	MaxPerConnection int // messages sent over one connection (default 100)
	Lease            time.Duration
	// TLS is used for STARTTLS; default: opportunistic, unverified
	// (RFC 7435), with our host name as SNI-less client.
	TLS *tls.Config
	// MTASTS enforces the MTA-STS policies of destination domains
	// (RFC 8461; mtasts.go); nil delivers opportunistically only.
	MTASTS *MTASTS
	Logger *slog.Logger
	Clock  Clock
	// Owner names this node in leases (default host-pid-random).
	Owner string
}

// Queue is the outbound queue.
type Queue struct {
	o     Options
	log   *slog.Logger
	wake  chan struct{}
	sem   chan struct{}
	mu    sync.Mutex
	busy  map[string]int // connections per domain
	wg    sync.WaitGroup
	unsub func()
}

// New makes a Queue.
func New(o Options) *Queue {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second}
		o.Dial = d.DialContext
	}
	if len(o.Retry) == 0 {
		o.Retry = []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute}
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 120 * time.Hour
	}
	if o.DelayNotice == 0 {
		o.DelayNotice = 4 * time.Hour
	}
	if o.Port == 0 {
		o.Port = 25
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.PerDestination <= 0 {
		o.PerDestination = 2
	}
	if o.MaxPerConnection <= 0 {
		o.MaxPerConnection = 100
	}
	if o.Lease <= 0 {
		o.Lease = 15 * time.Minute
	}
	if o.TLS == nil {
		o.TLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		o.Owner = host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
	}
	routes := make(map[string]string, len(o.Routes))
	for d, h := range o.Routes {
		routes[strings.ToLower(d)] = h
	}
	o.Routes = routes
	q := &Queue{o: o, log: o.Logger.With("component", "queue"), wake: make(chan struct{}, 1),
		sem: make(chan struct{}, o.Workers), busy: map[string]int{}}
	return q
}

// Wake makes the scheduler look for due entries now (delivery calls it
// after queueing mail).
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run schedules deliveries until ctx ends, then waits for the deliveries
// in progress.
func (q *Queue) Run(ctx context.Context) {
	// Queue changes from other nodes (PostgreSQL) or the admin CLI wake us
	// too; with SQLite the CLI's changes are seen at the next poll.
	q.unsub = q.o.Store.Subscribe(func(cs []store.Change) {
		for _, c := range cs {
			if c.Kind == store.ChangeQueue {
				q.Wake()
				return
			}
		}
	})
	defer q.unsub()
	defer q.wg.Wait()
	for {
		blocked := q.dispatch(ctx)
		wait := time.Minute // poll now and then: other processes may change the queue
		if at, ok, err := q.o.Store.NextQueueAttempt(ctx); err == nil && ok && !blocked {
			// (When blocked at a limit, a finishing worker wakes us.)
			if d := at.Sub(q.o.Clock.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-q.o.Clock.After(wait):
		}
	}
}

// RunOnce delivers every entry due now and waits until those deliveries
// are done. Tests drive the queue with it and a fake clock.
func (q *Queue) RunOnce(ctx context.Context) {
	q.dispatch(ctx)
	q.wg.Wait()
}

// dispatch claims due entries and starts a worker per domain, within the
// worker and per-destination limits. It reports whether it stopped at a
// limit with due entries left.
func (q *Queue) dispatch(ctx context.Context) (blocked bool) {
	for {
		free := cap(q.sem) - len(q.sem)
		if free == 0 {
			return true
		}
		entries, err := q.o.Store.ClaimQueue(ctx, store.Claim{Owner: q.o.Owner, Now: q.o.Clock.Now(), Lease: q.o.Lease, Limit: free * 4})
		if err != nil {
			q.log.Error("claiming queue entries", "err", err)
			return false
		}
		if len(entries) == 0 {
			return false
		}
		byDomain := map[string][]store.QueueEntry{}
		var order []string
		for _, e := range entries {
			if byDomain[e.Domain] == nil {
				order = append(order, e.Domain)
			}
			byDomain[e.Domain] = append(byDomain[e.Domain], e)
		}
		for _, d := range order {
			if !q.startWorker(ctx, d, byDomain[d]) {
				// At a limit: give the entries back, due now; the busy
				// worker for the domain may take them, else we retry when
				// a worker finishes.
				q.release(ctx, byDomain[d])
				blocked = true
			}
		}
		if blocked || len(entries) < free*4 {
			return blocked
		}
	}
}

// startWorker runs a worker for a domain unless the worker or destination
// limit is reached.
func (q *Queue) startWorker(ctx context.Context, domain string, entries []store.QueueEntry) bool {
	q.mu.Lock()
	if q.busy[domain] >= q.o.PerDestination {
		q.mu.Unlock()
		return false
	}
	select {
	case q.sem <- struct{}{}:
	default:
		q.mu.Unlock()
		return false
	}
	q.busy[domain]++
	q.mu.Unlock()
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer func() {
			q.mu.Lock()
			q.busy[domain]--
			q.mu.Unlock()
			<-q.sem
			q.Wake()
		}()
		q.deliverDomain(ctx, domain, entries)
	}()
	return true
}

// release gives claimed entries back unchanged.
func (q *Queue) release(ctx context.Context, entries []store.QueueEntry) {
	for _, e := range entries {
		if err := q.o.Store.SaveQueueEntry(ctx, q.o.Owner, e); err != nil {
			q.log.Warn("releasing queue entry", "queue_id", e.ID, "err", err)
		}
	}
}
