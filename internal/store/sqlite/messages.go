package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"posthorn/internal/store"
)

// Append implements store.MessageStore.
func (s *Store) Append(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	var res store.BatchResult
	err := s.write(ctx, func(w *wtx) error {
		res = store.BatchResult{}
		return w.append(b, &res)
	})
	return res, err
}

func (w *wtx) append(b store.Batch, res *store.BatchResult) error {
	// Count references per blob first, so a body shared by several
	// recipients is adopted once with all its references.
	refs := map[store.BlobID]int{}
	text := map[store.BlobID]string{}
	for _, m := range b.Messages {
		refs[m.BlobID]++
		if m.Text != "" {
			text[m.BlobID] = m.Text
		}
	}
	for _, q := range b.Queue {
		refs[q.BlobID]++
	}
	sizes := map[store.BlobID]int64{}
	for id, n := range refs {
		if id == "" {
			return fmt.Errorf("message without blob: %w", store.ErrInvalid)
		}
		size, err := w.refBlob(id, n, text[id])
		if err != nil {
			return err
		}
		sizes[id] = size
	}
	for _, m := range b.Messages {
		a, err := w.appendMessage(m, sizes[m.BlobID])
		if err != nil {
			return err
		}
		res.Messages = append(res.Messages, a)
	}
	for _, q := range b.Queue {
		id, err := w.enqueue(q, sizes[q.BlobID])
		if err != nil {
			return err
		}
		res.Queue = append(res.Queue, id)
	}
	return nil
}

