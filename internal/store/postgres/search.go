package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

// The store.Searcher methods: the search and sort fields of a mailbox in
// one query, and full-text matches from blob_text's tsvector (GIN index,
// text search configuration 'simple': case is folded, diacritics are not).

var _ store.Searcher = (*Store)(nil)

// Summaries implements store.Searcher.
func (s *Store) Summaries(ctx context.Context, mailbox store.MailboxID, uids store.UIDSet) ([]store.Summary, error) {
	lo, hi := uidRanges(uids)
	if len(lo) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT uid, internal_date, size, blob_id, sent_date, subject, base_subject,
		from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc, message_id, in_reply_to, refs, has_attachment
		FROM messages JOIN unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) ON uid BETWEEN r.lo AND r.hi
		WHERE mailbox_id = $1 ORDER BY uid`, mailbox, lo, hi)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Summary, error) {
		var m store.Summary
		var idate, sent int64
		ix := &m.Index
		err := r.Scan(&m.UID, &idate, &m.Size, &m.BlobID, &sent, &ix.Subject, &ix.BaseSubject,
			&ix.From, &ix.To, &ix.Cc, &ix.Bcc, &ix.SortFrom, &ix.SortTo, &ix.SortCc, &ix.MessageID, &ix.InReplyTo, &ix.References, &ix.HasAttachment)
		m.InternalDate, ix.Date = fromNanos(idate), fromNanos(sent)
		ix.References = nilIfEmpty(ix.References)
		return m, err
	})
}

// MatchText implements store.Searcher with a phrase tsquery whose last
// lexeme is a prefix: 'word1' <-> 'word2':*. The words hold only letters
// and digits (store.FullTextWords), so no query syntax can be injected.
func (s *Store) MatchText(ctx context.Context, text string) ([]store.BlobID, error) {
	words := store.FullTextWords(text)
	if len(words) == 0 {
		return nil, store.ErrNotIndexable
	}
	for i, w := range words {
		words[i] = "'" + strings.ToLower(w) + "'"
	}
	q := strings.Join(words, " <-> ") + ":*"
	rows, err := s.pool.Query(ctx, `SELECT blob_id FROM blob_text WHERE tsv @@ to_tsquery('simple', $1)`, q)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[store.BlobID])
}
