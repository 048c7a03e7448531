package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"posthorn/internal/store"
)

var _ store.Querier = (*Store)(nil)

// sqlBuilder accumulates SQL text and its arguments.
type sqlBuilder struct {
	b    strings.Builder
	args []any
}

func (q *sqlBuilder) add(sql string, args ...any) {
	q.b.WriteString(sql)
	q.args = append(q.args, args...)
}

// where renders a filter tree as an SQL condition over the messages table.
func (q *sqlBuilder) where(f *store.MessageFilter) {
	switch f.Op {
	case store.FilterAnd, store.FilterOr:
		if len(f.Children) == 0 {
			q.add(map[bool]string{true: "1", false: "0"}[f.Op == store.FilterAnd])
			return
		}
		op := map[bool]string{true: " AND ", false: " OR "}[f.Op == store.FilterAnd]
		q.add("(")
		for i := range f.Children {
			if i > 0 {
				q.add(op)
			}
			q.where(&f.Children[i])
		}
		q.add(")")
	case store.FilterNot:
		q.add("NOT (")
		if len(f.Children) == 0 {
			q.add("0")
		}
		for i := range f.Children {
			if i > 0 {
				q.add(" OR ")
			}
			q.where(&f.Children[i])
		}
		q.add(")")
	default:
		q.condition(f)
	}
}

// condition renders the conditions of one leaf, joined by AND.
func (q *sqlBuilder) condition(f *store.MessageFilter) {
	q.add("(1")
	if f.InMailbox != 0 {
		q.add(" AND mailbox_id = ?", f.InMailbox)
	}
	for _, m := range f.NotInMailboxes {
		q.add(" AND mailbox_id <> ?", m)
	}
	if !f.Before.IsZero() {
		q.add(" AND internal_date < ?", nanos(f.Before))
	}
	if !f.After.IsZero() {
		q.add(" AND internal_date >= ?", nanos(f.After))
	}
	if f.MinSize > 0 {
		q.add(" AND size >= ?", f.MinSize)
	}
	if f.MaxSize > 0 {
		q.add(" AND size < ?", f.MaxSize)
	}
	if f.HasFlags != 0 {
		q.add(" AND flags & ? = ?", int(f.HasFlags), int(f.HasFlags))
	}
	if f.NotFlags != 0 {
		q.add(" AND flags & ? = 0", int(f.NotFlags))
	}
	// Keywords are atoms (no spaces) stored space-separated.
	if f.HasKeyword != "" {
		q.add(" AND instr(' ' || lower(keywords) || ' ', ' ' || lower(?) || ' ') > 0", f.HasKeyword)
	}
	if f.NotKeyword != "" {
		q.add(" AND instr(' ' || lower(keywords) || ' ', ' ' || lower(?) || ' ') = 0", f.NotKeyword)
	}
	switch f.HasAttachment {
	case store.TriYes:
		q.add(" AND has_attachment <> 0")
	case store.TriNo:
		q.add(" AND has_attachment = 0")
	}
	for _, c := range []struct{ col, v string }{
		{"from_addr", f.From}, {"to_addr", f.To}, {"cc_addr", f.Cc}, {"bcc_addr", f.Bcc}, {"subject", f.Subject},
	} {
		if c.v != "" {
			q.add(" AND instr(lower("+c.col+"), lower(?)) > 0", c.v)
		}
	}
	if f.Text != "" {
		if m := ftsQuery(f.Text); m != "" {
			q.add(` AND blob_id IN (SELECT b.id FROM blobs b WHERE b.seq IN (SELECT rowid FROM blob_text WHERE blob_text MATCH ?))`, m)
		} else {
			q.add(" AND 0") // nothing to look up matches nothing
		}
	}
	q.add(")")
}

// ftsQuery builds an FTS5 query from the words of text (see
// store.FullTextWords): each word quoted as a string (so no FTS5 syntax
// can be injected), all of them required, the last one as a prefix.
func ftsQuery(text string) string {
	words := store.FullTextWords(text)
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	if len(words) == 0 {
		return ""
	}
	return strings.Join(words, " AND ") + "*"
}

