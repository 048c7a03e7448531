package queue

import "time"

// Clock is the queue's sense of time; tests use a fake one so that five
// days of retries run in milliseconds.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives when d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
