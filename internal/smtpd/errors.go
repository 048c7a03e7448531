package smtpd

import (
	"errors"
	"io"
	"log/slog"
	"net"

	"github.com/emersion/go-smtp"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/mailauth"
)

func reply(code int, e1, e2, e3 int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{e1, e2, e3}, Message: msg}
}

// Replies Posthorn gives by name. Enhanced status codes are those of
// RFC 3463 and the RFC 5248 registry.
var (
	replyAuthRequired = reply(530, 5, 7, 0, "Authentication required")            // RFC 4954 §6
	replyAuthFailed   = reply(535, 5, 7, 8, "Authentication credentials invalid") // RFC 4954 §6
	replyThrottled    = reply(454, 4, 7, 0, "Too many failed logins; try again later")
	replyBadSASL      = reply(501, 5, 5, 2, "Malformed authentication response") // RFC 4954 §4
	replyTemporary    = reply(451, 4, 3, 0, "Temporary failure, please try again later")
	replyAborted      = reply(451, 4, 4, 0, "Message transfer aborted")
	// A 421 ends the connection: go-smtp closes it after the reply
	// (RFC 5321 §3.8).
	replyTooManyErrors = reply(421, 4, 7, 0, "Too many errors; closing connection")
	replyInternal      = reply(421, 4, 3, 0, "Internal server error; closing connection")
	replyTimeout       = reply(421, 4, 4, 2, "Timeout waiting for data; closing connection")
)

// toReply maps a service error to the SMTP reply the client gets. The
// detail goes to the log with the session id; the client sees a clear,
// generic text (STYLE.md practice 2). An error it does not know is a
// temporary failure, logged at Error: go-smtp would turn a raw error into
// a permanent 554 carrying its text, so none is ever returned to it.
func toReply(err error, log *slog.Logger, what string) error {
	var se *smtp.SMTPError
	var th *account.ThrottledError
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se // already a reply (go-smtp's size limit, one of ours)
	case errors.Is(err, mailauth.ErrDMARCReject):
		// RFC 7489 §10.3.
		return reply(550, 5, 7, 1, "Message rejected by the DMARC policy of the sender's domain")
	case errors.Is(err, mailauth.ErrSPFReject):
		// RFC 7372 §3.2.
		return reply(550, 5, 7, 23, "SPF validation failed")
	case errors.Is(err, delivery.ErrRelayDenied):
		return reply(554, 5, 7, 1, "Relay access denied")
	case errors.Is(err, account.ErrNoSuchUser):
		return reply(550, 5, 1, 1, "No such user here")
	case errors.Is(err, account.ErrInvalidAddress):
		return reply(553, 5, 1, 3, "Bad mailbox address syntax; routing characters (% ! \" :) are not accepted")
	case errors.Is(err, delivery.ErrSenderNotAllowed):
		return reply(553, 5, 7, 1, "Sender address not owned by you")
	case errors.Is(err, delivery.ErrTooBig):
		return reply(552, 5, 3, 4, "Message exceeds the size limit") // RFC 1870 §6.1
	case errors.Is(err, delivery.ErrBareLineEnding):
		return reply(554, 5, 5, 2, "Bare CR or LF in message data is not allowed (RFC 5321 §2.3.8)")
	case errors.Is(err, delivery.ErrNUL):
		return reply(554, 5, 6, 0, "NUL octets in message data are not allowed")
	case errors.Is(err, delivery.ErrLoop):
		return reply(554, 5, 4, 6, "Mail loop detected: too many Received headers") // RFC 5321 §6.3
	case errors.Is(err, delivery.ErrTooManyRecipients):
		return reply(452, 4, 5, 3, "Too many recipients") // RFC 5321 §4.5.3.1.10
	case errors.Is(err, delivery.ErrNoRecipients):
		return reply(503, 5, 5, 1, "No valid recipients")
	case errors.Is(err, account.ErrAuthFailed):
		return replyAuthFailed
	case errors.As(err, &th):
		return replyThrottled
	case errors.As(err, &ne) && ne.Timeout():
		return replyTimeout // RFC 5321 §4.5.3.2.5: the client stopped sending
	case errors.Is(err, smtp.ErrDataReset), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		// The client went away, or sent RSET in the middle of BDAT: its
		// doing; nothing was stored, and it will not read this reply.
		return replyAborted
	}
	log.Error(what+" failed", "err", err)
	return replyTemporary
}
