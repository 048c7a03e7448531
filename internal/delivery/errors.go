package delivery

import "errors"

// Errors of the delivery service. Protocol packages map them to replies
// (smtpd/errors.go); anything else is a temporary failure.
var (
	// ErrRelayDenied: a remote recipient from a client that did not
	// authenticate.
	ErrRelayDenied = errors.New("delivery: relay access denied")
	// ErrSenderNotAllowed: an authenticated user used an envelope sender
	// that is not one of the account's addresses.
	ErrSenderNotAllowed = errors.New("delivery: sender address not owned by the authenticated user")
	// ErrTooBig: the message exceeds the size limit.
	ErrTooBig = errors.New("delivery: message too big")
	// ErrBareLineEnding: a CR or LF not part of CRLF (RFC 5321 §2.3.8),
	// the SMTP smuggling vector.
	ErrBareLineEnding = errors.New("delivery: bare CR or LF in message data")
	// ErrNUL: a NUL octet, which 8BITMIME content must not contain
	// (RFC 6152 §2).
	ErrNUL = errors.New("delivery: NUL octet in message data")
	// ErrLoop: too many Received headers (RFC 5321 §6.3).
	ErrLoop = errors.New("delivery: mail loop detected")
	// ErrTooManyRecipients: more recipients than the limit.
	ErrTooManyRecipients = errors.New("delivery: too many recipients")
	// ErrNoRecipients: nothing to deliver to.
	ErrNoRecipients = errors.New("delivery: no recipients")
)
