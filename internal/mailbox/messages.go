package mailbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"posthorn/internal/message"
	"posthorn/internal/store"
)

// NewMessage is a message to append (IMAP APPEND, JMAP Email/import).
type NewMessage struct {
	Body     io.Reader // the whole message, CRLF line ends
	Flags    store.Flags
	Keywords []string
	Date     time.Time // internal date; zero means now
	// Binary keeps the body as given: content sent as binary (an IMAP
	// literal8, RFC 3516) must not have its line ends rewritten.
	Binary bool
}

// Append stores messages in one mailbox of the account, all or none (RFC
// 3502 MULTIAPPEND), and returns their UIDs (RFC 4315 APPENDUID).
func (s *Service) Append(ctx context.Context, acct store.AccountID, mailbox store.MailboxID, msgs []NewMessage) ([]store.Appended, error) {
	mb, err := s.ByID(ctx, acct, mailbox)
	if err != nil {
		return nil, err
	}
	var batch store.Batch
	for _, m := range msgs {
		nm, abort, err := s.prepare(ctx, mb, m)
		defer abort()
		if err != nil {
			return nil, err
		}
		batch.Messages = append(batch.Messages, nm)
	}
	res, err := s.st.Append(ctx, batch)
	if err != nil {
		return nil, mapErr(err)
	}
	return res.Messages, nil
}

// prepare writes one message's body to the store and analyses it.
func (s *Service) prepare(ctx context.Context, mb store.Mailbox, m NewMessage) (store.NewMessage, func(), error) {
	w, err := s.st.NewBlob(ctx)
	if err != nil {
		return store.NewMessage{}, func() {}, err
	}
	buf := bodyBufs.Get().(*bytes.Buffer)
	defer putBodyBuf(buf)
	// Messages are stored with CRLF line ends (RFC 5322 §2.3), whatever a
	// client appended, so sizes reported later (RFC822.SIZE, POP3 LIST)
	// are those of the bytes served.
	body := m.Body
	if !m.Binary {
		body = message.NewCRLFReader(body)
	}
	cb := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(w, buf), io.LimitReader(body, s.maxSize+1), *cb)
	copyBufs.Put(cb)
	if err != nil {
		return store.NewMessage{}, w.Abort, err
	}
	if n > s.maxSize {
		return store.NewMessage{}, w.Abort, ErrTooBig
	}
	blob, _, err := w.Finish()
	if err != nil {
		return store.NewMessage{}, w.Abort, err
	}
	meta, err := message.Analyze(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return store.NewMessage{}, w.Abort, err
	}
	date := m.Date
	if date.IsZero() {
		date = s.now()
	}
	return store.NewMessage{
		AccountID: mb.AccountID, MailboxID: mb.ID, BlobID: blob,
		Flags: m.Flags, Keywords: m.Keywords, InternalDate: date.Truncate(time.Second),
		Index: IndexOf(meta), Meta: meta.Marshal(), Text: meta.Text,
	}, w.Abort, nil
}

// Buffers of prepare, pooled: appending a 8 KiB message allocated over
// 250 KiB otherwise (bench/imap-fill.sh spent a quarter of its CPU in the
// allocator and the collector). message.Analyze copies what it keeps, so
// a body buffer can be reused once the analysis is done.
var (
	copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// putBodyBuf pools a body buffer unless it grew large.
func putBodyBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	b.Reset()
	bodyBufs.Put(b)
}

// IndexOf turns message.Analyze's result into the store's index fields.
func IndexOf(m *message.Meta) store.MessageIndex {
	return store.MessageIndex{
		Date: m.Date, Subject: m.Subject, BaseSubject: m.BaseSubject,
		From: m.From, To: m.To, Cc: m.Cc, Bcc: m.Bcc,
		SortFrom: m.SortFrom, SortTo: m.SortTo, SortCc: m.SortCc,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		HasAttachment: m.HasAttachment, Preview: m.Preview,
	}
}

// Content is a stored message opened for reading: the per-message prefix
// followed by the shared body, as one random-access stream.
type Content struct {
	*io.SectionReader
	blob store.Blob
}

// Close releases the body.
func (c *Content) Close() error { return c.blob.Close() }

// Open opens a message for reading.
func (s *Service) Open(ctx context.Context, m store.Message) (*Content, error) {
	b, err := s.st.OpenBlob(ctx, m.BlobID)
	if err != nil {
		return nil, mapErr(err)
	}
	ra := &prefixedReaderAt{prefix: m.Prefix, body: b}
	return &Content{SectionReader: io.NewSectionReader(ra, 0, int64(len(m.Prefix))+b.Size()), blob: b}, nil
}