// threadOf finds the thread of the first referenced message that exists in
// the account (RFC 5256 REFERENCES, simplified: no subject merging).
func (w *wtx) threadOf(account store.AccountID, ix store.MessageIndex) (int64, error) {
	ids := make([]string, 0, len(ix.References)+1)
	if ix.InReplyTo != "" {
		ids = append(ids, ix.InReplyTo)
	}
	for i := len(ix.References) - 1; i >= 0; i-- {
		ids = append(ids, ix.References[i])
	}
	if len(ids) > 50 {
		ids = ids[:50]
	}
	for _, mid := range ids {
		var t int64
		err := w.queryRow(`SELECT thread_id FROM messages WHERE account_id = ? AND message_id = ? AND message_id <> '' LIMIT 1`, account, mid).Scan(&t)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	return 0, nil
}

func unseenOf(f store.Flags) int {
	if f&store.FlagSeen == 0 {
		return 1
	}
	return 0
}

func (w *wtx) appendMessage(m store.NewMessage, blobSize int64) (store.Appended, error) {
	var a store.Appended
	ms, err := w.modseq(m.AccountID)
	if err != nil {
		return a, err
	}
	size := blobSize + int64(len(m.Prefix))
	var uid store.UID
	var uv uint32
	err = w.queryRow(`UPDATE mailboxes SET uidnext = uidnext + 1, total = total + 1, unseen = unseen + ?, size = size + ?, highest_modseq = ?
		WHERE id = ? AND account_id = ? RETURNING uidnext - 1, uidvalidity`,
		unseenOf(m.Flags), size, ms, m.MailboxID, m.AccountID).Scan(&uid, &uv)
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("mailbox", m.MailboxID)
	}
	if err != nil {
		return a, err
	}
	thread, err := w.threadOf(m.AccountID, m.Index)
	if err != nil {
		return a, err
	}
	ix := m.Index
	// The id is drawn first, so a message that starts a thread can name
	// itself as the thread in the same INSERT.
	id, err := w.nextMessageID()
	if err != nil {
		return a, err
	}
	if thread == 0 {
		thread = id
	}
	_, err = w.exec(`INSERT INTO messages (id, account_id, mailbox_id, uid, modseq, created_modseq, flags, keywords, internal_date, size, blob_id, prefix,
		thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
		message_id, in_reply_to, refs, has_attachment, preview, meta)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, m.AccountID, m.MailboxID, uid, ms, ms, m.Flags, store.JoinKeywords(store.NormalizeKeywords(m.Keywords)), nanos(m.InternalDate), size, string(m.BlobID), m.Prefix,
		thread, nanos(ix.Date), ix.Subject, ix.BaseSubject, ix.From, ix.To, ix.Cc, ix.Bcc, ix.SortFrom, ix.SortTo, ix.SortCc,
		ix.MessageID, ix.InReplyTo, strings.Join(ix.References, " "), ix.HasAttachment, ix.Preview, m.Meta)
	if err != nil {
		return a, err
	}
	w.change(store.Change{AccountID: m.AccountID, MailboxID: m.MailboxID, Kind: store.ChangeMessageAdded, ModSeq: ms})
	return store.Appended{ID: store.MessageID(id), MailboxID: m.MailboxID, UIDValidity: uv, UID: uid, ModSeq: ms, ThreadID: thread}, nil
}

// nextMessageID draws the next message id. The writer holds the database's
// write lock for the whole group commit, so the counter read once from
// sqlite_sequence (AUTOINCREMENT's record, which an explicit id larger than
// it also advances) can be kept in memory for the group.
func (w *wtx) nextMessageID() (int64, error) {
	if *w.lastMessageID == 0 {
		var seq sql.NullInt64
		err := w.queryRow(`SELECT max((SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'messages'), (SELECT coalesce(max(id), 0) FROM messages))`).Scan(&seq)
		if err != nil {
			return 0, err
		}
		*w.lastMessageID = seq.Int64
	}
	*w.lastMessageID++
	return *w.lastMessageID, nil
}

// uidSelect builds the query for the messages of a mailbox in a UID set:
// "SELECT cols FROM messages WHERE <mailbox and set> extra ORDER BY uid".
// A set of one range (1:* included) is one range scan of the (mailbox_id,
// uid) index, already in order. A set of several goes in as one JSON
// parameter ("[[1,5],[9,9]]") whose ranges drive the loop, each range a
// range scan of the index; so every set has one of two statement shapes.
// (An OR of terms, one per range, made SQLite scan the whole mailbox when
// it mixed "uid = ?" with BETWEEN, and failed beyond ~1000 terms.)
func uidSelect(cols string, mailbox store.MailboxID, set store.UIDSet, extra string) (string, []any) {
	set = set.Normalize()
	if len(set) == 0 {
		return `SELECT ` + cols + ` FROM messages WHERE 0`, nil
	}
	if len(set) == 1 {
		return `SELECT ` + cols + ` FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ?` + extra + ` ORDER BY uid`,
			[]any{mailbox, set[0].First, set[0].Last}
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range set {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d]", r.First, r.Last)
	}
	b.WriteByte(']')
	return `WITH r(a, b) AS (SELECT value->>0, value->>1 FROM json_each(?)) SELECT ` + cols +
			` FROM r CROSS JOIN messages WHERE messages.mailbox_id = ? AND messages.uid BETWEEN r.a AND r.b` + extra + ` ORDER BY messages.uid`,
		[]any{b.String(), mailbox}
}

const flagCols = `id, uid, modseq, flags, keywords`

func scanFlags(sc interface{ Scan(...any) error }) (store.MessageFlags, error) {
	var f store.MessageFlags
	var kw string
	err := sc.Scan(&f.ID, &f.UID, &f.ModSeq, &f.Flags, &kw)
	f.Keywords = store.SplitKeywords(kw)
	return f, err
}

// MailboxState implements store.MessageStore.
func (s *Store) MailboxState(ctx context.Context, id store.MailboxID) (store.Mailbox, []store.MessageFlags, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Mailbox{}, nil, err
	}
	defer tx.Rollback()
	mb, err := scanMailbox(tx.QueryRowContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return mb, nil, notFound("mailbox", id)
	}
	if err != nil {
		return mb, nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+flagCols+` FROM messages WHERE mailbox_id = ? ORDER BY uid`, id)
	if err != nil {
		return mb, nil, err
	}
	defer rows.Close()
	out := make([]store.MessageFlags, 0, mb.Total)
	for rows.Next() {
		f, err := scanFlags(rows)
		if err != nil {
			return mb, nil, err
		}
		out = append(out, f)
	}
	return mb, out, rows.Err()
}

const messageCols = `id, uid, modseq, flags, keywords, account_id, mailbox_id, created_modseq, internal_date, size, blob_id, prefix,
	thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
	message_id, in_reply_to, refs, has_attachment, preview, meta`

func scanMessage(sc interface{ Scan(...any) error }) (store.Message, error) {
	var m store.Message
	var kw, refs string
	var idate, sent int64
	ix := &m.Index
	err := sc.Scan(&m.ID, &m.UID, &m.ModSeq, &m.Flags, &kw, &m.AccountID, &m.MailboxID, &m.CreatedModSeq, &idate, &m.Size, &m.BlobID, &m.Prefix,
		&m.ThreadID, &sent, &ix.Subject, &ix.BaseSubject, &ix.From, &ix.To, &ix.Cc, &ix.Bcc, &ix.SortFrom, &ix.SortTo, &ix.SortCc,
		&ix.MessageID, &ix.InReplyTo, &refs, &ix.HasAttachment, &ix.Preview, &m.Meta)
	m.Keywords = store.SplitKeywords(kw)
	m.InternalDate = fromNanos(idate)
	ix.Date = fromNanos(sent)
	if refs != "" {
		ix.References = strings.Fields(refs)
	}
	return m, err
}

func collectMessages(rows *sql.Rows, err error) ([]store.Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Messages implements store.MessageStore.
func (s *Store) Messages(ctx context.Context, id store.MailboxID, uids store.UIDSet) ([]store.Message, error) {
	q, args := uidSelect(messageCols, id, uids, "")
	return collectMessages(s.query(ctx, q, args...))
}

// MessagesByID implements store.MessageStore.
func (s *Store) MessagesByID(ctx context.Context, account store.AccountID, ids []store.MessageID) ([]store.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []store.Message
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, account)
		for _, id := range chunk {
			args = append(args, id)
		}
		ms, err := collectMessages(s.query(ctx, `SELECT `+messageCols+` FROM messages WHERE +account_id = ? AND id IN (?`+
			strings.Repeat(",?", len(chunk)-1)+`)`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	byID := make(map[store.MessageID]store.Message, len(out))
	for _, m := range out {
		byID[m.ID] = m
	}
	out = out[:0]
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// ChangesSince implements store.MessageStore.
func (s *Store) ChangesSince(ctx context.Context, id store.MailboxID, since store.ModSeq) (store.Mailbox, []store.MessageFlags, []store.Tombstone, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Mailbox{}, nil, nil, err
	}
	defer tx.Rollback()
	mb, err := scanMailbox(tx.QueryRowContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return mb, nil, nil, notFound("mailbox", id)
	}
	if err != nil {
		return mb, nil, nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+flagCols+` FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY modseq, uid`, id, since)
	if err != nil {
		return mb, nil, nil, err
	}
	var changed []store.MessageFlags
	for rows.Next() {
		f, err := scanFlags(rows)
		if err != nil {
			rows.Close()
			return mb, nil, nil, err
		}
		changed = append(changed, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mb, nil, nil, err
	}
	trows, err := tx.QueryContext(ctx, `SELECT uid, message_id, modseq, moved FROM tombstones WHERE mailbox_id = ? AND modseq > ? ORDER BY modseq, uid`, id, since)
	if err != nil {
		return mb, nil, nil, err
	}
	defer trows.Close()
	var gone []store.Tombstone
	for trows.Next() {
		t := store.Tombstone{MailboxID: id}
		if err := trows.Scan(&t.UID, &t.MessageID, &t.ModSeq, &t.Moved); err != nil {
			return mb, nil, nil, err
		}
		gone = append(gone, t)
	}
	return mb, changed, gone, trows.Err()
}
