package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/store"
)

// timeoutErr is a net.Error that timed out, as a read deadline gives.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestToReply(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	tests := []struct {
		err  error
		want string // "code x.y.z"
	}{
		{wrap(delivery.ErrRelayDenied), "554 5.7.1"},
		{wrap(account.ErrNoSuchUser), "550 5.1.1"},
		{wrap(account.ErrInvalidAddress), "553 5.1.3"},
		{wrap(delivery.ErrSenderNotAllowed), "553 5.7.1"},
		{wrap(delivery.ErrTooBig), "552 5.3.4"},
		{smtp.ErrDataTooLarge, "552 5.3.4"},
		{wrap(delivery.ErrBareLineEnding), "554 5.5.2"},
		{wrap(delivery.ErrNUL), "554 5.6.0"},
		{wrap(delivery.ErrLoop), "554 5.4.6"},
		{wrap(delivery.ErrTooManyRecipients), "452 4.5.3"},
		{wrap(delivery.ErrNoRecipients), "503 5.5.1"},
		{wrap(account.ErrAuthFailed), "535 5.7.8"},
		{&account.ThrottledError{}, "454 4.7.0"},
		{wrap(timeoutErr{}), "421 4.4.2"},
		{wrap(io.ErrUnexpectedEOF), "451 4.4.0"},
		{smtp.ErrDataReset, "451 4.4.0"},
		{errors.New("disk on fire"), "451 4.3.0"},
		{wrap(store.ErrClosed), "451 4.3.0"},
	}
	for _, tt := range tests {
		var logged strings.Builder
		log := slog.New(slog.NewTextHandler(&logged, nil))
		got := toReply(tt.err, log, "TEST")
		se, ok := got.(*smtp.SMTPError)
		if !ok {
			t.Errorf("%v: not a reply: %T", tt.err, got)
			continue
		}
		if s := fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2]); s != tt.want {
			t.Errorf("%v: %s, want %s", tt.err, s, tt.want)
		}
		// Only failures that are ours are logged as errors; the client
		// never sees the raw text of one.
		isOurs := tt.want == "451 4.3.0"
		if isOurs != strings.Contains(logged.String(), "level=ERROR") {
			t.Errorf("%v: logged %q", tt.err, logged.String())
		}
		if isOurs && strings.Contains(se.Message, "fire") {
			t.Errorf("%v: raw error text in the reply %q", tt.err, se.Message)
		}
	}
	if toReply(nil, slog.New(slog.DiscardHandler), "TEST") != nil {
		t.Error("nil error became a reply")
	}
}

// failingStore is a real store whose Append fails with an error no one
// maps (as a full disk would).
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) Append(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	if f.fail.Load() {
		return store.BatchResult{}, &os.PathError{Op: "write", Path: "pack", Err: errors.New("no space left on device")}
	}
	return f.Store.Append(ctx, b)
}

func TestUnknownFailureIsTemporary(t *testing.T) {
	fs := &failingStore{}
	e := newEnv(t, withStore(func(s store.Store) store.Store { fs.Store = s; return fs }))
	fs.fail.Store(true)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	mailTo(rc, "x@remote.test", "alice@example.test")
	rc.send(testMessage("full disk") + ".\r\n")
	got := rc.wait("451 4.3.0 ")
	if strings.Contains(got, "space") {
		t.Errorf("raw error text in the reply: %q", got)
	}
	recs := e.logs.records("DATA failed")
	if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["session"] == nil || !strings.Contains(fmt.Sprint(recs[0]["err"]), "no space") {
		t.Fatalf("error log: %v", recs)
	}
	// The session goes on, and once the store recovers the retry works.
	fs.fail.Store(false)
	mailTo(rc, "x@remote.test", "alice@example.test")
	rc.send(testMessage("retry") + ".\r\n")
	rc.wait("250 ")
	e.expectCounts(1, 0)
}
