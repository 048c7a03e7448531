package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

// msgRow is what writes need to know of an existing message.
type msgRow struct {
	store.MessageFlags
	size int64
	blob string
}

// selectFlags reads the messages of a mailbox in a UID set inside a write,
// in UID order; onlyDeleted keeps those flagged \Deleted.
func (w *wtx) selectFlags(mailbox store.MailboxID, uids store.UIDSet, onlyDeleted bool) ([]msgRow, error) {
	lo, hi := uidRanges(uids)
	if len(lo) == 0 {
		return nil, nil
	}
	rows, err := w.query(`SELECT `+flagCols+`, size, blob_id FROM messages
		JOIN unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) ON uid BETWEEN r.lo AND r.hi
		WHERE mailbox_id = $1 AND (NOT $4 OR flags & $5 <> 0) ORDER BY uid`, mailbox, lo, hi, onlyDeleted, int16(store.FlagDeleted))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (msgRow, error) {
		var m msgRow
		err := r.Scan(&m.ID, &m.UID, &m.ModSeq, &m.Flags, &m.Keywords, &m.size, &m.blob)
		m.Keywords = nilIfEmpty(m.Keywords)
		return m, err
	})
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
	_, err := w.exec(`UPDATE mailboxes SET total = total + $1, unseen = unseen + $2, size = size + $3, highest_modseq = $4 WHERE id = $5`,
		total, unseen, size, ms, mailbox)
	return err
}

// ids lists the message ids of rows.
func ids(msgs []msgRow) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = int64(m.ID)
	}
	return out
}

