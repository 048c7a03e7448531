package imapd

import (
	"errors"
	"net"
	"strings"
	"sync"
	"time"
)

// IDLE (RFC 2177, RFC 9051 §6.3.13): the client waits for "DONE" while the
// server sends changes to the selected mailbox as they commit.
//
// An idle session costs no goroutine of its own beyond the one blocked
// reading "DONE": a change notification from the mailbox index starts a
// short-lived goroutine that takes the session's write lock, sends the
// updates and ends. So ten thousand idle sessions are ten thousand
// goroutines, not twenty thousand.

// idleState coordinates the session goroutine with the pushers.
type idleState struct {
	s       *session
	mu      sync.Mutex
	stopped bool // IDLE ended: pushers must not write
	running bool // a pusher is running
	pending bool // a change arrived while it ran
}

func cmdIdle(s *session, c *command) error {
	p := &s.p
	p.end()
	if !p.ok() {
		return nil
	}
	s.writeLine("+ idling")
	if s.sel != nil {
		if err := s.sel.sync(s, true, nil); err != nil {
			return err
		}
	}
	if err := s.flush(); err != nil {
		return connError{err}
	}
	st := &idleState{s: s}
	cancel := func() {}
	if s.sel != nil {
		cancel = s.sel.ix.Notify(st.kick)
		// A change committed between the sync above and Notify would be
		// missed: check once more now that we listen.
		if !s.sel.ix.Fresh() {
			st.kick()
		}
	}
	s.nc.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	s.unlock()
	line, err := p.readLine()
	s.lock()
	cancel()
	st.mu.Lock()
	st.stopped = true
	st.mu.Unlock()
	s.nc.SetReadDeadline(time.Time{})
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.writeLine("* BYE Autologout; idle for too long")
			s.flush()
		}
		return connError{err}
	}
	if !strings.EqualFold(string(line), "DONE") {
		return bad("Expected DONE")
	}
	return nil
}

// kick is called (from the change feed, must not block) when the selected
// mailbox changed.
func (st *idleState) kick() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return
	}
	if st.running {
		st.pending = true
		return
	}
	st.running = true
	go st.push()
}

// push sends updates until no change is pending.
func (st *idleState) push() {
	s := st.s
	for {
		s.lock()
		st.mu.Lock()
		if st.stopped {
			st.running = false
			st.mu.Unlock()
			s.unlock()
			return
		}
		st.pending = false
		st.mu.Unlock()
		err := s.sel.sync(s, true, nil)
		if err == nil {
			err = s.flush()
		}
		if err != nil {
			s.log.Info("closing idle session", "err", err)
			if errors.Is(err, errMailboxGone) {
				s.writeLine("* BYE " + errMailboxGone.msg)
				s.flush()
			}
			s.raw.Close()
		}
		s.unlock()
		st.mu.Lock()
		if !st.pending || err != nil {
			st.running = false
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
	}
}
