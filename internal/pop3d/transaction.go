package pop3d

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"posthorn/internal/account"
	"posthorn/internal/mailbox"
)

// maildrop is the session's numbered view of INBOX, fixed at login: message
// n is msgs[n-1] for the whole session, whatever other sessions do.
type maildrop struct {
	box         mailbox.MailboxID
	uidValidity uint32
	msgs        []mailbox.Message // UID order; Meta and Index dropped
	deleted     []bool            // marked by DELE
	retrieved   []bool            // sent whole by RETR
	count       int               // messages not marked
	size        int64             // their octets
	updated     bool              // QUIT ran the UPDATE state
}

// loadChunk bounds the message rows read at once at login, so that the
// analysed structure of a big INBOX (which POP3 does not need) is never
// all in memory.
const loadChunk = 500

// loadMaildrop numbers the account's INBOX: the messages of one snapshot
// (mailbox.Service.State), read in chunks of consecutive UIDs and kept
// without what only IMAP and JMAP need. A message expunged between the
// snapshot and its chunk is left out; one appended later has a higher UID
// than the snapshot's last and stays out too.
func (s *session) loadMaildrop(a account.Account) (*maildrop, error) {
	mbs := s.srv.opts.Mailboxes
	inbox, err := mbs.Get(s.ctx, a.ID, mailbox.InboxName)
	if err != nil {
		return nil, err
	}
	mb, state, err := mbs.State(s.ctx, a.ID, inbox.ID)
	if err != nil {
		return nil, err
	}
	d := &maildrop{box: mb.ID, uidValidity: mb.UIDValidity, msgs: make([]mailbox.Message, 0, len(state))}
	for i := 0; i < len(state); i += loadChunk {
		part := state[i:min(i+loadChunk, len(state))]
		ms, err := mbs.Messages(s.ctx, a.ID, mb.ID, mailbox.UIDSet{{First: part[0].UID, Last: part[len(part)-1].UID}})
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			m.Meta, m.Index, m.Keywords = nil, mailbox.MessageIndex{}, nil
			d.msgs = append(d.msgs, m)
			d.size += m.Size
		}
	}
	d.count = len(d.msgs)
	d.deleted, d.retrieved = make([]bool, d.count), make([]bool, d.count)
	return d, nil
}

// marked counts the messages DELE marked.
func (d *maildrop) marked() int { return len(d.msgs) - d.count }

// uidl is the unique-id of message i (RFC 1939 §7: 1 to 70 characters
// from 0x21 to 0x7E, unique in the maildrop and the same in every session).
func (d *maildrop) uidl(i int) string {
	return fmt.Sprintf("%08x%08x", d.uidValidity, uint32(d.msgs[i].UID))
}

// message resolves a message-number argument to an index into msgs, or
// the reply that refuses it.
func (s *session) message(arg string) (int, *reply) {
	n, ok := parseNumber(arg)
	switch {
	case !ok:
		return 0, &replySyntax
	case n < 1 || n > len(s.drop.msgs):
		return 0, &replyNoSuchMsg
	case s.drop.deleted[n-1]:
		return 0, &replyMsgDeleted
	}
	return n - 1, nil
}

// cmdStat: "+OK count octets" over the messages not marked (RFC 1939 §5).
func (s *session) cmdStat(args string) error {
	if args != "" {
		return s.fail(replySyntax)
	}
	return s.ok("%d %d", s.drop.count, s.drop.size)
}

// cmdList gives the size of one message or of all not marked (RFC 1939 §5).
func (s *session) cmdList(args string) error {
	return s.scanList(args, func(i int) string { return fmt.Sprint(s.drop.msgs[i].Size) })
}

// cmdUidl gives the unique-id of one message or of all not marked (RFC
// 1939 §7).
func (s *session) cmdUidl(args string) error {
	return s.scanList(args, s.drop.uidl)
}

// scanList answers LIST and UIDL: with an argument one line "+OK n value",
// without one a multi-line list of "n value".
func (s *session) scanList(args string, value func(int) string) error {
	if args != "" {
		i, r := s.message(args)
		if r != nil {
			return s.fail(*r)
		}
		return s.ok("%d %s", i+1, value(i))
	}
	s.ok("%d messages (%d octets)", s.drop.count, s.drop.size)
	for i := range s.drop.msgs {
		if !s.drop.deleted[i] {
			s.printf("%d %s\r\n", i+1, value(i))
		}
	}
	s.printf(".\r\n")
	return nil
}

// cmdRetr sends a whole message (RFC 1939 §5).
func (s *session) cmdRetr(args string) error {
	i, r := s.message(args)
	if r != nil {
		return s.fail(*r)
	}
	if err := s.send(i, -1); err != nil {
		return err
	}
	s.drop.retrieved[i] = true
	return nil
}