// orderBy renders the ORDER BY list of a sort; the message id breaks
// ties in the direction of the first comparator.
func orderBy(sorts []store.MessageSort) string {
	if len(sorts) == 0 {
		sorts = []store.MessageSort{{Key: store.SortReceivedAt}}
	}
	var parts []string
	for _, s := range sorts {
		col := map[store.SortKey]string{
			store.SortReceivedAt: "internal_date", store.SortSentAt: "sent_date", store.SortSize: "size",
			store.SortSubject: "lower(base_subject)", store.SortFrom: "sort_from", store.SortTo: "sort_to",
		}[s.Key]
		if col == "" {
			col = "internal_date"
		}
		parts = append(parts, col+dir(s.Ascending))
	}
	return strings.Join(parts, ", ") + ", id" + dir(sorts[0].Ascending)
}

func dir(asc bool) string {
	if asc {
		return " ASC"
	}
	return " DESC"
}

// sortCols are the columns a query's rows carry: the id and every sort key.
const sortCols = `id, internal_date, sent_date, size, base_subject, sort_from, sort_to`

// base renders the matching rows (see sortCols), collapsed to the first of
// each thread when asked; it returns the ORDER BY list of the sort.
func (q *sqlBuilder) base(mq store.MessageQuery) string {
	order := orderBy(mq.Sort)
	if mq.CollapseThreads {
		q.add(`SELECT ` + sortCols + ` FROM (SELECT ` + sortCols + `,
			row_number() OVER (PARTITION BY thread_id ORDER BY ` + order + `) AS rn FROM messages WHERE `)
	} else {
		q.add(`SELECT ` + sortCols + ` FROM messages WHERE `)
	}
	q.scope(mq)
	if mq.Filter != nil {
		q.add(" AND ")
		q.where(mq.Filter)
	}
	if mq.CollapseThreads {
		q.add(`) WHERE rn = 1`)
	}
	return order
}

// scope renders the condition that keeps a query inside the account. When
// the filter pins one mailbox, the account is checked once, on that
// mailbox's row, rather than on every message row: then the
// (mailbox_id, internal_date) index answers a page, or a count, of a large
// mailbox without reading the messages table.
func (q *sqlBuilder) scope(mq store.MessageQuery) {
	if f := mq.Filter; f != nil && f.Op == store.FilterCondition && f.InMailbox != 0 {
		q.add(`(SELECT account_id FROM mailboxes WHERE id = ?) = ?`, f.InMailbox, mq.Account)
		return
	}
	q.add(`account_id = ?`, mq.Account)
}

