package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"posthorn/internal/mailbox"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/flate"

	"posthorn/internal/connlimit"
)

// state is a session state (RFC 9051 §3), as a bit so that a command can
// name the states it is valid in.
type state uint8

const (
	notAuthenticated state = 1 << iota
	authenticated
	selected
	loggedOut
)

const anyState = notAuthenticated | authenticated | selected

// session is one IMAP connection. One goroutine runs it: it reads a
// command, runs it, and writes the responses. wmu is held while a command
// runs; IDLE releases it while it waits, so that change notifications can
// be written by a short-lived goroutine (see idle.go) without a second
// goroutine per idle session.
type session struct {
	srv *Server
	id  string
	log *slog.Logger

	raw      net.Conn // the accepted connection; closing it ends the session
	nc       net.Conn // raw, or TLS over raw
	br       *bufio.Reader
	bw       *bufio.Writer // writes to dw, or through zw to dw
	dw       deadlineWriter
	zw       *flate.Writer // COMPRESS=DEFLATE, RFC 4978
	isTLS    bool
	remote   netip.Addr
	loopback bool

	wmu sync.Mutex
	p   parser
	r   resp

	state   state
	acct    user // the logged-in user
	enabled enabled
	sel     *selection
	bad     int // refused commands in a row
	closing atomic.Bool

	// Result of the running command: the response code and text of its
	// tagged OK, and the messages whose new flags it already sent.
	code, text string
	reported   map[mailbox.UID]bool
	pending    *pendingAppend // an APPEND committing (append.go)

	started  time.Time
	commands int
}

// enabled records the extensions the client turned on with ENABLE (RFC
// 5161) or implicitly (CONDSTORE by a CONDSTORE-using command).
type enabled struct {
	rev2      bool // IMAP4rev2 (RFC 9051)
	condstore bool // RFC 7162 §3.1
	qresync   bool // RFC 7162 §3.2
}

// Sentinels of handlers: errAlreadyAnswered says the handler wrote its
// tagged response itself (STARTTLS and COMPRESS must, before switching
// the connection); errDeferred that the response comes later (an APPEND
// committing, see settle); errPipelinedTLS ends a session that sent data after
// STARTTLS before the handshake.
var (
	errAlreadyAnswered = errors.New("imapd: command answered")
	errDeferred        = errors.New("imapd: command answered later")
	errPipelinedTLS    = errors.New("imapd: data pipelined after STARTTLS")
)

// user is the logged-in account.
type user struct {
	ID      mailbox.AccountID
	Address string
}

// command is the command being run.
type command struct {
	tag  string
	name string // upper case, without "UID"
	uid  bool   // the UID form (RFC 9051 §6.4.9)
}

// cmdSpec describes a command: its handler and where it may be used.
type cmdSpec struct {
	run    func(s *session, c *command) error
	states state
	uid    bool // has a UID form
	// seqBound: the command takes message sequence numbers, so EXPUNGE
	// responses must not be sent while it runs (RFC 9051 §7.5.1).
	seqBound bool
}

// commands is the dispatch table; the handlers live in one file per group.
var commands map[string]cmdSpec

