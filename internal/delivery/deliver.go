package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/mailauth"
	"posthorn/internal/mailbox"
	"posthorn/internal/message"
	"posthorn/internal/store"
)

// Envelope is one SMTP transaction's envelope.
type Envelope struct {
	From       string // "" is the null sender <>
	Recipients []Recipient
	// Auth is the authenticated submitter, nil on the MX.
	Auth *store.Account
	// Submission asks for the RFC 6409 §8 fix-ups (Date, Message-ID).
	Submission bool
	Body8Bit   bool   // BODY=8BITMIME
	SMTPUTF8   bool   // SMTPUTF8 given on MAIL
	EnvID      string // RFC 3461 ENVID
	Ret        string // RFC 3461 RET
	// Trace describes the session for the Received header; Deliver fills
	// in By, ID, Recipients and Date.
	Trace message.ReceivedInfo
	// SPF is the result of the SPF check the MX made at MAIL FROM; nil
	// when it made none (Deliver then checks, if it checks at all).
	SPF *mailauth.SPFResult
}

// Recipient is one accepted RCPT TO with where it leads (from Recipient).
type Recipient struct {
	Address string
	Notify  string // RFC 3461 NOTIFY, comma-separated
	ORcpt   string // RFC 3461 ORCPT, "type;addr"
	Targets []account.Recipient
}

// Result says what Deliver stored.
type Result struct {
	ID     string // names the message in logs and its Received header
	Size   int64  // octets received from the client
	Local  int    // mailbox copies
	Queued int    // remote recipients queued
}

// headerMax bounds the header section that Deliver holds in memory to look
// for Date and Message-ID; a longer header is streamed unexamined.
const headerMax = 256 << 10

// maxReceived is where a message is taken to be looping (RFC 5321 §6.3
// suggests counting Received headers; 100 is its example, 50 ours).
const maxReceived = 50

// Deliver reads a message from data and commits it for every recipient:
// local ones into their INBOX, remote ones into the queue, all in one
// transaction. It returns after the commit is durable. On any error nothing
// is stored.
func (s *Service) Deliver(ctx context.Context, env Envelope, data io.Reader) (Result, error) {
	res := Result{ID: newID()}
	if len(env.Recipients) == 0 {
		return res, ErrNoRecipients
	}
	if len(env.Recipients) > s.maxRcpts {
		return res, ErrTooManyRecipients
	}
	bw, err := s.st.NewBlob(ctx)
	if err != nil {
		return res, err
	}
	defer bw.Abort()
	size, err := s.writeMessage(bw, env, res.ID, data)
	res.Size = size
	if err != nil {
		return res, err
	}
	blob, _, err := bw.Finish()
	if err != nil {
		return res, err
	}
	verdict, err := s.authenticate(ctx, env, blob, res.ID)
	if err != nil {
		return res, err
	}
	batch, release, err := s.batch(ctx, env, blob, verdict)
	defer release()
	if err != nil {
		return res, err
	}
	if _, err := s.st.Append(ctx, batch); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.inboxes.Clear() // an account went away meanwhile
		}
		return res, fmt.Errorf("delivery: store: %w", err)
	}
	res.Local = len(batch.Messages)
	for _, q := range batch.Queue {
		res.Queued += len(q.Recipients)
	}
	if res.Queued > 0 && s.queue != nil {
		s.queue.Wake()
	}
	return res, nil
}

// writeMessage writes the trace header, the fix-ups and the client's data
// into w, checking line endings, NULs, size and loops.
func (s *Service) writeMessage(out io.Writer, env Envelope, id string, data io.Reader) (n int64, err error) {
	// RFC 8601 §5: Authentication-Results fields that claim to come from
	// us are forgeries; the filter drops them from the header as it passes.
	w := mailauth.NewResultsFilter(out, s.host)
	defer func() {
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
	}()
	c := &checker{max: s.maxSize}
	bufs := s.getBufs()
	defer s.putBufs(bufs)
	head, rest, err := readHeader(data, c, bufs)
	if err != nil {
		return c.n, err
	}
	hdr, _ := message.ParseHeader(head) // copies what it keeps
	if len(hdr.Values("Received")) > maxReceived {
		return c.n, ErrLoop
	}
	trace := env.Trace
	trace.By, trace.ID, trace.Date = s.host, id, s.now()
	trace.Recipients = trace.Recipients[:0:0]
	for _, r := range env.Recipients {
		trace.Recipients = append(trace.Recipients, r.Address)
	}
	trace.Auth = env.Auth != nil
	var pre strings.Builder
	pre.WriteString(message.Received(trace))
	if env.Submission {
		// RFC 6409 §8.2, §8.3: a submission server may add what the user
		// agent left out.
		if !hdr.Has("Date") {
			pre.WriteString(message.FormatField("Date", message.FormatDate(s.now())))
		}
		if !hdr.Has("Message-ID") {
			pre.WriteString(message.FormatField("Message-ID", s.newMessageID()))
		}
	}
	if _, err := io.WriteString(w, pre.String()); err != nil {
		return c.n, err
	}
	if _, err := w.Write(head); err != nil {
		return c.n, err
	}
	if rest == nil {
		return c.n, nil
	}
	_, err = c.copy(w, rest, bufs.chunk)
	return c.n, err
}

