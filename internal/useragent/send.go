package useragent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"posthorn/internal/useragent/imapclient"
)

// SendResult tells what Send did.
type SendResult struct {
	// MessageID is the Message-ID of the message sent.
	MessageID string
	// Recipients are the envelope recipients the server accepted.
	Recipients []string
	// SavedIn is the mailbox the copy went to, "" if none was saved.
	SavedIn string
}

// ErrNotSaved wraps the error of saving the copy after the message was
// sent: the message is gone out, only the copy is missing.
var ErrNotSaved = errors.New("sent, but the copy was not saved")

// Send composes the draft, submits it and saves a copy in the Sent
// mailbox. The draft's From defaults to the account's user. When the copy
// cannot be saved, the result is returned along with an error wrapping
// ErrNotSaved.
func (a *Agent) Send(ctx context.Context, d Draft) (*SendResult, error) {
	if d.From == "" {
		d.From = a.acct.User
	}
	now := a.opts.Now()
	m, err := Compose(d, now)
	if err != nil {
		return nil, err
	}
	if err := a.submit(ctx, m); err != nil {
		return nil, err
	}
	res := &SendResult{MessageID: m.MessageID, Recipients: m.Recipients}
	res.SavedIn, err = a.saveCopy(ctx, m.Message, now)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrNotSaved, err)
	}
	return res, nil
}

// submit hands the message to the submission server: EHLO, STARTTLS
// (RFC 3207; refused servers end it here), AUTH PLAIN (RFC 4954, RFC
// 4616), MAIL, one RCPT per recipient, DATA. A refused recipient stops it
// before DATA, so nobody gets a message meant for a list it did not
// reach in full.
func (a *Agent) submit(ctx context.Context, m *Composed) error {
	addr := net.JoinHostPort(a.acct.Server, strconv.Itoa(a.acct.SMTPPort))
	dialer := &net.Dialer{Timeout: a.opts.Timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("SMTP %s: %w", addr, err)
	}
	// go-smtp sets its own per-command deadlines; cancellation closes.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClientStartTLS(conn, a.tlsConfig())
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP %s: STARTTLS: %w", addr, ctxErr(ctx, err))
	}
	defer c.Close()
	c.CommandTimeout = a.opts.Timeout
	c.SubmissionTimeout = a.opts.Timeout
	// go-smtp does the TLS handshake lazily, in the EHLO that follows
	// STARTTLS, and SupportsAuth would hide its failure: a NOOP brings a
	// refused certificate to light with its real error.
	if err := c.Noop(); err != nil {
		return fmt.Errorf("SMTP %s: after STARTTLS: %w", addr, ctxErr(ctx, err))
	}
	if !c.SupportsAuth(sasl.Plain) {
		return fmt.Errorf("SMTP %s: the server does not offer AUTH PLAIN", addr)
	}
	if err := c.Auth(sasl.NewPlainClient("", a.acct.User, a.acct.Password)); err != nil {
		return fmt.Errorf("SMTP login as %s: %w", a.acct.User, ctxErr(ctx, err))
	}
	if err := c.Mail(m.From, &smtp.MailOptions{Size: int64(len(m.Message))}); err != nil {
		return fmt.Errorf("SMTP MAIL FROM:<%s>: %w", m.From, ctxErr(ctx, err))
	}
	for _, r := range m.Recipients {
		if err := c.Rcpt(r, nil); err != nil {
			return fmt.Errorf("recipient %s refused, nothing sent: %w", r, ctxErr(ctx, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", ctxErr(ctx, err))
	}
	if _, err := w.Write(m.Message); err != nil {
		return fmt.Errorf("SMTP DATA: %w", ctxErr(ctx, err))
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP DATA: %w", ctxErr(ctx, err))
	}
	c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// saveCopy appends the message, \Seen, to the \Sent mailbox (RFC 6154),
// else to one named "Sent", creating that if there is none.
func (a *Agent) saveCopy(ctx context.Context, msg []byte, date time.Time) (string, error) {
	var box string
	err := a.session(ctx, func(c *imapclient.Client) error {
		boxes, err := c.List(ctx)
		if err != nil {
			return err
		}
		box = findSpecial(boxes, imapclient.SpecialSent, "Sent", "Sent Messages", "Sent Items")
		if box == "" {
			box = "Sent"
			if err := c.Create(ctx, box, imapclient.SpecialSent); err != nil {
				return err
			}
		}
		_, err = c.Append(ctx, box, []string{`\Seen`}, date, msg)
		return err
	})
	if err != nil {
		return "", err
	}
	return box, nil
}
