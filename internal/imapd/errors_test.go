package imapd

import (
	"context"
	"errors"
	"testing"

	"posthorn/internal/account"
	"posthorn/internal/mailbox"
)

func TestErrorMapping(t *testing.T) {
	s := &session{log: testLogger()}
	c := &command{name: "X"}
	for err, want := range map[error]string{
		mailbox.ErrNotFound:            "NO NONEXISTENT",
		mailbox.ErrExists:              "NO ALREADYEXISTS",
		mailbox.ErrInvalidName:         "NO CANNOT",
		mailbox.ErrInbox:               "NO CANNOT",
		mailbox.ErrHasChildren:         "NO HASCHILDREN",
		mailbox.ErrTooBig:              "NO TOOBIG",
		mailbox.ErrInvalid:             "NO CANNOT",
		account.ErrAuthFailed:          "NO AUTHENTICATIONFAILED",
		&account.ThrottledError{}:      "NO UNAVAILABLE",
		mailbox.ErrClosed:              "NO UNAVAILABLE",
		context.DeadlineExceeded:       "NO UNAVAILABLE",
		errors.New("disk on fire"):     "NO SERVERBUG",
		no("TRYCREATE", "x"):           "NO TRYCREATE",
		bad("x"):                       "BAD ",
		&protoError{code: "TOOBIG"}:    "BAD TOOBIG",
		&protoError{no: true, msg: ""}: "NO ",
	} {
		kind, code, _, _ := s.reply(c, err)
		if got := kind + " " + code; got != want {
			t.Errorf("%v: %q, want %q", err, got, want)
		}
	}
}
