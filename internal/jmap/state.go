package jmap

import (
	"slices"
	"strconv"
	"strings"

	"posthorn/internal/mailbox"
)

// state is what a JMAP state string (RFC 8620 §1.6, §5.1) encodes: the
// account MODSEQ when it was read, and the ids of the account's mailboxes
// then. One token serves the Mailbox, Email and Thread types: anything that
// changes the account's mail raises its MODSEQ.
//
// The mailbox ids are there because deleting a mailbox (IMAP DELETE) drops
// its messages without tombstones: /changes compares the list with the
// mailboxes that exist now, reports destroyed mailboxes exactly, and says
// cannotCalculateChanges for Emails when one is gone, rather than miss the
// Emails it held.
//
// Syntax: the MODSEQ in decimal, then, if there are mailboxes, "-" and the
// sorted ids in base 36, each after the first as the difference to its
// predecessor, separated by "." ("812-1.1.1.1.1.3").
type state struct {
	modseq    mailbox.ModSeq
	mailboxes []mailbox.MailboxID // ascending
}

// maxStateMailboxes bounds what a parsed token may hold.
const maxStateMailboxes = 100000

func newState(ms mailbox.ModSeq, mbs []mailbox.Mailbox) state {
	st := state{modseq: ms, mailboxes: make([]mailbox.MailboxID, len(mbs))}
	for i, m := range mbs {
		st.mailboxes[i] = m.ID
	}
	slices.Sort(st.mailboxes)
	return st
}

// String formats the token.
func (s state) String() string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(int64(s.modseq), 10))
	var prev mailbox.MailboxID
	for i, id := range s.mailboxes {
		if i == 0 {
			b.WriteByte('-')
		} else {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(int64(id-prev), 36))
		prev = id
	}
	return b.String()
}

// parseState reads a token; ok is false for anything String could not
// have produced.
func parseState(tok string) (state, bool) {
	head, list, hasList := strings.Cut(tok, "-")
	ms, err := strconv.ParseInt(head, 10, 64)
	if err != nil || ms < 0 || strconv.FormatInt(ms, 10) != head {
		return state{}, false
	}
	st := state{modseq: mailbox.ModSeq(ms)}
	if !hasList {
		return st, true
	}
	var prev int64
	for i, p := range strings.Split(list, ".") {
		if i >= maxStateMailboxes {
			return state{}, false
		}
		d, err := strconv.ParseInt(p, 36, 64)
		if err != nil || d <= 0 || strconv.FormatInt(d, 36) != p || prev+d < prev {
			return state{}, false
		}
		prev += d
		st.mailboxes = append(st.mailboxes, mailbox.MailboxID(prev))
	}
	return st, true
}

// has reports whether the token lists mailbox id.
func (s state) has(id mailbox.MailboxID) bool {
	_, ok := slices.BinarySearch(s.mailboxes, id)
	return ok
}

// goneSince returns the mailboxes of s that are not in now.
func (s state) goneSince(now []mailbox.Mailbox) []mailbox.MailboxID {
	cur := make(map[mailbox.MailboxID]bool, len(now))
	for _, m := range now {
		cur[m.ID] = true
	}
	var gone []mailbox.MailboxID
	for _, id := range s.mailboxes {
		if !cur[id] {
			gone = append(gone, id)
		}
	}
	return gone
}