func init() {
	commands = map[string]cmdSpec{
		// auth.go
		"CAPABILITY":   {run: cmdCapability, states: anyState},
		"NOOP":         {run: cmdNoop, states: anyState},
		"LOGOUT":       {run: cmdLogout, states: anyState},
		"ID":           {run: cmdID, states: anyState},
		"STARTTLS":     {run: cmdStartTLS, states: notAuthenticated},
		"LOGIN":        {run: cmdLogin, states: notAuthenticated},
		"AUTHENTICATE": {run: cmdAuthenticate, states: notAuthenticated},
		"ENABLE":       {run: cmdEnable, states: authenticated | selected},
		"NAMESPACE":    {run: cmdNamespace, states: authenticated | selected},
		"COMPRESS":     {run: cmdCompress, states: authenticated | selected},
		// mailboxes.go, list.go
		"SELECT":      {run: cmdSelect, states: authenticated | selected},
		"EXAMINE":     {run: cmdSelect, states: authenticated | selected},
		"CREATE":      {run: cmdCreate, states: authenticated | selected},
		"DELETE":      {run: cmdDelete, states: authenticated | selected},
		"RENAME":      {run: cmdRename, states: authenticated | selected},
		"SUBSCRIBE":   {run: cmdSubscribe, states: authenticated | selected},
		"UNSUBSCRIBE": {run: cmdSubscribe, states: authenticated | selected},
		"LIST":        {run: cmdList, states: authenticated | selected},
		"LSUB":        {run: cmdList, states: authenticated | selected},
		"STATUS":      {run: cmdStatus, states: authenticated | selected},
		"CLOSE":       {run: cmdClose, states: selected},
		"UNSELECT":    {run: cmdClose, states: selected},
		"CHECK":       {run: cmdNoop, states: selected},
		// append.go
		"APPEND": {run: cmdAppend, states: authenticated | selected},
		// idle.go
		"IDLE": {run: cmdIdle, states: authenticated | selected},
		// fetch.go
		"FETCH": {run: cmdFetch, states: selected, uid: true, seqBound: true},
		// modify.go
		"STORE":   {run: cmdStore, states: selected, uid: true, seqBound: true},
		"COPY":    {run: cmdCopy, states: selected, uid: true},
		"MOVE":    {run: cmdCopy, states: selected, uid: true},
		"EXPUNGE": {run: cmdExpunge, states: selected, uid: true},
		// search.go, sort.go
		"SEARCH": {run: cmdSearch, states: selected, uid: true, seqBound: true},
		"SORT":   {run: cmdSort, states: selected, uid: true, seqBound: true},
		"THREAD": {run: cmdThread, states: selected, uid: true, seqBound: true},
	}
}

func newSession(srv *Server, c net.Conn) *session {
	s := &session{srv: srv, id: newSessionID(), raw: c, nc: c, state: notAuthenticated, started: time.Now()}
	s.remote = connlimit.RemoteIP(c)
	s.loopback = s.remote.IsLoopback()
	s.log = srv.log.With("session", s.id, "remote", c.RemoteAddr().String())
	s.br = bufio.NewReaderSize(c, 2048)
	s.dw = deadlineWriter{c: c, d: srv.opts.WriteTimeout}
	s.p = parser{br: s.br, cont: s.continuation, lim: preAuthLimits}
	return s
}

func (s *session) ctx() context.Context { return context.Background() }

// serve runs the session until the client leaves, the server shuts down,
// or the session ends in an error. A panic ends only this session.
func (s *session) serve() {
	s.lock()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in IMAP session", "panic", v, "stack", string(debug.Stack()))
			s.writeLine("* BYE [SERVERBUG] Internal error, closing connection")
			s.flush()
		}
		s.end()
		s.unlock()
	}()
	s.log.Debug("connected")
	if s.srv.opts.ImplicitTLS {
		if err := s.handshake(); err != nil {
			s.log.Info("TLS handshake failed", "err", err)
			return
		}
	}
	if s.closing.Load() {
		s.writeLine("* BYE Server shutting down")
		s.flush()
		return
	}
	s.r.reset()
	s.r.raw("* OK [CAPABILITY ").raw(strings.Join(s.capabilities(), " ")).raw("] ").raw(s.srv.opts.Hostname).raw(" Posthorn IMAP ready").crlf()
	s.write(s.r.b)
	for s.state != loggedOut {
		if err := s.flush(); err != nil {
			return
		}
		if s.closing.Load() {
			s.writeLine("* BYE Server shutting down")
			s.flush()
			return
		}
		if !s.next() {
			s.flush()
			return
		}
	}
	s.flush()
}