// UpdateFlags implements store.MessageStore.
func (s *Store) UpdateFlags(ctx context.Context, u store.FlagUpdate) (store.FlagResult, error) {
	var res store.FlagResult
	kw := store.NormalizeKeywords(u.Keywords)
	err := s.write(ctx, lockSet{mailboxes: []store.MailboxID{u.MailboxID}}, func(w *wtx) error {
		res = store.FlagResult{}
		account, _, err := w.mailboxAccount(u.MailboxID)
		if err != nil {
			return err
		}
		msgs, err := w.selectFlags(u.MailboxID, u.UIDs, false)
		if err != nil {
			return err
		}
		var changedIDs, changedFlags []int64
		var changedKw []string
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
			changedIDs = append(changedIDs, int64(m.ID))
			changedFlags = append(changedFlags, int64(nf))
			changedKw = append(changedKw, store.JoinKeywords(nkw))
			unseenDelta += unseenOf(nf) - unseenOf(m.Flags)
			res.Updated = append(res.Updated, store.MessageFlags{ID: m.ID, UID: m.UID, Flags: nf, Keywords: nkw})
		}
		if len(changedIDs) == 0 {
			res.ModSeq, err = w.accountModSeq(account)
			return err
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		// Keywords are atoms, so a space-joined list splits back exactly.
		if _, err := w.exec(`UPDATE messages SET flags = u.flags, keywords = string_to_array(u.kw, ' '), modseq = $4
			FROM unnest($1::bigint[], $2::smallint[], $3::text[]) AS u(id, flags, kw) WHERE messages.id = u.id`,
			changedIDs, changedFlags, changedKw, ms); err != nil {
			return err
		}
		if _, err := w.exec(`UPDATE mailboxes SET unseen = unseen + $1, highest_modseq = $2 WHERE id = $3`, unseenDelta, ms, u.MailboxID); err != nil {
			return err
		}
		for i := range res.Updated {
			res.Updated[i].ModSeq = ms
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

// takeUIDs reserves n consecutive UIDs in a mailbox, adds the messages'
// counters and returns the first UID.
func (w *wtx) takeUIDs(mailbox store.MailboxID, msgs []msgRow, ms store.ModSeq) (store.UID, error) {
	total, unseen, size := counters(msgs)
	var first store.UID
	err := w.queryRow(`UPDATE mailboxes SET uidnext = uidnext + $1, total = total + $1, unseen = unseen + $2, size = size + $3,
		highest_modseq = $4 WHERE id = $5 RETURNING uidnext - $1`, total, unseen, size, ms, mailbox).Scan(&first)
	return first, err
}

// CopyMessages implements store.MessageStore.
func (s *Store) CopyMessages(ctx context.Context, src store.MailboxID, uids store.UIDSet, dst store.MailboxID) ([]store.UIDMapping, error) {
	var out []store.UIDMapping
	err := s.write(ctx, lockSet{mailboxes: []store.MailboxID{src, dst}}, func(w *wtx) error {
		out = nil
		account, err := w.sameAccount(src, dst)
		if err != nil {
			return err
		}
		msgs, err := w.selectFlags(src, uids, false)
		if err != nil || len(msgs) == 0 {
			return err
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		first, err := w.takeUIDs(dst, msgs, ms)
		if err != nil {
			return err
		}
		newUIDs := make([]int64, len(msgs))
		for i, m := range msgs {
			newUIDs[i] = int64(first) + int64(i)
			w.ref(store.BlobID(m.blob), 1)
		}
		rows, err := w.query(`INSERT INTO messages (account_id, mailbox_id, uid, modseq, created_modseq, flags, keywords, internal_date, size,
			blob_id, prefix, thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
			message_id, in_reply_to, refs, has_attachment, preview, meta)
			SELECT account_id, $1, c.uid, $2, $2, flags, keywords, internal_date, size,
			blob_id, prefix, thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
			message_id, in_reply_to, refs, has_attachment, preview, meta
			FROM messages JOIN unnest($3::bigint[], $4::bigint[]) AS c(src_id, uid) ON messages.id = c.src_id
			RETURNING id, uid`, dst, ms, ids(msgs), newUIDs)
		if err != nil {
			return err
		}
		created := map[store.UID]store.MessageID{}
		var id store.MessageID
		var uid store.UID
		if _, err := pgx.ForEachRow(rows, []any{&id, &uid}, func() error { created[uid] = id; return nil }); err != nil {
			return err
		}
		for i, m := range msgs {
			out = append(out, store.UIDMapping{Src: m.UID, Dst: store.UID(newUIDs[i]), ID: created[store.UID(newUIDs[i])]})
		}
		w.change(store.Change{AccountID: account, MailboxID: dst, Kind: store.ChangeMessageAdded, ModSeq: ms})
		return nil
	})
	return out, err
}

// MoveMessages implements store.MessageStore.
func (s *Store) MoveMessages(ctx context.Context, src store.MailboxID, uids store.UIDSet, dst store.MailboxID) ([]store.UIDMapping, error) {
	var out []store.UIDMapping
	err := s.write(ctx, lockSet{mailboxes: []store.MailboxID{src, dst}}, func(w *wtx) error {
		out = nil
		account, err := w.sameAccount(src, dst)
		if err != nil {
			return err
		}
		if src == dst {
			return fmt.Errorf("move into the same mailbox: %w", store.ErrInvalid)
		}
		msgs, err := w.selectFlags(src, uids, false)
		if err != nil || len(msgs) == 0 {
			return err
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		first, err := w.takeUIDs(dst, msgs, ms)
		if err != nil {
			return err
		}
		oldUIDs, newUIDs := make([]int64, len(msgs)), make([]int64, len(msgs))
		for i, m := range msgs {
			oldUIDs[i], newUIDs[i] = int64(m.UID), int64(first)+int64(i)
			out = append(out, store.UIDMapping{Src: m.UID, Dst: store.UID(newUIDs[i]), ID: m.ID})
		}
		if _, err := w.exec(`UPDATE messages SET mailbox_id = $1, uid = c.uid, modseq = $2
			FROM unnest($3::bigint[], $4::bigint[]) AS c(id, uid) WHERE messages.id = c.id`, dst, ms, ids(msgs), newUIDs); err != nil {
			return err
		}
		if err := w.tombstones(account, src, msgs, oldUIDs, ms, true); err != nil {
			return err
		}
		total, unseen, size := counters(msgs)
		if err := w.addCounters(src, -total, -unseen, -size, ms); err != nil {
			return err
		}
		w.change(store.Change{AccountID: account, MailboxID: src, Kind: store.ChangeMessageExpunged, ModSeq: ms})
		w.change(store.Change{AccountID: account, MailboxID: dst, Kind: store.ChangeMessageAdded, ModSeq: ms})
		return nil
	})
	return out, err
}

// tombstones records that msgs (with the given UIDs) left a mailbox.
func (w *wtx) tombstones(account store.AccountID, mailbox store.MailboxID, msgs []msgRow, uids []int64, ms store.ModSeq, moved bool) error {
	_, err := w.exec(`INSERT INTO tombstones (account_id, mailbox_id, uid, message_id, modseq, moved)
		SELECT $1, $2, t.uid, t.id, $3, $4 FROM unnest($5::bigint[], $6::bigint[]) AS t(uid, id)`,
		account, mailbox, ms, moved, uids, ids(msgs))
	return err
}

// Expunge implements store.MessageStore.
func (s *Store) Expunge(ctx context.Context, id store.MailboxID, uids store.UIDSet, onlyDeleted bool) ([]store.UID, store.ModSeq, error) {
	var out []store.UID
	var ms store.ModSeq
	err := s.write(ctx, lockSet{mailboxes: []store.MailboxID{id}}, func(w *wtx) error {
		out, ms = nil, 0
		account, _, err := w.mailboxAccount(id)
		if err != nil {
			return err
		}
		msgs, err := w.selectFlags(id, uids, onlyDeleted)
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
		if _, err := w.exec(`DELETE FROM messages WHERE id = ANY($1::bigint[])`, ids(msgs)); err != nil {
			return err
		}
		gone := make([]int64, len(msgs))
		for i, m := range msgs {
			gone[i] = int64(m.UID)
			out = append(out, m.UID)
			w.ref(store.BlobID(m.blob), -1)
		}
		if err := w.tombstones(account, id, msgs, gone, ms, false); err != nil {
			return err
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
