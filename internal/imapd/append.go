package imapd

import (
	"errors"
	"io"
	"time"

	"posthorn/internal/mailbox"
)

// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), APPENDUID (RFC
// 4315 §3), APPENDLIMIT (RFC 7889) and literal8 data (RFC 3516 §4.4).
// Each message literal streams from the connection into the mailbox
// service (which writes it to the store and analyses it); the messages
// commit together after the last one, all or none.

// maxAppendMessages bounds the messages of one MULTIAPPEND.
const maxAppendMessages = 10000

func cmdAppend(s *session, c *command) error {
	p := &s.p
	p.sp()
	name := s.mailboxName()
	if !p.ok() {
		return nil
	}
	mb, err := s.srv.opts.Mailboxes.Get(s.ctx(), s.acct.ID, name)
	var ap *mailbox.Appender
	if err == nil {
		ap, err = s.srv.opts.Mailboxes.NewAppender(s.ctx(), s.acct.ID, mb.ID)
	}
	if err != nil {
		if errors.Is(err, mailbox.ErrNotFound) {
			// RFC 9051 §6.3.12: TRYCREATE; no continuation is sent for a
			// synchronizing literal, so the client sends no message data.
			return no("TRYCREATE", "No such mailbox")
		}
		return err
	}
	committing := false
	defer func() {
		if !committing {
			ap.Abort()
		}
	}()
	n := 0
	for p.ok() && p.consume(' ') {
		if n++; n > maxAppendMessages {
			return no("LIMIT", "Too many messages in one APPEND")
		}
		if err := s.appendOne(ap); err != nil {
			return err
		}
	}
	if n == 0 {
		p.failf("APPEND needs a message")
	}
	p.end()
	if !p.ok() {
		return nil
	}
	// The commit runs while the session reads the next command (bulk
	// APPENDs are pipelined); its tagged response is written before any
	// other output (settle).
	s.settle(true)
	pa := &pendingAppend{tag: c.tag, mb: mb, done: make(chan struct{})}
	committing = true
	go func() {
		defer close(pa.done)
		pa.res, pa.err = ap.Commit(s.ctx())
	}()
	s.pending = pa
	return errDeferred
}

// pendingAppend is an APPEND whose commit is running.
type pendingAppend struct {
	tag  string
	mb   mailbox.Mailbox
	done chan struct{}
	res  []mailbox.Appended
	err  error
}

// settle waits for a pending APPEND and writes its tagged response. It is
// called before any other output, so responses stay in command order.
// When the APPEND went to the selected mailbox, the new messages are
// announced (EXISTS) first; expunge says whether EXPUNGE responses may go
// out now (not when a command with sequence numbers has been received).
func (s *session) settle(expunge bool) {
	pa := s.pending
	if pa == nil {
		return
	}
	s.pending = nil
	<-pa.done
	c := &command{tag: pa.tag, name: "APPEND"}
	if pa.err != nil {
		kind, code, text, _ := s.reply(c, pa.err)
		s.tagged(pa.tag, kind, code, text)
		return
	}
	s.log.Info("appended", "mailbox", pa.mb.Name, "messages", len(pa.res))
	if s.sel != nil && s.sel.mb.ID == pa.mb.ID {
		if _, err := s.sel.ix.Refresh(s.ctx()); err != nil {
			s.log.Warn("index refresh after APPEND", "err", err)
		}
		if expunge {
			if err := s.sel.sync(s, true, nil); err != nil {
				s.log.Warn("sync after APPEND", "err", err)
			}
		}
	}
	uids := make([]mailbox.UID, len(pa.res))
	for i, a := range pa.res {
		uids[i] = a.UID
	}
	s.r.reset()
	s.r.raw(pa.tag).raw(" OK [APPENDUID ").num32(pa.res[0].UIDValidity).sp()
	writeUIDSet(&s.r, uids)
	s.write(s.r.raw("] APPEND completed").crlf().b)
}

// appendOne reads one append-message: [flag-list SP] [date-time SP]
// literal, and adds it to the append.
func (s *session) appendOne(ap *mailbox.Appender) error {
	p := &s.p
	var m mailbox.NewMessage
	if p.peek() == '(' {
		m.Flags, m.Keywords = p.flags(true)
		p.sp()
	}
	if p.peek() == '"' {
		m.Date = p.dateTime()
		p.sp()
	}
	n, sync, bin := p.literalHeader(true)
	if !p.acceptLiteral(n, sync, s.appendLimit(), true) {
		return nil
	}
	lit := &io.LimitedReader{R: p.br, N: n}
	// The mailbox service stores line ends as CRLF (RFC 5322 §2.3), but a
	// literal8 (RFC 3516 §4.4) may carry binary content and is kept as is.
	m.Body = lit
	m.Binary = bin
	err := ap.Add(s.ctx(), m)
	if _, derr := io.Copy(io.Discard, lit); derr != nil {
		return connError{derr}
	}
	if lit.N > 0 || (err != nil && isConnError(err)) {
		return connError{io.ErrUnexpectedEOF}
	}
	p.nextSegment()
	if err != nil {
		var ce connError
		if errors.As(err, &ce) {
			return err
		}
		if errors.Is(err, mailbox.ErrTooBig) {
			return no("TOOBIG", "Message exceeds the size limit")
		}
		return err
	}
	return nil
}

// dateTime parses an IMAP date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" with
// the day optionally space-padded (RFC 9051 §9 date-time).
func (p *parser) dateTime() time.Time {
	s := p.quoted()
	if !p.ok() {
		return time.Time{}
	}
	for _, layout := range []string{"_2-Jan-2006 15:04:05 -0700", "2-Jan-2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	p.failf("Invalid date-time")
	return time.Time{}
}
