package smtpd

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// trackedConn is an accepted connection as the Server knows it: the id
// its log lines carry (kept across STARTTLS, which starts a new go-smtp
// session on the same connection), its error count, and whether it is in
// the middle of a message (so Shutdown lets it finish).
type trackedConn struct {
	net.Conn
	id   string
	srv  *Server
	errs atomic.Int32
	busy atomic.Bool
	once sync.Once
}

// Close implements net.Conn.
func (c *trackedConn) Close() error {
	c.once.Do(func() { c.srv.forget(c) })
	return c.Conn.Close()
}

// trackingListener wraps every accepted connection in a trackedConn.
type trackingListener struct {
	net.Listener
	srv *Server
}

// Accept implements net.Listener.
func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, id: newSessionID(), srv: l.srv}
	l.srv.mu.Lock()
	l.srv.conns[tc] = struct{}{}
	l.srv.mu.Unlock()
	return tc, nil
}

func (s *Server) forget(c *trackedConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// trackedOf finds our trackedConn under a (possibly TLS) connection.
func trackedOf(c net.Conn) *trackedConn {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, _ := c.(*trackedConn)
	return tc
}

// Shutdown stops accepting, ends idle sessions at once (they get
// "421 4.4.2" and are closed) and lets sessions in the middle of a
// message finish it. When ctx ends first, the remaining connections are
// closed and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// go-smtp sets a fresh deadline before it reads each command, so
		// a session that was busy when we looked is looked at again.
		s.closeIdle()
		select {
		case err := <-done:
			if ctx.Err() != nil {
				s.closeAll()
			}
			return err
		case <-tick.C:
		}
	}
}

// closeIdle makes the pending read of every connection not inside a
// message fail now, which go-smtp answers with 421 and a close.
func (s *Server) closeIdle() {
	past := time.Unix(1, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if !c.busy.Load() {
			c.Conn.SetReadDeadline(past)
		}
	}
}

func (s *Server) closeAll() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
