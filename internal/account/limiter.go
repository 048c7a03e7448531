package account

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (a remote IP, an account) and says
// how long the key must wait before its next attempt: nothing for the first
// free failures, then a back-off that doubles with each further failure up
// to max. A success clears the account's count (not the IP's: an attacker
// with one valid login must not launder failures for others).
type limiter struct {
	mu    sync.Mutex
	fails map[string]*failures
	free  int
	base  time.Duration
	max   time.Duration
	// forget drops a key this long after its last failure.
	forget time.Duration
}

type failures struct {
	n    int
	last time.Time
}

func newLimiter(free int, base, max time.Duration) *limiter {
	return &limiter{fails: make(map[string]*failures), free: free, base: base, max: max, forget: 30 * time.Minute}
}

// wait returns how long key must still wait at now; 0 means it may try.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[key]
	if f == nil {
		return 0
	}
	if now.Sub(f.last) > l.forget {
		delete(l.fails, key)
		return 0
	}
	if f.n < l.free {
		return 0
	}
	d := l.base << min(f.n-l.free, 20)
	if d > l.max || d <= 0 {
		d = l.max
	}
	if until := f.last.Add(d); now.Before(until) {
		return until.Sub(now)
	}
	return 0
}

func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[key]
	if f == nil {
		if len(l.fails) > 100000 {
			l.sweep(now)
		}
		f = &failures{}
		l.fails[key] = f
	}
	f.n++
	f.last = now
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}

// sweep forgets old keys so the map stays bounded under a spray attack.
func (l *limiter) sweep(now time.Time) {
	for k, f := range l.fails {
		if now.Sub(f.last) > l.forget {
			delete(l.fails, k)
		}
	}
}
