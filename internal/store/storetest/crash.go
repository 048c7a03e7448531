package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"posthorn/internal/store"
)

func init() {
	register("SurvivesSIGKILL", testSurvivesSIGKILL)
}

const childEnv = "POSTHORN_STORETEST_CHILD"

// ChildMain must be called first thing in TestMain of a package that runs
// the suite. In the crash test's child process it appends messages forever,
// printing each one once Append has returned, and never returns; elsewhere
// it returns at once.
func ChildMain(open func(ctx context.Context, location string) (store.Store, error)) {
	loc := os.Getenv(childEnv)
	if loc == "" {
		return
	}
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "storetest child:", err)
		os.Exit(3)
	}
	s, err := open(ctx, loc)
	if err != nil {
		fail(err)
	}
	acct, err := s.AccountByAddress(ctx, "alice@example.test")
	if err != nil {
		fail(err)
	}
	inbox, err := s.MailboxByName(ctx, acct.ID, "INBOX")
	if err != nil {
		fail(err)
	}
	for i := 0; ; i++ {
		w, err := s.NewBlob(ctx)
		if err != nil {
			fail(err)
		}
		io.WriteString(w, sampleBody(i))
		blob, _, err := w.Finish()
		if err != nil {
			fail(err)
		}
		res, err := s.Append(ctx, store.Batch{Messages: []store.NewMessage{{
			AccountID: acct.ID, MailboxID: inbox.ID, BlobID: blob, InternalDate: time.Now(),
		}}})
		if err != nil {
			fail(err)
		}
		// Only now is the message acknowledged, as SMTP would say 250.
		fmt.Printf("committed %d %d\n", res.Messages[0].ID, i)
	}
}

func testSurvivesSIGKILL(t *testing.T, f Factory) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	fx := newFixture(t, f)
	must(t, fx.s.Close(), "Close before the child runs")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+fx.loc)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err, "StdoutPipe")
	must(t, cmd.Start(), "start child")
	acked := map[store.MessageID]int{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[0] != "committed" {
			continue
		}
		id, _ := strconv.ParseInt(fields[1], 10, 64)
		n, _ := strconv.Atoi(fields[2])
		acked[store.MessageID(id)] = n
		if len(acked) == 40 {
			// Kill it mid-stream: more appends are in flight right now.
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	io.Copy(io.Discard, out)
	cmd.Wait()
	if len(acked) < 40 {
		t.Fatalf("child acknowledged only %d messages", len(acked))
	}
	s, err := f.Open(fx.ctx, fx.loc)
	must(t, err, "reopen after SIGKILL")
	defer s.Close()
	fx.s = s
	ids := make([]store.MessageID, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	msgs, err := s.MessagesByID(fx.ctx, fx.acct.ID, ids)
	must(t, err, "MessagesByID")
	if len(msgs) != len(acked) {
		t.Fatalf("%d acknowledged messages, %d survived", len(acked), len(msgs))
	}
	for _, m := range msgs {
		if got := fx.readBlob(m.BlobID); got != sampleBody(acked[m.ID]) {
			t.Fatalf("message %d body = %q", m.ID, got)
		}
	}
	// The store works on after the crash, with UIDs still rising.
	mb, all := fx.state(fx.inbox)
	a := fx.appendOne(fx.inbox, "after the crash", 0, nil)
	if a.UID < mb.UIDNext || len(all) < len(acked) {
		t.Fatalf("after crash: UID %d, UIDNEXT was %d", a.UID, mb.UIDNext)
	}
}
