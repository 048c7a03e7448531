package store

import "sync"

// Feed fans committed changes out to subscribers. Backends embed one and call
// Publish after each commit and before telling the writer it committed;
// Publish never blocks on a slow subscriber: one goroutine delivers batches
// in order from an unbounded queue. A batch goes to the subscribers there
// were when it was published, so a subscriber never sees changes committed
// before it subscribed.
type Feed struct {
	mu      sync.Mutex
	cond    *sync.Cond
	subs    map[int]func([]Change)
	nextID  int
	pending []feedBatch
	closed  bool
	running bool
	done    chan struct{}
}

// Subscribe registers fn; see Store.Subscribe.
func (f *Feed) Subscribe(fn func([]Change)) (cancel func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	id := f.nextID
	f.nextID++
	f.subs[id] = fn
	return func() {
		f.mu.Lock()
		delete(f.subs, id)
		f.mu.Unlock()
	}
}

// Publish queues a batch of changes for delivery to every subscriber.
func (f *Feed) Publish(changes []Change) {
	if len(changes) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.init()
	if f.closed {
		return
	}
	subs := make([]func([]Change), 0, len(f.subs))
	for _, fn := range f.subs {
		subs = append(subs, fn)
	}
	f.pending = append(f.pending, feedBatch{changes, subs})
	f.cond.Signal()
}

// Close stops delivery after the batches already queued.
func (f *Feed) Close() {
	f.mu.Lock()
	f.init()
	f.closed = true
	f.cond.Signal()
	done := f.done
	f.mu.Unlock()
	<-done
}

func (f *Feed) init() {
	if f.running {
		return
	}
	f.running = true
	f.subs = make(map[int]func([]Change))
	f.cond = sync.NewCond(&f.mu)
	f.done = make(chan struct{})
	go f.loop()
}

func (f *Feed) loop() {
	defer close(f.done)
	f.mu.Lock()
	for {
		for len(f.pending) == 0 && !f.closed {
			f.cond.Wait()
		}
		if len(f.pending) == 0 && f.closed {
			f.mu.Unlock()
			return
		}
		batch := f.pending[0]
		f.pending[0] = feedBatch{}
		f.pending = f.pending[1:]
		f.mu.Unlock()
		for _, fn := range batch.subs {
			fn(batch.changes)
		}
		f.mu.Lock()
	}
}

type feedBatch struct {
	changes []Change
	subs    []func([]Change)
}
