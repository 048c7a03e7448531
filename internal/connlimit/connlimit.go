// Package connlimit wraps a net.Listener so that one remote IP holds at
// most a fixed number of connections at once. A connection over the limit
// is answered with the protocol's own "busy" line and closed before the
// protocol server sees it. It is shared by every listener (SMTP, IMAP,
// POP3) and knows nothing of their protocols beyond that one line.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Listener limits connections per remote IP.
type Listener struct {
	net.Listener
	max    int
	reject []byte // written to a connection over the limit

	mu     sync.Mutex
	counts map[netip.Addr]int
}

// New wraps ln. Connections beyond max per IP get reject (e.g.
// "421 4.7.0 Too many connections\r\n") and are closed. max <= 0 means no
// limit.
func New(ln net.Listener, max int, reject string) *Listener {
	return &Listener{Listener: ln, max: max, reject: []byte(reject), counts: make(map[netip.Addr]int)}
}

// Accept returns the next connection within the limit.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.max <= 0 {
			return c, nil
		}
		ip := RemoteIP(c)
		l.mu.Lock()
		n := l.counts[ip]
		if n >= l.max {
			l.mu.Unlock()
			go func() {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				c.Write(l.reject)
				c.Close()
			}()
			continue
		}
		l.counts[ip] = n + 1
		l.mu.Unlock()
		return &conn{Conn: c, l: l, ip: ip}, nil
	}
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	if l.counts[ip] <= 1 {
		delete(l.counts, ip)
	} else {
		l.counts[ip]--
	}
	l.mu.Unlock()
}

type conn struct {
	net.Conn
	l    *Listener
	ip   netip.Addr
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() { c.l.release(c.ip) })
	return c.Conn.Close()
}

// RemoteIP returns the remote address of a connection as an IP (IPv4 in
// its 4-byte form), or the zero Addr.
func RemoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// IsLoopback reports whether the connection comes from 127.0.0.0/8 or ::1.
func IsLoopback(c net.Conn) bool {
	return RemoteIP(c).IsLoopback()
}