// readHeader reads the header section (up to and including the empty line)
// through the checker. When the header is longer than headerMax, it
// returns what it read and the reader to continue from; rest is nil when
// the whole message was read.
func readHeader(data io.Reader, c *checker, bufs *readBufs) (head []byte, rest io.Reader, err error) {
	buf, chunk := &bufs.head, bufs.chunk[:8192]
	for {
		n, rerr := data.Read(chunk)
		if n > 0 {
			if err := c.check(chunk[:n]); err != nil {
				return nil, nil, err
			}
			buf.Write(chunk[:n])
			b := buf.Bytes()
			// The header ends at the first empty line (RFC 5322 §2.1); a
			// message that starts with one has an empty header.
			if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 || bytes.HasPrefix(b, []byte("\r\n")) || buf.Len() > headerMax {
				return b, data, nil
			}
		}
		if rerr == io.EOF {
			return buf.Bytes(), nil, c.end()
		}
		if rerr != nil {
			return nil, nil, rerr
		}
	}
}

// newMessageID makes a Message-ID for a submission that lacks one.
func (s *Service) newMessageID() string {
	var b [12]byte
	rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "@" + s.host + ">"
}

// batch builds the one store transaction of a delivery: a mailbox copy per
// local account (in Junk when the checks say so), a queue entry per remote
// domain (DKIM-signed when a local user sent it).
// release discards a body batch staged for the queue (a 7-bit copy) unless
// the batch committed; the caller always calls it.
func (s *Service) batch(ctx context.Context, env Envelope, blob store.BlobID, v *mailauth.Verdict) (b store.Batch, release func(), err error) {
	release = func() {}
	seen := map[store.AccountID]bool{}
	queues := map[string]*store.QueueEntry{}
	var domains []string
	var meta *message.Meta
	// Return-Path at final delivery (RFC 5321 §4.4). The same for every
	// local copy, so one analysis of prefix+body serves them all: the
	// structure's offsets are those of the message as IMAP serves it.
	prefix := returnPath(env.From)
	if v != nil {
		prefix = append(prefix, v.Header...)
	}
	for _, r := range env.Recipients {
		for _, t := range r.Targets {
			if t.Account == nil {
				_, domain, _ := strings.Cut(t.Address, "@")
				q := queues[domain]
				if q == nil {
					q = &store.QueueEntry{Domain: domain, From: env.From, BlobID: blob, EnvID: env.EnvID, Ret: env.Ret,
						Body8Bit: env.Body8Bit, SMTPUTF8: env.SMTPUTF8, CreatedAt: s.now(), NextAttempt: s.now()}
					if env.Auth != nil {
						q.AccountID = env.Auth.ID
					}
					queues[domain] = q
					domains = append(domains, domain)
				}
				q.Recipients = append(q.Recipients, store.QueueRecipient{Address: t.Address, Status: store.RcptPending, Notify: r.Notify, ORcpt: r.ORcpt})
				continue
			}
			if seen[t.Account.ID] {
				continue
			}
			seen[t.Account.ID] = true
			if meta == nil {
				var err error
				if meta, err = s.analyze(ctx, prefix, blob); err != nil {
					return b, release, err
				}
			}
			inbox, err := s.inbox(ctx, t.Account.ID)
			if err != nil {
				return b, release, err
			}
			if v != nil && v.Action == mailauth.Junk {
				if junk, ok := s.junk(ctx, t.Account.ID); ok {
					inbox = junk
				}
			}
			b.Messages = append(b.Messages, store.NewMessage{
				AccountID: t.Account.ID, MailboxID: inbox, BlobID: blob,
				Prefix:       prefix,
				InternalDate: s.now().Truncate(time.Second),
				Index:        mailbox.IndexOf(meta), Meta: meta.Marshal(), Text: meta.Text,
			})
		}
	}
	var sig []byte
	qblob := blob
	if len(domains) > 0 {
		qblob, sig, release = s.signed(ctx, env, blob)
	}
	for _, d := range domains {
		q := *queues[d]
		q.Prefix = sig
		if qblob != blob {
			q.BlobID, q.Body8Bit = qblob, false
		}
		b.Queue = append(b.Queue, q)
	}
	return b, release, nil
}

func (s *Service) analyze(ctx context.Context, prefix []byte, blob store.BlobID) (*message.Meta, error) {
	r, err := s.st.OpenBlob(ctx, blob)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return message.Analyze(io.MultiReader(bytes.NewReader(prefix), r))
}

// readBufs are the buffers one delivery reads the client's data through,
// kept in the Service's pool so that a message costs no allocation for
// them.
type readBufs struct {
	chunk []byte       // reads (the header in 8 KiB steps, then the body)
	head  bytes.Buffer // the header section, up to headerMax
}

func (s *Service) getBufs() *readBufs {
	if b, ok := s.bufs.Get().(*readBufs); ok {
		return b
	}
	return &readBufs{chunk: make([]byte, 32<<10)}
}

func (s *Service) putBufs(b *readBufs) {
	if b.head.Cap() > 64<<10 {
		b.head = bytes.Buffer{} // a long header; do not keep its memory
	}
	b.head.Reset()
	s.bufs.Put(b)
}
