package sqlite

import (
	"context"
	"strings"

	"posthorn/internal/store"
)

// The store.Searcher methods: the search and sort fields of a mailbox in
// one light query, and full-text matches from the FTS5 table blob_text
// (keyed by blobs.seq, tokenizer unicode61: case and diacritics folded).

var _ store.Searcher = (*Store)(nil)

// maxRangesPerQuery keeps a UID set's query under SQLite's parameter limit.
const maxRangesPerQuery = 400

// Summaries implements store.Searcher.
func (s *Store) Summaries(ctx context.Context, mailbox store.MailboxID, uids store.UIDSet) ([]store.Summary, error) {
	var out []store.Summary
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), maxRangesPerQuery)]
		uids = uids[len(chunk):]
		q, args := uidSelect(`uid, internal_date, size, blob_id, sent_date, subject, base_subject,
			from_addr, to_addr, cc_addr, bcc_addr, sort_from, sort_to, sort_cc, message_id, in_reply_to, refs, has_attachment`, mailbox, chunk, "")
		rows, err := s.query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m store.Summary
			var idate, sent int64
			var refs string
			ix := &m.Index
			if err := rows.Scan(&m.UID, &idate, &m.Size, &m.BlobID, &sent, &ix.Subject, &ix.BaseSubject,
				&ix.From, &ix.To, &ix.Cc, &ix.Bcc, &ix.SortFrom, &ix.SortTo, &ix.SortCc, &ix.MessageID, &ix.InReplyTo, &refs, &ix.HasAttachment); err != nil {
				rows.Close()
				return nil, err
			}
			m.InternalDate, ix.Date = fromNanos(idate), fromNanos(sent)
			if refs != "" {
				ix.References = strings.Fields(refs)
			}
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MatchText implements store.Searcher with an FTS5 phrase query whose
// last token is a prefix: "word1 word2"*.
func (s *Store) MatchText(ctx context.Context, text string) ([]store.BlobID, error) {
	words := store.FullTextWords(text)
	if len(words) == 0 {
		return nil, store.ErrNotIndexable
	}
	q := `"` + strings.Join(words, " ") + `"*`
	if err := s.flushText(ctx); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT b.id FROM blob_text JOIN blobs b ON b.seq = blob_text.rowid WHERE blob_text MATCH ?`, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.BlobID
	for rows.Next() {
		var id store.BlobID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
