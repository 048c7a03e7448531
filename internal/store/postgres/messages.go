package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

// Append implements store.MessageStore. When all its bodies are staged
// (the usual delivery), its statements are queued without waiting for each
// other, so a batch of appends costs about one round trip.
func (s *Store) Append(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	var lock lockSet
	for _, m := range b.Messages {
		if !slices.Contains(lock.accounts, m.AccountID) {
			lock.accounts = append(lock.accounts, m.AccountID)
		}
		if !slices.Contains(lock.mailboxes, m.MailboxID) {
			lock.mailboxes = append(lock.mailboxes, m.MailboxID)
		}
	}
	var res store.BatchResult
	err := s.submit(ctx, &writeOp{
		lock: lock,
		fn: func(w *wtx) error {
			res = store.BatchResult{}
			return w.append(b, &res, nil)
		},
		queue: func(w *wtx, pb *pgx.Batch) (func(pgx.BatchResults) error, error) {
			res = store.BatchResult{}
			var reads []func(pgx.BatchResults) error
			if err := w.append(b, &res, func(sql string, args []any, read func(pgx.Row) error) error {
				pb.Queue(sql, args...)
				reads = append(reads, func(br pgx.BatchResults) error { return read(br.QueryRow()) })
				return nil
			}); err != nil || reads == nil {
				return nil, err
			}
			return func(br pgx.BatchResults) error {
				for _, r := range reads {
					if err := r(br); err != nil {
						return err
					}
				}
				return nil
			}, nil
		},
	})
	return res, err
}

// runStmt runs a statement, or queues it, with what reads its result.
type runStmt func(sql string, args []any, read func(pgx.Row) error) error

