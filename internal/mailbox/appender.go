package mailbox

import (
	"context"

	"posthorn/internal/store"
)

// Appender collects messages for one all-or-nothing append (IMAP APPEND
// and MULTIAPPEND, RFC 3502) as they arrive: each body is written to the
// store and analysed when it is added, so a protocol can stream literals
// without holding them, and Commit stores them all in one transaction.
type Appender struct {
	svc    *Service
	mb     store.Mailbox
	batch  store.Batch
	aborts []func()
	done   bool
}

// NewAppender starts an append to one of the account's mailboxes.
func (s *Service) NewAppender(ctx context.Context, acct store.AccountID, mailbox store.MailboxID) (*Appender, error) {
	mb, err := s.ByID(ctx, acct, mailbox)
	if err != nil {
		return nil, err
	}
	return &Appender{svc: s, mb: mb}, nil
}

// Mailbox returns the target mailbox as it was when the append began.
func (a *Appender) Mailbox() store.Mailbox { return a.mb }

// Add reads one message body to its end (at most MaxMessageSize octets;
// ErrTooBig beyond) and keeps it for Commit.
func (a *Appender) Add(ctx context.Context, m NewMessage) error {
	nm, abort, err := a.svc.prepare(ctx, a.mb, m)
	a.aborts = append(a.aborts, abort)
	if err != nil {
		return err
	}
	a.batch.Messages = append(a.batch.Messages, nm)
	return nil
}

// Commit stores every added message, all or none, and returns their UIDs
// (RFC 4315 APPENDUID). The Appender cannot be used afterwards.
func (a *Appender) Commit(ctx context.Context) ([]store.Appended, error) {
	defer a.Abort()
	if len(a.batch.Messages) == 0 {
		return nil, nil
	}
	res, err := a.svc.st.Append(ctx, a.batch)
	if err != nil {
		return nil, mapErr(err)
	}
	return res.Messages, nil
}

// Abort discards what was added and not committed; it is safe to call
// more than once and after Commit.
func (a *Appender) Abort() {
	if a.done {
		return
	}
	a.done = true
	for _, f := range a.aborts {
		f()
	}
}