// next reads and runs one command; false ends the session.
func (s *session) next() bool {
	timeout := s.srv.opts.IdleTimeout
	if s.state == notAuthenticated {
		timeout = s.srv.opts.PreAuthTimeout
	}
	if s.pending != nil && s.br.Buffered() == 0 {
		// Nothing more has arrived: the client waits for the answer.
		s.settle(true)
		if err := s.flush(); err != nil {
			return false
		}
	}
	s.nc.SetReadDeadline(time.Now().Add(timeout))
	s.trimBuffers()
	s.unlock()
	err := s.p.start()
	s.lock()
	if err != nil {
		s.settle(false)
		var ne net.Error
		switch {
		case errors.Is(err, errLineTooLong):
			s.writeLine("* BYE [TOOBIG] Command line too long")
		case errors.As(err, &ne) && ne.Timeout():
			s.writeLine("* BYE Autologout; idle for too long")
		}
		s.flush()
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			s.log.Debug("read failed", "err", err)
		}
		return false
	}
	s.nc.SetReadDeadline(time.Time{})
	s.commands++
	return s.execute()
}

// execute runs the command whose first line the parser holds.
func (s *session) execute() bool {
	p := &s.p
	c := &command{tag: p.tag()}
	p.sp()
	c.name = strings.ToUpper(p.atom())
	if c.name == "UID" && p.ok() {
		p.sp()
		c.name = strings.ToUpper(p.atom())
		c.uid = true
	}
	if !p.ok() {
		if c.tag == "" {
			c.tag = "*"
		}
		return s.refuse(c, p.err)
	}
	spec, ok := commands[c.name]
	switch {
	case !ok || (c.uid && !spec.uid):
		return s.refuse(c, badf("Unknown command"))
	case spec.states&s.state == 0:
		return s.refuse(c, badf("Command not valid in this state"))
	}
	if c.name != "APPEND" {
		s.settle(!(spec.seqBound && !c.uid))
	}
	s.code, s.text = "", ""
	err := spec.run(s, c)
	if err == nil && p.err != nil {
		err = p.err
	}
	if errors.Is(err, errAlreadyAnswered) || errors.Is(err, errDeferred) {
		s.bad = 0
		return true
	}
	if err != nil {
		return s.refuse(c, err)
	}
	s.bad = 0
	if s.sel != nil && s.state == selected {
		err := s.sel.sync(s, !(spec.seqBound && !c.uid), s.reported)
		s.reported = nil
		if errors.Is(err, errMailboxGone) {
			// The selected mailbox was deleted (maybe by this very
			// command): the session goes back to the authenticated state.
			s.sel.close()
			s.sel, s.state, err = nil, authenticated, nil
			s.writeLine("* OK [CLOSED] Selected mailbox was deleted")
		}
		if err != nil {
			return s.refuse(c, err)
		}
	}
	if s.text == "" {
		s.text = c.name + " completed"
		if c.uid {
			s.text = "UID " + s.text
		}
	}
	s.tagged(c.tag, "OK", s.code, s.text)
	return s.state != loggedOut
}

// refuse answers a failed command and decides whether the session goes on.
func (s *session) refuse(c *command, err error) bool {
	if isConnError(err) {
		return false // the connection broke while reading the command
	}
	var pe *protoError
	if errors.As(err, &pe) && !pe.fatal {
		if derr := s.p.discard(); derr != nil {
			s.writeLine("* BYE [TOOBIG] Command too long")
			return false
		}
	}
	kind, code, text, fatal := s.reply(c, err)
	s.settle(false)
	s.tagged(c.tag, kind, code, text)
	if kind == "BAD" {
		s.bad++
		if s.bad >= s.srv.opts.MaxBadCommands {
			s.writeLine("* BYE Too many invalid commands")
			s.log.Info("closing: too many invalid commands")
			return false
		}
	}
	if fatal {
		s.writeLine("* BYE " + text)
		return false
	}
	return true
}

// tagged writes a tagged completion response.
func (s *session) tagged(tag, kind, code, text string) {
	s.r.reset()
	s.r.raw(tag).sp().raw(kind).sp()
	if code != "" {
		s.r.byte('[').raw(code).raw("] ")
	}
	s.r.raw(text).crlf()
	s.write(s.r.b)
}

// writeLine writes one line of response (without CRLF).
func (s *session) writeLine(line string) {
	s.bw.WriteString(line)
	s.bw.WriteString("\r\n")
}

func (s *session) write(b []byte) { s.bw.Write(b) }

