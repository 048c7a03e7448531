package mailbox

import (
	"errors"
	"fmt"

	"posthorn/internal/store"
)

// Errors of the mailbox service; protocol packages map them to replies.
var (
	ErrNotFound    = errors.New("mailbox: no such mailbox or message")
	ErrExists      = errors.New("mailbox: already exists")
	ErrInvalidName = errors.New("mailbox: invalid mailbox name")
	ErrInbox       = errors.New("mailbox: INBOX cannot be deleted")
	ErrHasChildren = errors.New("mailbox: has children")
	ErrTooBig      = errors.New("mailbox: message too big")
	ErrInvalid     = errors.New("mailbox: invalid request")
)

// mapErr turns store sentinels into this package's errors.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w (%v)", ErrNotFound, err)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w (%v)", ErrExists, err)
	case errors.Is(err, store.ErrInbox):
		return ErrInbox
	case errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("%w (%v)", ErrInvalid, err)
	}
	return err
}
