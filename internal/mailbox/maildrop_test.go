package mailbox

import (
	"sync"
	"testing"
)

func TestMaildropsExclusive(t *testing.T) {
	var m Maildrops
	unlock, ok := m.Lock(1)
	if !ok {
		t.Fatal("first lock refused")
	}
	if _, ok := m.Lock(1); ok {
		t.Fatal("second lock of the same maildrop granted")
	}
	unlock2, ok := m.Lock(2)
	if !ok {
		t.Fatal("another account's maildrop refused")
	}
	if !m.Locked(1) || !m.Locked(2) || m.Locked(3) {
		t.Fatal("Locked disagrees with Lock")
	}
	unlock()
	unlock() // idempotent: must not release a lock taken after it
	again, ok := m.Lock(1)
	if !ok {
		t.Fatal("lock after unlock refused")
	}
	unlock() // the stale unlock of the first holder
	if !m.Locked(1) {
		t.Fatal("a stale unlock released the new holder's lock")
	}
	again()
	unlock2()
	if m.Locked(1) || m.Locked(2) {
		t.Fatal("locks left after unlock")
	}
}

// TestMaildropsConcurrent races many sessions for one maildrop: exactly one
// holds it at any time (run with -race).
func TestMaildropsConcurrent(t *testing.T) {
	var m Maildrops
	var mu sync.Mutex
	holders, granted := 0, 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				unlock, ok := m.Lock(AccountID(7))
				if !ok {
					continue
				}
				mu.Lock()
				holders++
				granted++
				if holders != 1 {
					t.Errorf("%d holders at once", holders)
				}
				holders--
				mu.Unlock()
				unlock()
			}
		}()
	}
	wg.Wait()
	if granted == 0 {
		t.Fatal("no session ever got the lock")
	}
	if m.Locked(7) {
		t.Fatal("lock left held")
	}
}
