package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/connlimit"
)

// state is the phase of a session (RFC 1939 §3). The UPDATE state is the
// handling of QUIT in the TRANSACTION state and needs no value of its own.
type state uint8

const (
	stateAuth  state = iota // AUTHORIZATION: until a login succeeds
	stateTrans              // TRANSACTION: the maildrop is locked and numbered
)

// Errors that end a session's command loop.
var (
	errQuit        = errors.New("pop3d: session ends")
	errShutdown    = errors.New("pop3d: server shutting down")
	errLineTooLong = errors.New("pop3d: line too long")
)

// session is one POP3 connection.
type session struct {
	srv *Server
	log *slog.Logger
	ctx context.Context

	// cmu guards conn against Shutdown (interrupt, close), which runs on
	// another goroutine. The session's own goroutine is the only writer of
	// conn (at STLS), so it reads conn without the lock.
	cmu  sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	buf  []byte // copy buffer for RETR and TOP

	remote netip.Addr
	tls    bool
	state  state
	user   *string // the USER argument awaiting PASS
	acct   account.Account
	drop   *maildrop
	unlock func() // releases the maildrop lock
	errors int    // refused commands so far
	lines  int    // command lines read so far
}

func newSession(srv *Server, c net.Conn) *session {
	s := &session{
		srv: srv, ctx: srv.base, conn: c, remote: connlimit.RemoteIP(c),
		log: srv.log.With("session", newSessionID(), "remote", c.RemoteAddr().String()),
	}
	_, s.tls = c.(*tls.Conn)
	s.r = bufio.NewReaderSize(c, srv.opts.MaxLineLength)
	s.w = bufio.NewWriterSize(deadlineWriter{s}, 64<<10)
	return s
}

// deadlineWriter writes to the session's connection with a fresh write
// deadline for every chunk, so a client that stops reading is dropped after
// IdleTimeout while a slow but steady RETR of a big message goes on.
type deadlineWriter struct{ s *session }

func (d deadlineWriter) Write(p []byte) (int, error) {
	c := d.s.conn
	if err := c.SetWriteDeadline(time.Now().Add(d.s.srv.opts.IdleTimeout)); err != nil {
		return 0, err
	}
	return c.Write(p)
}

// serve runs the session: greeting, then one command at a time until QUIT,
// an error, the idle timeout or Shutdown.
func (s *session) serve() {
	defer s.close()
	defer s.end()
	if tc, ok := s.conn.(*tls.Conn); ok {
		if err := s.handshake(tc); err != nil {
			return
		}
	}
	s.log.Debug("session started", "tls", s.tls)
	// RFC 1939 §4: the greeting. No APOP timestamp: APOP is not offered.
	s.printf("+OK %s POP3 server ready\r\n", s.srv.opts.Hostname)
	for {
		line, err := s.readLine()
		switch {
		case errors.Is(err, errLineTooLong):
			err = s.fail(replyLineTooLong)
		case err == nil:
			s.lines++
			err = s.dispatch(line)
		}
		if err != nil {
			s.w.Flush()
			s.logEnd(err)
			return
		}
	}
}

// logEnd logs why a session ended, unless it ended normally.
func (s *session) logEnd(err error) {
	switch {
	case errors.Is(err, errQuit):
	case errors.Is(err, errShutdown):
		s.log.Debug("session closed for shutdown")
	default:
		s.log.Debug("connection ended", "err", err)
	}
}

// end releases the maildrop. A session that leaves the TRANSACTION state
// without QUIT never reaches UPDATE, so nothing is deleted (RFC 1939 §6).
func (s *session) end() {
	if s.unlock != nil && !s.drop.updated {
		s.log.Info("connection lost without QUIT; nothing deleted", "marked", s.drop.marked())
	}
	s.release()
}

// release releases the maildrop lock, if held.
func (s *session) release() {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// handshake runs a TLS handshake bounded by IdleTimeout.
func (s *session) handshake(tc *tls.Conn) error {
	ctx, cancel := context.WithTimeout(s.ctx, min(s.srv.opts.IdleTimeout, time.Minute))
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Debug("TLS handshake failed", "err", err)
		return err
	}
	st := tc.ConnectionState()
	s.tls = true
	s.log.Debug("TLS established", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	return nil
}

// readLine reads one line without its line end. Pending replies are sent
// first unless the client has already pipelined more commands (RFC 2449
// §6.6): then the replies go out together.
func (s *session) readLine() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
	}
	if err := s.armRead(); err != nil {
		return nil, err
	}
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Skip to the end of the over-long line: its rest must not be
		// taken for a command.
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = s.r.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		return nil, errLineTooLong
	}
	if err != nil {
		return nil, err // a last line without its line end is dropped
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// armRead sets the autologout timer (RFC 1939 §3) for the next command, or
// fails once Shutdown has begun. It checks and sets under cmu, so that
// Shutdown's interrupt cannot slip in between and be overwritten.
func (s *session) armRead() error {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.srv.closing.Load() {
		return errShutdown
	}
	return s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
}

// interrupt wakes a session that waits for a command (Shutdown).
func (s *session) interrupt() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.conn.SetReadDeadline(time.Unix(1, 0))
}

// close closes the connection; safe from any goroutine, more than once.
func (s *session) close() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.conn.Close()
}

// printf queues output. Write errors stick in the bufio.Writer and end the
// session at the next flush.
func (s *session) printf(format string, args ...any) {
	fmt.Fprintf(s.w, format, args...)
}

// ok sends a positive single-line response ("+OK" alone when format is
// empty).
func (s *session) ok(format string, args ...any) error {
	s.w.WriteString("+OK")
	if format != "" {
		s.w.WriteByte(' ')
		fmt.Fprintf(s.w, format, args...)
	}
	s.w.WriteString("\r\n")
	return nil
}

// fail sends a negative response. A reply that blames the client counts
// towards MaxErrors; the one that reaches it is replaced by a last "too
// many errors" line and the session ends (STYLE.md practice 12).
func (s *session) fail(r reply) error {
	if r.blame {
		s.errors++
		if s.errors >= s.srv.opts.MaxErrors {
			s.log.Info("too many errors; closing connection", "errors", s.errors)
			s.writeErr(replyTooMany)
			return errQuit
		}
	}
	s.writeErr(r)
	return nil
}

func (s *session) writeErr(r reply) {
	if r.code != "" {
		s.printf("-ERR [%s] %s\r\n", r.code, r.text)
		return
	}
	s.printf("-ERR %s\r\n", r.text)
}