// cmdTop sends a message's header, the blank line and the first n lines
// of its body (RFC 1939 §7).
func (s *session) cmdTop(args string) error {
	msg, lines, ok := strings.Cut(args, " ")
	if !ok {
		return s.fail(replySyntax)
	}
	i, r := s.message(msg)
	if r != nil {
		return s.fail(*r)
	}
	n, ok := parseNumber(lines)
	if !ok {
		return s.fail(replySyntax)
	}
	return s.send(i, n)
}

// send writes message i as a multi-line response: all of it when lines is
// negative, else the header and that many body lines. The message is
// opened before "+OK", so a missing body still gets a clean -ERR; a read
// error after "+OK" ends the connection, since the response cannot be
// completed truthfully (and nothing is deleted).
func (s *session) send(i, lines int) error {
	m := s.drop.msgs[i]
	c, err := s.srv.opts.Mailboxes.Open(s.ctx, m)
	if err != nil {
		return s.fail(toReply(err, s.log, "open message"))
	}
	defer c.Close()
	if lines < 0 {
		s.ok("%d octets", m.Size)
	} else {
		s.ok("top of message follows")
	}
	var w io.Writer = s.w
	if lines >= 0 {
		w = &topLimiter{w: s.w, left: lines}
	}
	st := newStuffer(w)
	if s.buf == nil {
		s.buf = make([]byte, 32<<10)
	}
	_, err = io.CopyBuffer(st, c, s.buf)
	switch {
	case errors.Is(err, errTopDone):
	case st.err != nil:
		return st.err // the client is gone
	case err != nil:
		s.log.Error("reading message failed", "uid", m.UID, "err", err)
		return err
	default:
		if err := st.Close(); err != nil && !errors.Is(err, errTopDone) {
			return err
		}
	}
	s.printf(".\r\n")
	if lines < 0 {
		metricRetrieved.Add(float64(m.Size))
	}
	return nil
}

// cmdDele marks a message; only QUIT removes it (RFC 1939 §5).
func (s *session) cmdDele(args string) error {
	i, r := s.message(args)
	if r != nil {
		return s.fail(*r)
	}
	d := s.drop
	d.deleted[i] = true
	d.count--
	d.size -= d.msgs[i].Size
	return s.ok("message %d marked for deletion", i+1)
}

// cmdRset unmarks every message (RFC 1939 §5).
func (s *session) cmdRset(args string) error {
	if args != "" {
		return s.fail(replySyntax)
	}
	d := s.drop
	for i := range d.deleted {
		if d.deleted[i] {
			d.deleted[i] = false
			d.count++
			d.size += d.msgs[i].Size
		}
	}
	return s.ok("maildrop has %d messages (%d octets)", d.count, d.size)
}

// cmdNoop does nothing (RFC 1939 §5).
func (s *session) cmdNoop(args string) error {
	if args != "" {
		return s.fail(replySyntax)
	}
	return s.ok("")
}

// update is the UPDATE state (RFC 1939 §6): remove the marked messages in
// one expunge (IMAP sessions see them go as EXPUNGE or VANISHED), then set
// \Seen on the messages RETR sent that were not removed, as Dovecot does.
// It returns how many messages were marked; a message another session
// removed meanwhile counts as removed. When the expunge fails, nothing is
// removed (it is one transaction) and the error is returned.
func (s *session) update() (int, error) {
	d := s.drop
	d.updated = true
	var del, seen []mailbox.UID
	for i, m := range d.msgs {
		switch {
		case d.deleted[i]:
			del = append(del, m.UID)
		case d.retrieved[i] && m.Flags&mailbox.FlagSeen == 0:
			seen = append(seen, m.UID)
		}
	}
	mbs := s.srv.opts.Mailboxes
	removed := 0
	if len(del) > 0 {
		gone, _, err := mbs.Expunge(s.ctx, s.acct.ID, d.box, mailbox.UIDSetOf(del...), false)
		if err != nil {
			s.log.Error("quit: removing messages failed; nothing deleted", "marked", len(del), "err", err)
			return 0, err
		}
		removed = len(gone)
		metricDeleted.Add(float64(removed))
	}
	if len(seen) > 0 {
		u := mailbox.FlagUpdate{MailboxID: d.box, UIDs: mailbox.UIDSetOf(seen...), Op: mailbox.FlagsAdd, Flags: mailbox.FlagSeen}
		if _, err := mbs.UpdateFlags(s.ctx, s.acct.ID, u); err != nil {
			s.log.Warn("quit: setting \\Seen failed", "err", err)
		}
	}
	s.log.Info("quit", "deleted", len(del), "removed", removed, "retrieved", countTrue(d.retrieved))
	return len(del), nil
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}
