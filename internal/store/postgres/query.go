package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

var _ store.Querier = (*Store)(nil)

// sqlBuilder accumulates SQL text with numbered placeholders.
type sqlBuilder struct {
	b    strings.Builder
	args []any
}

// arg adds an argument and returns its placeholder.
func (q *sqlBuilder) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *sqlBuilder) add(s string) { q.b.WriteString(s) }

// where renders a filter tree as an SQL condition over messages.
func (q *sqlBuilder) where(f *store.MessageFilter) {
	switch f.Op {
	case store.FilterAnd, store.FilterOr:
		if len(f.Children) == 0 {
			q.add(map[bool]string{true: "true", false: "false"}[f.Op == store.FilterAnd])
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
		q.add("NOT (false")
		for i := range f.Children {
			q.add(" OR ")
			q.where(&f.Children[i])
		}
		q.add(")")
	default:
		q.condition(f)
	}
}

// condition renders the conditions of one leaf, joined by AND.
func (q *sqlBuilder) condition(f *store.MessageFilter) {
	q.add("(true")
	if f.InMailbox != 0 {
		q.add(" AND mailbox_id = " + q.arg(int64(f.InMailbox)))
	}
	for _, m := range f.NotInMailboxes {
		q.add(" AND mailbox_id <> " + q.arg(int64(m)))
	}
	if !f.Before.IsZero() {
		q.add(" AND internal_date < " + q.arg(nanos(f.Before)))
	}
	if !f.After.IsZero() {
		q.add(" AND internal_date >= " + q.arg(nanos(f.After)))
	}
	if f.MinSize > 0 {
		q.add(" AND size >= " + q.arg(f.MinSize))
	}
	if f.MaxSize > 0 {
		q.add(" AND size < " + q.arg(f.MaxSize))
	}
	if f.HasFlags != 0 {
		p := q.arg(int16(f.HasFlags))
		q.add(" AND flags & " + p + " = " + p)
	}
	if f.NotFlags != 0 {
		q.add(" AND flags & " + q.arg(int16(f.NotFlags)) + " = 0")
	}
	if f.HasKeyword != "" {
		q.add(" AND EXISTS (SELECT 1 FROM unnest(keywords) k WHERE lower(k) = lower(" + q.arg(f.HasKeyword) + "))")
	}
	if f.NotKeyword != "" {
		q.add(" AND NOT EXISTS (SELECT 1 FROM unnest(keywords) k WHERE lower(k) = lower(" + q.arg(f.NotKeyword) + "))")
	}
	switch f.HasAttachment {
	case store.TriYes:
		q.add(" AND has_attachment")
	case store.TriNo:
		q.add(" AND NOT has_attachment")
	}
	for _, c := range []struct{ col, v string }{
		{"from_addr", f.From}, {"to_addr", f.To}, {"cc_addr", f.Cc}, {"bcc_addr", f.Bcc}, {"subject", f.Subject},
	} {
		if c.v != "" {
			q.add(" AND strpos(lower(" + c.col + "), lower(" + q.arg(c.v) + ")) > 0")
		}
	}
	if f.Text != "" {
		if tq := tsQuery(f.Text); tq != "" {
			q.add(" AND blob_id IN (SELECT blob_id FROM blob_text WHERE tsv @@ to_tsquery('simple', " + q.arg(tq) + "))")
		} else {
			q.add(" AND false")
		}
	}
	q.add(")")
}

// tsQuery builds a tsquery from the words of text (store.FullTextWords):
// each word single-quoted as a lexeme (words hold only letters and digits,
// so nothing can be injected), all required, the last as a prefix.
func tsQuery(text string) string {
	words := store.FullTextWords(text)
	if len(words) == 0 {
		return ""
	}
	for i, w := range words {
		words[i] = "'" + w + "'"
	}
	words[len(words)-1] += ":*"
	return strings.Join(words, " & ")
}

// orderBy renders the ORDER BY list of a sort; the id breaks ties in the
// direction of the first comparator.
func orderBy(sorts []store.MessageSort) string {
	if len(sorts) == 0 {
		sorts = []store.MessageSort{{Key: store.SortReceivedAt}}
	}
	var parts []string
	for _, s := range sorts {
		col := map[store.SortKey]string{
			store.SortReceivedAt: "internal_date", store.SortSentAt: "sent_date", store.SortSize: "size",
			store.SortSubject: "lower(base_subject)", store.SortFrom: `sort_from COLLATE "C"`, store.SortTo: `sort_to COLLATE "C"`,
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

// scope renders the condition that keeps a query inside the account; when
// the filter pins one mailbox, the account is checked once on that
// mailbox's row, so that the (mailbox_id, internal_date, id) index can
// answer the query alone.
func (q *sqlBuilder) scope(mq store.MessageQuery) {
	if f := mq.Filter; f != nil && f.Op == store.FilterCondition && f.InMailbox != 0 {
		q.add(`(SELECT account_id FROM mailboxes WHERE id = ` + q.arg(int64(f.InMailbox)) + `) = ` + q.arg(int64(mq.Account)))
		return
	}
	q.add(`account_id = ` + q.arg(int64(mq.Account)))
}

// base renders the matching rows in a subquery-ready form, collapsed to
// the first of each thread when asked; it returns the ORDER BY list.
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
		q.add(`) c WHERE rn = 1`)
	}
	return order
}

// QueryMessages implements store.Querier.
func (s *Store) QueryMessages(ctx context.Context, mq store.MessageQuery) (store.QueryResult, error) {
	res := store.QueryResult{Total: -1, Position: max(mq.Position, 0)}
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		res.IDs, res.Total = nil, -1
		if mq.Anchor != 0 {
			var q sqlBuilder
			q.add(`SELECT pos FROM (SELECT id, row_number() OVER (ORDER BY ` + orderBy(mq.Sort) + `) - 1 AS pos FROM (`)
			q.base(mq)
			q.add(`) b) w WHERE id = ` + q.arg(int64(mq.Anchor)))
			var pos int64
			err := tx.QueryRow(ctx, q.b.String(), q.args...).Scan(&pos)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("anchor %d: %w", mq.Anchor, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			res.Position = max(int(pos)+mq.AnchorOffset, 0)
		}
		var q sqlBuilder
		q.add(`SELECT id FROM (`)
		order := q.base(mq)
		q.add(`) b ORDER BY ` + order)
		if mq.Limit > 0 {
			q.add(" LIMIT " + q.arg(mq.Limit))
		}
		q.add(" OFFSET " + q.arg(res.Position))
		rows, err := tx.Query(ctx, q.b.String(), q.args...)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		for _, id := range ids {
			res.IDs = append(res.IDs, store.MessageID(id))
		}
		if mq.CalculateTotal {
			var c sqlBuilder
			c.add(`SELECT count(*) FROM (`)
			c.base(mq)
			c.add(`) b`)
			var n int64
			if err := tx.QueryRow(ctx, c.b.String(), c.args...).Scan(&n); err != nil {
				return err
			}
			res.Total = int(n)
		}
		return nil
	})
	return res, err
}

// ThreadMembers implements store.Querier.
func (s *Store) ThreadMembers(ctx context.Context, account store.AccountID, threads []int64) ([]store.ThreadMember, error) {
	if len(threads) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, thread_id, mailbox_id, internal_date FROM messages
		WHERE account_id = $1 AND thread_id = ANY($2) ORDER BY thread_id, internal_date, id`, account, threads)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ThreadMember, error) {
		var m store.ThreadMember
		var idate int64
		err := r.Scan(&m.ID, &m.ThreadID, &m.MailboxID, &idate)
		m.InternalDate = fromNanos(idate)
		return m, err
	})
}

// MailboxThreadCounts implements store.Querier.
func (s *Store) MailboxThreadCounts(ctx context.Context, mailbox store.MailboxID) (total, unread int, err error) {
	var t, u int64
	err = s.pool.QueryRow(ctx, `SELECT count(DISTINCT thread_id), count(DISTINCT thread_id) FILTER (WHERE flags & $1 = 0)
		FROM messages WHERE mailbox_id = $2`, int16(store.FlagSeen), mailbox).Scan(&t, &u)
	return int(t), int(u), err
}

// AccountState implements store.Querier.
func (s *Store) AccountState(ctx context.Context, account store.AccountID) (store.ModSeq, []store.Mailbox, error) {
	var ms int64
	var out []store.Mailbox
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT modseq FROM accounts WHERE id = $1`, account).Scan(&ms); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound("account", account)
			}
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id = $1 ORDER BY name`, account)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Mailbox, error) { return scanMailbox(r) })
		return err
	})
	return store.ModSeq(ms), out, err
}

// AccountChanges implements store.Querier.
func (s *Store) AccountChanges(ctx context.Context, account store.AccountID, since store.ModSeq, limit int) (store.AccountChanges, error) {
	var res store.AccountChanges
	if limit <= 0 {
		limit = 1 << 30
	}
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		res = store.AccountChanges{}
		var now int64
		if err := tx.QueryRow(ctx, `SELECT modseq FROM accounts WHERE id = $1`, account).Scan(&now); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound("account", account)
			}
			return err
		}
		msgs, err := changedMessages(ctx, tx, `modseq > $2 ORDER BY modseq, id LIMIT $3`, account, since, limit+1)
		if err != nil {
			return err
		}
		gone, err := tombstonesSince(ctx, tx, `modseq > $2 ORDER BY modseq, mailbox_id, uid LIMIT $3`, account, since, limit+1)
		if err != nil {
			return err
		}
		cut, more := store.ChangesCut(msgs, gone, limit)
		if !more {
			res.Messages, res.Gone, res.UpTo = msgs, gone, store.ModSeq(now)
			return nil
		}
		if res.Messages, err = changedMessages(ctx, tx, `modseq > $2 AND modseq <= $3 ORDER BY modseq, id`, account, since, cut); err != nil {
			return err
		}
		if res.Gone, err = tombstonesSince(ctx, tx, `modseq > $2 AND modseq <= $3 ORDER BY modseq, mailbox_id, uid`, account, since, cut); err != nil {
			return err
		}
		res.UpTo, res.More = cut, true
		return nil
	})
	return res, err
}

func changedMessages(ctx context.Context, tx pgx.Tx, cond string, args ...any) ([]store.ChangedMessage, error) {
	rows, err := tx.Query(ctx, `SELECT id, mailbox_id, thread_id, modseq, created_modseq FROM messages WHERE account_id = $1 AND `+cond, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ChangedMessage, error) {
		var m store.ChangedMessage
		err := r.Scan(&m.ID, &m.MailboxID, &m.ThreadID, &m.ModSeq, &m.CreatedModSeq)
		return m, err
	})
}

func tombstonesSince(ctx context.Context, tx pgx.Tx, cond string, args ...any) ([]store.Tombstone, error) {
	rows, err := tx.Query(ctx, `SELECT mailbox_id, uid, message_id, modseq, moved FROM tombstones WHERE account_id = $1 AND `+cond, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Tombstone, error) {
		var t store.Tombstone
		err := r.Scan(&t.MailboxID, &t.UID, &t.MessageID, &t.ModSeq, &t.Moved)
		return t, err
	})
}
