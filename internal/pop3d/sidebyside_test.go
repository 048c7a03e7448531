package pop3d

import (
	"context"
	"slices"
	"testing"
	"time"

	"posthorn/internal/mailbox"
)

// TestDeletionReachesOtherSessions: what an IMAP session learns of a POP3
// session's work goes through the mailbox service — the Hub wakes its
// watcher, and Changes since its MODSEQ bookmark gives tombstones for the
// POP3 deletions (EXPUNGE/VANISHED) and the new \Seen flag. DELE alone
// changes nothing anyone else can see; QUIT does. (The wire-level IMAP and
// POP3 test on one account is internal/server's TestPOP3AndIMAPSideBySide.)
func TestDeletionReachesOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fill(t, 3)
	ctx := context.Background()
	a := e.account(t, "alice@example.test")
	msgs := e.inbox(t, "alice@example.test")
	w := e.mboxes.NewWatcher(a.ID)
	defer w.Close()
	mb, _, err := e.mboxes.State(ctx, a.ID, msgs[0].MailboxID)
	if err != nil {
		t.Fatal(err)
	}
	since := mb.HighestModSeq

	c := e.dial(t)
	c.login("alice@example.test")
	c.ok("DELE 1")
	c.ok("DELE 3")
	c.ok("RETR 2")
	c.multi()
	if _, changed, gone, err := e.mboxes.Changes(ctx, a.ID, mb.ID, since); err != nil || len(changed)+len(gone) != 0 {
		t.Fatalf("before QUIT: changes %v, tombstones %v, err %v", changed, gone, err)
	}
	c.ok("QUIT")

	select {
	case <-w.C:
	case <-time.After(20 * time.Second):
		t.Fatal("the watcher was not woken by the POP3 deletion")
	}
	// The watcher may have been woken by the expunge before the flag
	// change was published; wait for both to be committed.
	var changed []mailbox.MessageFlags
	var gone []mailbox.Tombstone
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, changed, gone, err = e.mboxes.Changes(ctx, a.ID, mb.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		if len(changed) > 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-w.C:
		case <-time.After(time.Until(deadline)):
		}
	}
	var goneUIDs []mailbox.UID
	for _, g := range gone {
		if g.Moved {
			t.Errorf("tombstone of UID %d says moved", g.UID)
		}
		goneUIDs = append(goneUIDs, g.UID)
	}
	slices.Sort(goneUIDs)
	if want := []mailbox.UID{msgs[0].UID, msgs[2].UID}; !slices.Equal(goneUIDs, want) {
		t.Fatalf("tombstones for %v, want %v", goneUIDs, want)
	}
	if len(changed) != 1 || changed[0].UID != msgs[1].UID || changed[0].Flags&mailbox.FlagSeen == 0 {
		t.Fatalf("flag changes %+v, want \\Seen on UID %d", changed, msgs[1].UID)
	}
	if took := w.Take(); took[mb.ID] <= since {
		t.Fatalf("watcher reports MODSEQ %d for INBOX, want above %d", took[mb.ID], since)
	}
}
