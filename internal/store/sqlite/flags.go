package sqlite

import (
	"context"
	"fmt"

	"posthorn/internal/store"
)

// selectFlags reads the flags of the messages of a mailbox in a UID set,
// inside a write.
func (w *wtx) selectFlags(mailbox store.MailboxID, uids store.UIDSet, extra string) ([]msgRow, error) {
	q, args := uidSelect(flagCols+`, size, blob_id`, mailbox, uids, extra)
	rows, err := w.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []msgRow
	for rows.Next() {
		var r msgRow
		var kw string
		if err := rows.Scan(&r.ID, &r.UID, &r.ModSeq, &r.Flags, &kw, &r.size, &r.blob); err != nil {
			return nil, err
		}
		r.Keywords = store.SplitKeywords(kw)
		out = append(out, r)
	}
	return out, rows.Err()
}

// msgRow is what writes need to know of an existing message.
type msgRow struct {
	store.MessageFlags
	size int64
	blob string
}

// counters sums what a set of messages adds to a mailbox's counters.
func counters(msgs []msgRow) (total, unseen int, size int64) {
	for _, m := range msgs {
		total++
		unseen += unseenOf(m.Flags)
		size += m.size
	}
	return
}

// addCounters changes a mailbox's counters by the given amounts and sets
// its HIGHESTMODSEQ.
func (w *wtx) addCounters(mailbox store.MailboxID, total, unseen int, size int64, ms store.ModSeq) error {
	_, err := w.exec(`UPDATE mailboxes SET total = total + ?, unseen = unseen + ?, size = size + ?, highest_modseq = ? WHERE id = ?`,
		total, unseen, size, ms, mailbox)
	return err
}

// UpdateFlags implements store.MessageStore.
func (s *Store) UpdateFlags(ctx context.Context, u store.FlagUpdate) (store.FlagResult, error) {
	var res store.FlagResult
	kw := store.NormalizeKeywords(u.Keywords)
	err := s.write(ctx, func(w *wtx) error {
		res = store.FlagResult{}
		account, _, err := w.mailboxAccount(u.MailboxID)
		if err != nil {
			return err
		}
		msgs, err := w.selectFlags(u.MailboxID, u.UIDs, "")
		if err != nil {
			return err
		}
		var ms store.ModSeq
		unseenDelta := 0
		for _, m := range msgs {
			if u.UnchangedSince != 0 && m.ModSeq > u.UnchangedSince {
				res.Modified = append(res.Modified, m.UID)
				continue
			}
			nf, nkw := store.ApplyFlags(u.Op, m.Flags, m.Keywords, u.Flags, kw)
			if store.EqualFlags(nf, nkw, m.Flags, m.Keywords) {
				continue
			}
			if ms == 0 {
				if ms, err = w.modseq(account); err != nil {
					return err
				}
			}
			if _, err := w.exec(`UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE id = ?`, nf, store.JoinKeywords(nkw), ms, m.ID); err != nil {
				return err
			}
			unseenDelta += unseenOf(nf) - unseenOf(m.Flags)
			res.Updated = append(res.Updated, store.MessageFlags{ID: m.ID, UID: m.UID, ModSeq: ms, Flags: nf, Keywords: nkw})
		}
		if ms == 0 {
			a, err := w.accountModSeq(account)
			res.ModSeq = a
			return err
		}
		if _, err := w.exec(`UPDATE mailboxes SET unseen = unseen + ?, highest_modseq = ? WHERE id = ?`, unseenDelta, ms, u.MailboxID); err != nil {
			return err
		}
		res.ModSeq = ms
		w.change(store.Change{AccountID: account, MailboxID: u.MailboxID, Kind: store.ChangeMessageFlags, ModSeq: ms})
		return nil
	})
	return res, err
}

// sameAccount checks that two mailboxes exist and belong to one account.
func (w *wtx) sameAccount(src, dst store.MailboxID) (store.AccountID, error) {
	a1, _, err := w.mailboxAccount(src)
	if err != nil {
		return 0, err
	}
	a2, _, err := w.mailboxAccount(dst)
	if err != nil {
		return 0, err
	}
	if a1 != a2 {
		return 0, fmt.Errorf("mailboxes of different accounts: %w", store.ErrInvalid)
	}
	return a1, nil
}

