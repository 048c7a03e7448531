package pop3d

import (
	"errors"
	"log/slog"

	"posthorn/internal/account"
	"posthorn/internal/mailbox"
)

// Response codes (RFC 2449 §8, RFC 3206 §4). They are announced by CAPA as
// RESP-CODES and AUTH-RESP-CODE, so clients know to expect them.
const (
	codeInUse   = "IN-USE"   // RFC 2449 §8.1.2: authenticated, but the maildrop is locked
	codeAuth    = "AUTH"     // RFC 3206 §4: the credentials are the problem
	codeSysTemp = "SYS/TEMP" // RFC 3206 §4: a temporary problem; try again later
)

// reply is one -ERR line: an optional response code and a text for the
// client. The client never sees an error's detail; the log does. A reply
// that blames the client's input counts towards Options.MaxErrors.
type reply struct {
	code  string
	text  string
	blame bool
}

// Replies given by name.
var (
	replyAuthFailed  = reply{codeAuth, "Authentication failed", true}
	replyThrottled   = reply{codeSysTemp, "Too many failed logins; try again later", false}
	replyInUse       = reply{codeInUse, "Maildrop is in use by another session", false}
	replyTemporary   = reply{codeSysTemp, "Temporary server failure; try again later", false}
	replyNoSuchMsg   = reply{"", "No such message", true}
	replyMsgDeleted  = reply{"", "Message is marked as deleted", true}
	replyMsgGone     = reply{"", "Message was removed by another session", false}
	replyUnknown     = reply{"", "Unknown command", true}
	replyBadState    = reply{"", "Command not valid in this state", true}
	replySyntax      = reply{"", "Syntax error in arguments", true}
	replyLineTooLong = reply{"", "Line too long", true}
	replyNeedTLS     = reply{"", "Plaintext authentication needs TLS; use STLS", true}
	replyNoTLS       = reply{"", "STLS is not available", true}
	replyTLSActive   = reply{"", "Command not permitted when TLS active", true}
	replyNeedUser    = reply{"", "USER first", true}
	replyNoMech      = reply{"", "Unsupported authentication mechanism", true}
	replyAuthCancel  = reply{"", "Authentication cancelled", true}
	replyBadBase64   = reply{"", "Invalid base64 data", true}
	replyTooMany     = reply{"", "Too many errors; closing connection", false}
	replyNotRemoved  = reply{codeSysTemp, "Some deleted messages not removed", false} // RFC 1939 §6
)

// toReply maps a service error to the reply the client gets (STYLE.md
// practice 2). Errors it does not know are temporary: they are logged with
// the session id and the client is told to try again.
func toReply(err error, log *slog.Logger, what string) reply {
	var th *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrAuthFailed):
		return replyAuthFailed
	case errors.As(err, &th):
		return replyThrottled
	case errors.Is(err, mailbox.ErrNotFound):
		return replyMsgGone
	}
	log.Error(what+" failed", "err", err)
	return replyTemporary
}