// prefixedReaderAt reads prefix then body as one address space.
type prefixedReaderAt struct {
	prefix []byte
	body   io.ReaderAt
}

func (p *prefixedReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(p.prefix)) {
		n = copy(b, p.prefix[off:])
		if n == len(b) {
			return n, nil
		}
		off = int64(len(p.prefix))
	}
	m, err := p.body.ReadAt(b[n:], off-int64(len(p.prefix)))
	return n + m, err
}

// Meta returns the analysed structure of a message (its ENVELOPE and
// BODYSTRUCTURE), stored at delivery.
func Meta(m store.Message) (*message.Meta, error) {
	if len(m.Meta) == 0 {
		return nil, fmt.Errorf("message %d has no stored structure: %w", m.ID, ErrInvalid)
	}
	return message.UnmarshalMeta(m.Meta)
}

// State returns a mailbox and the flags of all its messages in one
// snapshot (IMAP SELECT, POP3 login).
func (s *Service) State(ctx context.Context, acct store.AccountID, id store.MailboxID) (store.Mailbox, []store.MessageFlags, error) {
	mb, msgs, err := s.st.MailboxState(ctx, id)
	if err != nil {
		return mb, nil, mapErr(err)
	}
	if mb.AccountID != acct {
		return store.Mailbox{}, nil, ErrNotFound
	}
	return mb, msgs, nil
}

// Changes returns what changed in a mailbox after since (see
// store.MessageStore.ChangesSince).
func (s *Service) Changes(ctx context.Context, acct store.AccountID, id store.MailboxID, since store.ModSeq) (store.Mailbox, []store.MessageFlags, []store.Tombstone, error) {
	mb, changed, gone, err := s.st.ChangesSince(ctx, id, since)
	if err != nil {
		return mb, nil, nil, mapErr(err)
	}
	if mb.AccountID != acct {
		return store.Mailbox{}, nil, nil, ErrNotFound
	}
	return mb, changed, gone, nil
}

// Messages returns the messages of the account's mailbox in a UID set.
func (s *Service) Messages(ctx context.Context, acct store.AccountID, id store.MailboxID, uids store.UIDSet) ([]store.Message, error) {
	if _, err := s.ByID(ctx, acct, id); err != nil {
		return nil, err
	}
	ms, err := s.st.Messages(ctx, id, uids)
	return ms, mapErr(err)
}

// MessagesByID returns messages of the account by id.
func (s *Service) MessagesByID(ctx context.Context, acct store.AccountID, ids []store.MessageID) ([]store.Message, error) {
	ms, err := s.st.MessagesByID(ctx, acct, ids)
	return ms, mapErr(err)
}

// UpdateFlags changes flags in the account's mailbox.
func (s *Service) UpdateFlags(ctx context.Context, acct store.AccountID, u store.FlagUpdate) (store.FlagResult, error) {
	if _, err := s.ByID(ctx, acct, u.MailboxID); err != nil {
		return store.FlagResult{}, err
	}
	r, err := s.st.UpdateFlags(ctx, u)
	return r, mapErr(err)
}

// Copy copies messages between two mailboxes of the account.
func (s *Service) Copy(ctx context.Context, acct store.AccountID, src store.MailboxID, uids store.UIDSet, dst store.MailboxID) ([]store.UIDMapping, error) {
	if err := s.own(ctx, acct, src, dst); err != nil {
		return nil, err
	}
	m, err := s.st.CopyMessages(ctx, src, uids, dst)
	return m, mapErr(err)
}

// Move moves messages between two mailboxes of the account.
func (s *Service) Move(ctx context.Context, acct store.AccountID, src store.MailboxID, uids store.UIDSet, dst store.MailboxID) ([]store.UIDMapping, error) {
	if err := s.own(ctx, acct, src, dst); err != nil {
		return nil, err
	}
	m, err := s.st.MoveMessages(ctx, src, uids, dst)
	return m, mapErr(err)
}

// Expunge removes messages (only \Deleted ones when onlyDeleted).
func (s *Service) Expunge(ctx context.Context, acct store.AccountID, id store.MailboxID, uids store.UIDSet, onlyDeleted bool) ([]store.UID, store.ModSeq, error) {
	if _, err := s.ByID(ctx, acct, id); err != nil {
		return nil, 0, err
	}
	gone, ms, err := s.st.Expunge(ctx, id, uids, onlyDeleted)
	return gone, ms, mapErr(err)
}

func (s *Service) own(ctx context.Context, acct store.AccountID, ids ...store.MailboxID) error {
	for _, id := range ids {
		if _, err := s.ByID(ctx, acct, id); err != nil {
			return err
		}
	}
	return nil
}