// append adds the batch's messages and queue entries. With queue nil it
// runs each statement at once; otherwise it hands them to queue, and does
// so only when every body is staged (it does nothing otherwise, and queue
// is never called).
func (w *wtx) append(b store.Batch, res *store.BatchResult, queue runStmt) error {
	// Count references per blob first, so a body shared by several
	// recipients is inserted once with all its references.
	var order []store.BlobID
	refs := map[store.BlobID]int64{}
	count := func(id store.BlobID) {
		if refs[id] == 0 {
			order = append(order, id)
		}
		refs[id]++
	}
	for _, m := range b.Messages {
		count(m.BlobID)
	}
	for _, q := range b.Queue {
		count(q.BlobID)
	}
	sizes := map[store.BlobID]int64{}
	for _, id := range order {
		if id == "" {
			return fmt.Errorf("message without blob: %w", store.ErrInvalid)
		}
		size, staged := w.s.stagedSize(id)
		if !staged && queue != nil {
			return nil // a stored body: its size needs a query first
		}
		if !staged {
			var err error
			if size, err = w.blobSize(id); err != nil {
				return err
			}
		}
		sizes[id] = size
	}
	if queue == nil {
		queue = func(sql string, args []any, read func(pgx.Row) error) error { return read(w.queryRow(sql, args...)) }
	}
	w.text = map[store.BlobID]string{}
	for id, n := range refs {
		w.ref(id, n)
	}
	bumped := map[store.AccountID]bool{}
	for _, m := range b.Messages {
		if m.Text != "" {
			w.text[m.BlobID] = m.Text
		}
		bump := !bumped[m.AccountID]
		bumped[m.AccountID] = true
		if err := queue(appendSQL, appendArgs(m, sizes[m.BlobID], bump), func(row pgx.Row) error {
			a, err := w.appended(row, m)
			res.Messages = append(res.Messages, a)
			return err
		}); err != nil {
			return err
		}
	}
	for _, q := range b.Queue {
		args, err := enqueueArgs(q, sizes[q.BlobID])
		if err != nil {
			return err
		}
		if err := queue(enqueueSQL, args, func(row pgx.Row) error {
			var id store.QueueID
			err := row.Scan(&id)
			w.change(store.Change{Kind: store.ChangeQueue})
			res.Queue = append(res.Queue, id)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func unseenOf(f store.Flags) int {
	if f&store.FlagSeen == 0 {
		return 1
	}
	return 0
}

// threadKeys lists the Message-IDs whose thread a new message joins, in
// order of preference: In-Reply-To, then References from the last (RFC 5256
// REFERENCES, simplified: no subject merging).
func threadKeys(ix store.MessageIndex) []string {
	ids := make([]string, 0, len(ix.References)+1)
	if ix.InReplyTo != "" {
		ids = append(ids, clean(ix.InReplyTo))
	}
	for i := len(ix.References) - 1; i >= 0; i-- {
		ids = append(ids, clean(ix.References[i]))
	}
	if len(ids) > 50 {
		ids = ids[:50]
	}
	return ids
}

// appendSQL raises the account's MODSEQ (when $5, for the write's first
// message in the account) or reads the value this write raised it to,
// takes the next UID of the mailbox, finds the thread of the first
// referenced message the account has, and inserts the message: one
// statement. A message that starts a thread is its own thread, so its id is
// drawn first.
const appendSQL = `WITH acct AS (
	UPDATE accounts SET modseq = modseq + 1 WHERE id = $1 AND $5::boolean RETURNING modseq
), ms AS (
	SELECT CASE WHEN $5::boolean THEN (SELECT modseq FROM acct) ELSE (SELECT modseq FROM accounts WHERE id = $1) END AS v
), mb AS (
	UPDATE mailboxes SET uidnext = uidnext + 1, total = total + 1, unseen = unseen + $3, size = size + $4,
		highest_modseq = (SELECT v FROM ms)
	WHERE id = $2 AND account_id = $1
	RETURNING uidnext - 1 AS uid, uidvalidity
), nid AS (
	SELECT nextval('messages_id_seq') AS id
), th AS (
	SELECT thread_id FROM messages
	WHERE account_id = $1 AND message_id = ANY($6::text[]) AND message_id <> ''
	ORDER BY array_position($6::text[], message_id), id LIMIT 1
)
INSERT INTO messages (id, account_id, mailbox_id, uid, modseq, created_modseq, flags, keywords, internal_date, size, blob_id, prefix,
	thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
	message_id, in_reply_to, refs, has_attachment, preview, meta)
SELECT nid.id, $1, $2, mb.uid, ms.v, ms.v, $7, $8, $9, $4, $10, $11,
	coalesce((SELECT thread_id FROM th), nid.id), $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
	$22, $23, $24, $25, $26, $27
FROM mb, nid, ms
WHERE ms.v IS NOT NULL
RETURNING id, uid, thread_id, (SELECT uidvalidity FROM mb), modseq`

// appendArgs are appendSQL's arguments for a message.
func appendArgs(m store.NewMessage, blobSize int64, bump bool) []any {
	ix := m.Index
	refs := make([]string, len(ix.References))
	for i, r := range ix.References {
		refs[i] = clean(r)
	}
	return []any{m.AccountID, m.MailboxID, unseenOf(m.Flags), blobSize + int64(len(m.Prefix)), bump, threadKeys(ix),
		int16(m.Flags), textArray(store.NormalizeKeywords(m.Keywords)), nanos(m.InternalDate), string(m.BlobID), m.Prefix,
		nanos(ix.Date), clean(ix.Subject), clean(ix.BaseSubject), clean(ix.From), clean(ix.To), clean(ix.Cc), clean(ix.Bcc),
		clean(ix.SortFrom), clean(ix.SortTo), clean(ix.SortCc),
		clean(ix.MessageID), clean(ix.InReplyTo), refs, ix.HasAttachment, clean(ix.Preview), m.Meta}
}

// appended reads appendSQL's result and records the change.
func (w *wtx) appended(row pgx.Row, m store.NewMessage) (store.Appended, error) {
	a := store.Appended{MailboxID: m.MailboxID}
	err := row.Scan(&a.ID, &a.UID, &a.ThreadID, &a.UIDValidity, &a.ModSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("mailbox %d of account %d: %w", m.MailboxID, m.AccountID, store.ErrNotFound)
	}
	if err != nil {
		return a, err
	}
	w.change(store.Change{AccountID: m.AccountID, MailboxID: m.MailboxID, Kind: store.ChangeMessageAdded, ModSeq: a.ModSeq})
	return a, nil
}

// uidRanges turns a UID set into sorted, disjoint ranges as two arrays for
// a join with unnest, so that each range is one index range scan.
func uidRanges(set store.UIDSet) (lo, hi []int64) {
	rs := slices.Clone(set)
	for i, r := range rs {
		if r.First > r.Last {
			rs[i] = store.UIDRange{First: r.Last, Last: r.First}
		}
	}
	slices.SortFunc(rs, func(a, b store.UIDRange) int { return int(int64(a.First) - int64(b.First)) })
	for _, r := range rs {
		if n := len(hi); n > 0 && int64(r.First) <= hi[n-1]+1 {
			hi[n-1] = max(hi[n-1], int64(r.Last))
			continue
		}
		lo, hi = append(lo, int64(r.First)), append(hi, int64(r.Last))
	}
	return lo, hi
}

const flagCols = `id, uid, modseq, flags, keywords`

func scanFlags(r pgx.Row) (store.MessageFlags, error) {
	var f store.MessageFlags
	err := r.Scan(&f.ID, &f.UID, &f.ModSeq, &f.Flags, &f.Keywords)
	f.Keywords = nilIfEmpty(f.Keywords)
	return f, err
}

func collectFlags(rows pgx.Rows, err error) ([]store.MessageFlags, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MessageFlags, error) { return scanFlags(r) })
}

// snapshot runs fn in a read-only REPEATABLE READ transaction: all its
// queries see one snapshot.
func (s *Store) snapshot(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func readMailbox(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id store.MailboxID) (store.Mailbox, error) {
	mb, err := scanMailbox(q.QueryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return mb, notFound("mailbox", id)
	}
	return mb, err
}

// MailboxState implements store.MessageStore.
func (s *Store) MailboxState(ctx context.Context, id store.MailboxID) (store.Mailbox, []store.MessageFlags, error) {
	var mb store.Mailbox
	var out []store.MessageFlags
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if mb, err = readMailbox(ctx, tx, id); err != nil {
			return err
		}
		out, err = collectFlags(tx.Query(ctx, `SELECT `+flagCols+` FROM messages WHERE mailbox_id = $1 ORDER BY uid`, id))
		return err
	})
	return mb, out, err
}

const messageCols = `id, uid, modseq, flags, keywords, account_id, mailbox_id, created_modseq, internal_date, size, blob_id, prefix,
	thread_id, sent_date, subject, base_subject, from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc,
	message_id, in_reply_to, refs, has_attachment, preview, meta`

func scanMessage(r pgx.Row) (store.Message, error) {
	var m store.Message
	var idate, sent int64
	ix := &m.Index
	err := r.Scan(&m.ID, &m.UID, &m.ModSeq, &m.Flags, &m.Keywords, &m.AccountID, &m.MailboxID, &m.CreatedModSeq, &idate, &m.Size,
		&m.BlobID, &m.Prefix, &m.ThreadID, &sent, &ix.Subject, &ix.BaseSubject, &ix.From, &ix.To, &ix.Cc, &ix.Bcc,
		&ix.SortFrom, &ix.SortTo, &ix.SortCc, &ix.MessageID, &ix.InReplyTo, &ix.References, &ix.HasAttachment, &ix.Preview, &m.Meta)
	m.Keywords = nilIfEmpty(m.Keywords)
	ix.References = nilIfEmpty(ix.References)
	m.InternalDate = fromNanos(idate)
	ix.Date = fromNanos(sent)
	return m, err
}

func collectMessages(rows pgx.Rows, err error) ([]store.Message, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Message, error) { return scanMessage(r) })
}

