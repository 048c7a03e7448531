package jmap

import (
	"testing"
	"time"

	"posthorn/internal/mailbox"
)

// clock is a settable time for the session and upload tables.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSessionTableExpiry(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var st sessionTable
	st.init(c.now, time.Hour, 3*time.Hour)
	tok, s := st.create(7, "a@example.test")
	if s.csrf == "" || s.csrf == tok || len(tok) < 40 {
		t.Fatalf("token %q csrf %q", tok, s.csrf)
	}
	if st.lookup(tok) != s || st.lookup("x"+tok) != nil || st.lookup("") != nil {
		t.Fatal("lookup")
	}
	// Used every 50 minutes it lives until its lifetime ends.
	for i := 0; i < 3; i++ {
		c.t = c.t.Add(50 * time.Minute)
		if st.lookup(tok) == nil {
			t.Fatalf("session idle-expired after %d uses", i)
		}
	}
	c.t = c.t.Add(40 * time.Minute) // 3h10m after creation
	if st.lookup(tok) != nil {
		t.Error("session outlived its lifetime")
	}
	tok2, _ := st.create(8, "b@example.test")
	c.t = c.t.Add(61 * time.Minute)
	if st.lookup(tok2) != nil {
		t.Error("session outlived its idle time")
	}
	st.create(9, "c@example.test") // sweeps the expired
	if n := st.count(); n != 1 {
		t.Errorf("%d sessions after the sweep, want 1", n)
	}
	tok3, _ := st.create(9, "c@example.test")
	st.remove(tok3)
	if st.lookup(tok3) != nil {
		t.Error("removed session still there")
	}
}

func TestUploadStoreBounds(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var u uploadStore
	u.init(c.now, time.Hour, 10)
	k1, ok := u.put(1, "text/plain", []byte("12345"))
	if !ok {
		t.Fatal("put")
	}
	c.t = c.t.Add(time.Second)
	k2, _ := u.put(1, "text/plain", []byte("6789"))
	if _, ok := u.get(2, k1); ok {
		t.Error("another account reads an upload")
	}
	// The next upload does not fit beside both: the oldest goes.
	c.t = c.t.Add(time.Second)
	k3, _ := u.put(1, "text/plain", []byte("abcd"))
	if _, ok := u.get(1, k1); ok {
		t.Error("the oldest upload was not evicted")
	}
	if _, ok := u.get(1, k2); !ok {
		t.Error("a newer upload was evicted")
	}
	if _, ok := u.put(1, "x", make([]byte, 11)); ok {
		t.Error("an upload larger than the allowance was accepted")
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, ok := u.get(1, k3); ok {
		t.Error("an upload outlived its time")
	}
	u.put(1, "x", []byte("1"))
	if u.used[1] != 1 {
		t.Errorf("octets in use = %d after expiry, want 1", u.used[1])
	}
}

func TestRequestSlots(t *testing.T) {
	s := &Server{inflight: map[mailbox.AccountID]int{}}
	for i := 0; i < 2; i++ {
		if !s.acquire(s.inflight, 1, 2) {
			t.Fatalf("slot %d refused", i)
		}
	}
	if s.acquire(s.inflight, 1, 2) {
		t.Error("a third request got in with a limit of 2")
	}
	if !s.acquire(s.inflight, 2, 2) {
		t.Error("another account shares the limit")
	}
	s.release(s.inflight, 1)
	if !s.acquire(s.inflight, 1, 2) {
		t.Error("a released slot cannot be taken again")
	}
}
