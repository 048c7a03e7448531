package imapd

import (
	"context"
	"errors"

	"posthorn/internal/account"
	"posthorn/internal/mailbox"
)

// imapError is a refusal a handler chooses itself: NO or BAD with a
// response code (RFC 5530) and a text for the client.
type imapError struct {
	kind string // "NO" or "BAD"
	code string
	text string
}

func (e *imapError) Error() string { return e.kind + " [" + e.code + "] " + e.text }

func no(code, text string) error { return &imapError{kind: "NO", code: code, text: text} }

func bad(text string) error { return &imapError{kind: "BAD", text: text} }

// reply maps an error to the tagged response the client gets: the one
// place where service errors become IMAP response codes (STYLE.md
// practice 2). Details go to the log with the session id; the client sees
// a short generic text. Unknown errors are NO [SERVERBUG].
func (s *session) reply(c *command, err error) (kind, code, text string, fatal bool) {
	var pe *protoError
	var ie *imapError
	var th *account.ThrottledError
	switch {
	case errors.As(err, &pe):
		kind = "BAD"
		if pe.no {
			kind = "NO"
		}
		return kind, pe.code, pe.msg, pe.fatal
	case errors.As(err, &ie):
		return ie.kind, ie.code, ie.text, false
	case errors.Is(err, account.ErrAuthFailed):
		return "NO", "AUTHENTICATIONFAILED", "Authentication failed", false
	case errors.As(err, &th):
		return "NO", "UNAVAILABLE", "Too many failed logins; try again later", false
	case errors.Is(err, mailbox.ErrNotFound):
		return "NO", "NONEXISTENT", "No such mailbox", false
	case errors.Is(err, mailbox.ErrExists):
		return "NO", "ALREADYEXISTS", "Mailbox already exists", false
	case errors.Is(err, mailbox.ErrInvalidName):
		return "NO", "CANNOT", "Invalid mailbox name", false
	case errors.Is(err, mailbox.ErrInbox):
		return "NO", "CANNOT", "INBOX cannot be deleted", false
	case errors.Is(err, mailbox.ErrHasChildren):
		return "NO", "HASCHILDREN", "Mailbox has children", false
	case errors.Is(err, mailbox.ErrTooBig):
		return "NO", "TOOBIG", "Message exceeds the size limit", false
	case errors.Is(err, mailbox.ErrInvalid):
		s.log.Info(c.name+" refused", "err", err)
		return "NO", "CANNOT", "Operation not permitted", false
	case errors.Is(err, mailbox.ErrClosed):
		return "NO", "UNAVAILABLE", "Server shutting down", true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "NO", "UNAVAILABLE", "Operation timed out; try again", false
	}
	s.log.Error(c.name+" failed", "err", err)
	return "NO", "SERVERBUG", "Internal error; please try again later", false
}