// Messages implements store.MessageStore.
func (s *Store) Messages(ctx context.Context, id store.MailboxID, uids store.UIDSet) ([]store.Message, error) {
	lo, hi := uidRanges(uids)
	if len(lo) == 0 {
		return nil, nil
	}
	return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
		JOIN unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) ON uid BETWEEN r.lo AND r.hi
		WHERE mailbox_id = $1 ORDER BY uid`, id, lo, hi))
}

// MessagesByID implements store.MessageStore.
func (s *Store) MessagesByID(ctx context.Context, account store.AccountID, ids []store.MessageID) ([]store.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	want := make([]int64, len(ids))
	for i, id := range ids {
		want[i] = int64(id)
	}
	found, err := collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE account_id = $1 AND id = ANY($2::bigint[])`,
		account, want))
	if err != nil {
		return nil, err
	}
	byID := make(map[store.MessageID]store.Message, len(found))
	for _, m := range found {
		byID[m.ID] = m
	}
	out := found[:0]
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// ChangesSince implements store.MessageStore.
func (s *Store) ChangesSince(ctx context.Context, id store.MailboxID, since store.ModSeq) (store.Mailbox, []store.MessageFlags, []store.Tombstone, error) {
	var mb store.Mailbox
	var changed []store.MessageFlags
	var gone []store.Tombstone
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if mb, err = readMailbox(ctx, tx, id); err != nil {
			return err
		}
		changed, err = collectFlags(tx.Query(ctx, `SELECT `+flagCols+` FROM messages WHERE mailbox_id = $1 AND modseq > $2
			ORDER BY modseq, uid`, id, since))
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT uid, message_id, modseq, moved FROM tombstones WHERE mailbox_id = $1 AND modseq > $2
			ORDER BY modseq, uid`, id, since)
		if err != nil {
			return err
		}
		gone, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Tombstone, error) {
			t := store.Tombstone{MailboxID: id}
			err := r.Scan(&t.UID, &t.MessageID, &t.ModSeq, &t.Moved)
			return t, err
		})
		return err
	})
	return mb, changed, gone, err
}