// QueryMessages implements store.Querier.
func (s *Store) QueryMessages(ctx context.Context, mq store.MessageQuery) (store.QueryResult, error) {
	res := store.QueryResult{Total: -1, Position: max(mq.Position, 0)}
	if mq.Filter != nil && hasText(mq.Filter) {
		if err := s.flushText(ctx); err != nil {
			return res, err
		}
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	if mq.Anchor != 0 {
		var q sqlBuilder
		q.add(`SELECT pos FROM (SELECT id, row_number() OVER (ORDER BY ` + orderBy(mq.Sort) + `) - 1 AS pos FROM (`)
		q.base(mq)
		q.add(`)) WHERE id = ?`, mq.Anchor)
		var pos int
		err := tx.QueryRowContext(ctx, q.b.String(), q.args...).Scan(&pos)
		if errors.Is(err, sql.ErrNoRows) {
			return res, fmt.Errorf("anchor %d: %w", mq.Anchor, store.ErrNotFound)
		}
		if err != nil {
			return res, err
		}
		res.Position = max(pos+mq.AnchorOffset, 0)
	}
	var q sqlBuilder
	q.add(`SELECT id FROM (`)
	order := q.base(mq)
	q.add(`) ORDER BY ` + order)
	if mq.Limit > 0 {
		q.add(" LIMIT ? OFFSET ?", mq.Limit, res.Position)
	} else {
		q.add(" LIMIT -1 OFFSET ?", res.Position)
	}
	rows, err := tx.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return res, err
	}
	for rows.Next() {
		var id store.MessageID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, err
		}
		res.IDs = append(res.IDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	if mq.CalculateTotal {
		var c sqlBuilder
		c.add(`SELECT count(*) FROM (`)
		c.base(mq)
		c.add(`)`)
		if err := tx.QueryRowContext(ctx, c.b.String(), c.args...).Scan(&res.Total); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ThreadMembers implements store.Querier.
func (s *Store) ThreadMembers(ctx context.Context, account store.AccountID, threads []int64) ([]store.ThreadMember, error) {
	var out []store.ThreadMember
	for start := 0; start < len(threads); start += 500 {
		chunk := threads[start:min(start+500, len(threads))]
		args := []any{account}
		for _, t := range chunk {
			args = append(args, t)
		}
		rows, err := s.query(ctx, `SELECT id, thread_id, mailbox_id, internal_date FROM messages
			WHERE account_id = ? AND thread_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)
			ORDER BY thread_id, internal_date, id`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m store.ThreadMember
			var idate int64
			if err := rows.Scan(&m.ID, &m.ThreadID, &m.MailboxID, &idate); err != nil {
				rows.Close()
				return nil, err
			}
			m.InternalDate = fromNanos(idate)
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MailboxThreadCounts implements store.Querier.
func (s *Store) MailboxThreadCounts(ctx context.Context, mailbox store.MailboxID) (total, unread int, err error) {
	err = s.queryRow(ctx, `SELECT count(DISTINCT thread_id), count(DISTINCT CASE WHEN flags & ? = 0 THEN thread_id END)
		FROM messages WHERE mailbox_id = ?`, int(store.FlagSeen), mailbox).Scan(&total, &unread)
	return total, unread, err
}

// AccountState implements store.Querier.
func (s *Store) AccountState(ctx context.Context, account store.AccountID) (store.ModSeq, []store.Mailbox, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	var ms store.ModSeq
	if err := tx.QueryRowContext(ctx, `SELECT modseq FROM accounts WHERE id = ?`, account).Scan(&ms); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, notFound("account", account)
		}
		return 0, nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id = ? ORDER BY name`, account)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, m)
	}
	return ms, out, rows.Err()
}

// AccountChanges implements store.Querier.
func (s *Store) AccountChanges(ctx context.Context, account store.AccountID, since store.ModSeq, limit int) (store.AccountChanges, error) {
	var res store.AccountChanges
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	var now store.ModSeq
	if err := tx.QueryRowContext(ctx, `SELECT modseq FROM accounts WHERE id = ?`, account).Scan(&now); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return res, notFound("account", account)
		}
		return res, err
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	msgs, err := changedMessages(ctx, tx, `modseq > ? ORDER BY modseq, id LIMIT ?`, account, since, limit+1)
	if err != nil {
		return res, err
	}
	gone, err := tombstonesSince(ctx, tx, `modseq > ? ORDER BY modseq, mailbox_id, uid LIMIT ?`, account, since, limit+1)
	if err != nil {
		return res, err
	}
	cut, more := store.ChangesCut(msgs, gone, limit)
	if !more {
		res.Messages, res.Gone, res.UpTo = msgs, gone, now
		return res, nil
	}
	// Take every change up to cut, however many share its MODSEQ.
	if res.Messages, err = changedMessages(ctx, tx, `modseq > ? AND modseq <= ? ORDER BY modseq, id`, account, since, cut); err != nil {
		return res, err
	}
	if res.Gone, err = tombstonesSince(ctx, tx, `modseq > ? AND modseq <= ? ORDER BY modseq, mailbox_id, uid`, account, since, cut); err != nil {
		return res, err
	}
	res.UpTo, res.More = cut, true
	return res, nil
}

func changedMessages(ctx context.Context, tx *sql.Tx, cond string, args ...any) ([]store.ChangedMessage, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, mailbox_id, thread_id, modseq, created_modseq FROM messages WHERE account_id = ? AND `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ChangedMessage
	for rows.Next() {
		var m store.ChangedMessage
		if err := rows.Scan(&m.ID, &m.MailboxID, &m.ThreadID, &m.ModSeq, &m.CreatedModSeq); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func tombstonesSince(ctx context.Context, tx *sql.Tx, cond string, args ...any) ([]store.Tombstone, error) {
	rows, err := tx.QueryContext(ctx, `SELECT mailbox_id, uid, message_id, modseq, moved FROM tombstones WHERE account_id = ? AND `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Tombstone
	for rows.Next() {
		var t store.Tombstone
		if err := rows.Scan(&t.MailboxID, &t.UID, &t.MessageID, &t.ModSeq, &t.Moved); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// hasText reports whether a filter tree searches the full-text index.
func hasText(f *store.MessageFilter) bool {
	if f.Text != "" {
		return true
	}
	for i := range f.Children {
		if hasText(&f.Children[i]) {
			return true
		}
	}
	return false
}
