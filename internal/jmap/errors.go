package jmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/mailbox"
)

// This file is the one place where errors become what the client sees:
// request-level problems (RFC 8620 §3.6.1, RFC 7807 problem details),
// method-level errors (§3.6.2) and per-object SetErrors (§5.3). Clients get
// a short generic description; the detail goes to the log.

// Request-level error types (RFC 8620 §3.6.1).
const (
	probUnknownCapability = "urn:ietf:params:jmap:error:unknownCapability"
	probNotJSON           = "urn:ietf:params:jmap:error:notJSON"
	probNotRequest        = "urn:ietf:params:jmap:error:notRequest"
	probLimit             = "urn:ietf:params:jmap:error:limit"
)

// problem is an RFC 7807 problem details object.
type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Limit  string `json:"limit,omitempty"` // for probLimit: the limit's name
}

// writeProblem sends a request-level error.
func writeProblem(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// Method-level error types (RFC 8620 §3.6.2, §5; RFC 8621).
const (
	errServerUnavailable = "serverUnavailable"
	errServerFail        = "serverFail"
	errUnknownMethod     = "unknownMethod"
	errInvalidArguments  = "invalidArguments"
	errInvalidResultRef  = "invalidResultReference"
	errAccountNotFound   = "accountNotFound"
	errRequestTooLarge   = "requestTooLarge"
	errStateMismatch     = "stateMismatch"
	errCannotCalculate   = "cannotCalculateChanges"
	errAnchorNotFound    = "anchorNotFound"
	errUnsupportedSort   = "unsupportedSort"
	errUnsupportedFilter = "unsupportedFilter"
	errTooManyChanges    = "tooManyChanges"
)

// methodError is a method-level error; handlers return it as an error and
// the dispatcher turns it into an "error" response.
type methodError struct {
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// Error implements error.
func (e *methodError) Error() string { return e.Type + ": " + e.Description }

func mErr(typ, format string, args ...any) *methodError {
	return &methodError{Type: typ, Description: fmt.Sprintf(format, args...)}
}

func invalidArgs(format string, args ...any) *methodError {
	return mErr(errInvalidArguments, format, args...)
}

// SetError types (RFC 8620 §5.3, RFC 8621 §2.5, §4.6, §4.8, §7.5).
const (
	setForbidden         = "forbidden"
	setTooLarge          = "tooLarge"
	setNotFound          = "notFound"
	setInvalidPatch      = "invalidPatch"
	setInvalidProperties = "invalidProperties"
	setMailboxHasChild   = "mailboxHasChild"
	setMailboxHasEmail   = "mailboxHasEmail"
	setTooManyMailboxes  = "tooManyMailboxes"
	setBlobNotFound      = "blobNotFound"
	setTooManyRecipients = "tooManyRecipients"
	setNoRecipients      = "noRecipients"
	setInvalidRecipients = "invalidRecipients"
	setForbiddenMailFrom = "forbiddenMailFrom"
	setAlreadyExists     = "alreadyExists"
)

// setError is a SetError: why one object could not be created, updated or
// destroyed.
type setError struct {
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Properties  []string `json:"properties,omitempty"`
	NotFound    []string `json:"notFound,omitempty"` // blobNotFound (RFC 8621 §4.6)
	InvalidRcpt []string `json:"invalidRecipients,omitempty"`
}

// Error implements error.
func (e *setError) Error() string { return e.Type + ": " + e.Description }

func sErr(typ, format string, args ...any) *setError {
	return &setError{Type: typ, Description: fmt.Sprintf(format, args...)}
}

func invalidProps(props ...string) *setError {
	return &setError{Type: setInvalidProperties, Description: "invalid value", Properties: props}
}

// asSetError maps a service error to a SetError. Unknown errors are
// logged and become "serverFail" (the method-level type, used for the one
// object: the other objects of the call went through and are reported).
func asSetError(ctx context.Context, log *slog.Logger, err error) *setError {
	var se *setError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, mailbox.ErrNotFound):
		return sErr(setNotFound, "no such object")
	case errors.Is(err, mailbox.ErrExists):
		return sErr(setAlreadyExists, "a mailbox with that name exists")
	case errors.Is(err, mailbox.ErrInvalidName):
		return &setError{Type: setInvalidProperties, Description: "invalid mailbox name", Properties: []string{"name"}}
	case errors.Is(err, mailbox.ErrInbox):
		return sErr(setForbidden, "the inbox cannot be deleted or renamed")
	case errors.Is(err, mailbox.ErrTooBig), errors.Is(err, delivery.ErrTooBig):
		return sErr(setTooLarge, "message too large")
	case errors.Is(err, delivery.ErrTooManyRecipients):
		return sErr(setTooManyRecipients, "too many recipients")
	case errors.Is(err, delivery.ErrNoRecipients):
		return sErr(setNoRecipients, "no recipients")
	case errors.Is(err, delivery.ErrSenderNotAllowed):
		return sErr(setForbiddenMailFrom, "you may not send from that address")
	case errors.Is(err, delivery.ErrRelayDenied):
		return sErr(setForbidden, "relaying denied")
	case errors.Is(err, account.ErrNoSuchUser), errors.Is(err, account.ErrInvalidAddress):
		return sErr(setInvalidRecipients, "invalid recipient")
	case errors.Is(err, mailbox.ErrInvalid):
		return sErr(setInvalidProperties, "invalid request")
	}
	logFrom(ctx, log).Error("set failed", "err", err)
	return sErr(errServerFail, "the server could not complete this change; try again later")
}

// asMethodError maps an error from a method handler to a method error.
func asMethodError(ctx context.Context, log *slog.Logger, err error) *methodError {
	var me *methodError
	switch {
	case errors.As(err, &me):
		return me
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return mErr(errServerUnavailable, "the request took too long")
	case errors.Is(err, mailbox.ErrUnsupported):
		return mErr(errServerUnavailable, "not supported by this server's store")
	}
	logFrom(ctx, log).Error("method failed", "err", err)
	return mErr(errServerFail, "internal error")
}