// untagged writes "* " + text + CRLF.
func (s *session) untagged(format string, args ...any) {
	s.bw.WriteString("* ")
	fmt.Fprintf(s.bw, format, args...)
	s.bw.WriteString("\r\n")
}

// writerPool holds the output buffers: a session has one only while it
// writes (a command, an IDLE update), so idle sessions hold none.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16<<10) }}

// Buffers larger than this are dropped after a command rather than kept
// by an idle session.
const keepBuffer = 16 << 10

// lock takes the session's write lock and an output buffer.
func (s *session) lock() {
	s.wmu.Lock()
	if s.bw == nil {
		s.bw = writerPool.Get().(*bufio.Writer)
		s.bw.Reset(s.target())
	}
}

// unlock gives back the output buffer, once flushed, and the lock.
func (s *session) unlock() {
	if s.bw != nil && s.bw.Buffered() == 0 {
		s.bw.Reset(nil)
		writerPool.Put(s.bw)
		s.bw = nil
	}
	s.wmu.Unlock()
}

// trimBuffers drops large scratch buffers of the last command, so that a
// session waiting for its next command holds little. Only the session's
// own goroutine calls it (the parser is not shared).
func (s *session) trimBuffers() {
	if cap(s.r.b) > keepBuffer {
		s.r.b = nil
	}
	if cap(s.p.buf) > keepBuffer {
		s.p.buf = nil
	}
}

// target is where output goes: the connection, or the compressor.
func (s *session) target() io.Writer {
	if s.zw != nil {
		return s.zw
	}
	return &s.dw
}

// deadlineWriter gives every write to the client the write timeout, so a
// long response to a slow reader goes on as long as it makes progress.
type deadlineWriter struct {
	c net.Conn
	d time.Duration
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(w.d))
	return w.c.Write(b)
}

// flush sends what is buffered.
func (s *session) flush() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	if s.zw != nil {
		return s.zw.Flush()
	}
	return nil
}

// continuation asks for literal data (RFC 9051 §7.5).
func (s *session) continuation() error {
	s.settle(true)
	s.writeLine("+ Ready for literal data")
	return s.flush()
}

// handshake runs the TLS handshake of an imaps connection.
func (s *session) handshake() error {
	tc := tls.Server(s.raw, s.srv.opts.TLS)
	s.raw.SetDeadline(time.Now().Add(time.Minute))
	if err := tc.HandshakeContext(s.ctx()); err != nil {
		return err
	}
	s.raw.SetDeadline(time.Time{})
	s.setConn(tc)
	s.isTLS = true
	return nil
}

// setConn switches reading and writing to nc (after TLS starts).
func (s *session) setConn(nc net.Conn) {
	s.nc = nc
	s.br.Reset(nc)
	s.dw.c = nc
	s.bw.Reset(s.target())
}

// authenticated moves to the authenticated state with the larger limits.
func (s *session) login(id mailbox.AccountID, address string) {
	s.acct = user{ID: id, Address: address}
	a := s.acct
	s.state = authenticated
	s.p.lim = authLimits
	s.p.lim.discard = max(s.p.lim.discard, s.srv.opts.Mailboxes.MaxMessageSize())
	s.log = s.log.With("user", a.Address)
	s.log.Info("authenticated")
}

// appendLimit is the largest message APPEND takes (RFC 7889 APPENDLIMIT).
func (s *session) appendLimit() int64 { return s.srv.opts.Mailboxes.MaxMessageSize() }

// end closes the session.
func (s *session) end() {
	if s.pending != nil {
		<-s.pending.done // the commit finishes; nobody hears of it
		s.pending = nil
	}
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.raw.Close()
	s.log.Info("closed", "commands", s.commands, "duration", time.Since(s.started).Round(time.Millisecond))
}

// shutdown asks the session to end: at once if it waits for a command,
// else after the command it runs.
func (s *session) shutdown() {
	s.closing.Store(true)
	s.lock()
	defer s.unlock()
	if s.state == loggedOut {
		return
	}
	s.writeLine("* BYE Server shutting down")
	s.flush()
	s.raw.Close()
}