// CopyMessages implements store.MessageStore.
func (s *Store) CopyMessages(ctx context.Context, src store.MailboxID, uids store.UIDSet, dst store.MailboxID) ([]store.UIDMapping, error) {
	var out []store.UIDMapping
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		account, err := w.sameAccount(src, dst)
		if err != nil {
			return err
		}
		msgs, err := w.selectFlags(src, uids, "")
		if err != nil || len(msgs) == 0 {
			return err
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			var uid store.UID
			if err := w.queryRow(`UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, dst).Scan(&uid); err != nil {
				return err
			}
			id, err := w.nextMessageID()
			if err != nil {
				return err
			}
			_, err = w.exec(`INSERT INTO messages (id, account_id, mailbox_id, uid, modseq, created_modseq, flags, keywords, internal_date, size, blob_id, prefix,
				thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
				message_id, in_reply_to, refs, has_attachment, preview, meta)
				SELECT ?, account_id, ?, ?, ?, ?, flags, keywords, internal_date, size, blob_id, prefix,
				thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
				message_id, in_reply_to, refs, has_attachment, preview, meta FROM messages WHERE id = ?`,
				id, dst, uid, ms, ms, m.ID)
			if err != nil {
				return err
			}
			if _, err := w.exec(`UPDATE blobs SET refs = refs + 1 WHERE id = ?`, m.blob); err != nil {
				return err
			}
			out = append(out, store.UIDMapping{Src: m.UID, Dst: uid, ID: store.MessageID(id)})
		}
		total, unseen, size := counters(msgs)
		if err := w.addCounters(dst, total, unseen, size, ms); err != nil {
			return err
		}
		w.change(store.Change{AccountID: account, MailboxID: dst, Kind: store.ChangeMessageAdded, ModSeq: ms})
		return nil
	})
	return out, err
}

// MoveMessages implements store.MessageStore.
func (s *Store) MoveMessages(ctx context.Context, src store.MailboxID, uids store.UIDSet, dst store.MailboxID) ([]store.UIDMapping, error) {
	var out []store.UIDMapping
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		account, err := w.sameAccount(src, dst)
		if err != nil {
			return err
		}
		if src == dst {
			return fmt.Errorf("move into the same mailbox: %w", store.ErrInvalid)
		}
		msgs, err := w.selectFlags(src, uids, "")
		if err != nil || len(msgs) == 0 {
			return err
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			var uid store.UID
			if err := w.queryRow(`UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, dst).Scan(&uid); err != nil {
				return err
			}
			if _, err := w.exec(`UPDATE messages SET mailbox_id = ?, uid = ?, modseq = ? WHERE id = ?`, dst, uid, ms, m.ID); err != nil {
				return err
			}
			if _, err := w.exec(`INSERT INTO tombstones (account_id, mailbox_id, uid, message_id, modseq, moved) VALUES (?, ?, ?, ?, ?, 1)`,
				account, src, m.UID, m.ID, ms); err != nil {
				return err
			}
			out = append(out, store.UIDMapping{Src: m.UID, Dst: uid, ID: m.ID})
		}
		total, unseen, size := counters(msgs)
		if err := w.addCounters(src, -total, -unseen, -size, ms); err != nil {
			return err
		}
		if err := w.addCounters(dst, total, unseen, size, ms); err != nil {
			return err
		}
		w.change(store.Change{AccountID: account, MailboxID: src, Kind: store.ChangeMessageExpunged, ModSeq: ms})
		w.change(store.Change{AccountID: account, MailboxID: dst, Kind: store.ChangeMessageAdded, ModSeq: ms})
		return nil
	})
	return out, err
}

// Expunge implements store.MessageStore.
func (s *Store) Expunge(ctx context.Context, id store.MailboxID, uids store.UIDSet, onlyDeleted bool) ([]store.UID, store.ModSeq, error) {
	var out []store.UID
	var ms store.ModSeq
	err := s.write(ctx, func(w *wtx) error {
		out, ms = nil, 0
		account, _, err := w.mailboxAccount(id)
		if err != nil {
			return err
		}
		extra := ""
		if onlyDeleted {
			extra = fmt.Sprintf(" AND flags & %d <> 0", store.FlagDeleted)
		}
		msgs, err := w.selectFlags(id, uids, extra)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			ms, err = w.accountModSeq(account)
			return err
		}
		if ms, err = w.modseq(account); err != nil {
			return err
		}
		for _, m := range msgs {
			if _, err := w.exec(`DELETE FROM messages WHERE id = ?`, m.ID); err != nil {
				return err
			}
			if err := w.unrefBlob(store.BlobID(m.blob), 1); err != nil {
				return err
			}
			if _, err := w.exec(`INSERT INTO tombstones (account_id, mailbox_id, uid, message_id, modseq, moved) VALUES (?, ?, ?, ?, ?, 0)`,
				account, id, m.UID, m.ID, ms); err != nil {
				return err
			}
			out = append(out, m.UID)
		}
		total, unseen, size := counters(msgs)
		if err := w.addCounters(id, -total, -unseen, -size, ms); err != nil {
			return err
		}
		w.change(store.Change{AccountID: account, MailboxID: id, Kind: store.ChangeMessageExpunged, ModSeq: ms})
		return nil
	})
	return out, ms, err
}
