package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"posthorn/internal/store"
)

// modseq raises the account's MODSEQ once per write and returns the new
// value; later calls in the same write return the same value. Within a
// group commit the counter is kept in memory and written once before
// COMMIT (flushModSeqs): one UPDATE per account per group instead of one
// per write.
func (w *wtx) modseq(account store.AccountID) (store.ModSeq, error) {
	for _, c := range w.changes {
		if c.AccountID == account && c.ModSeq != 0 {
			return c.ModSeq, nil
		}
	}
	cur, err := w.accountModSeq(account)
	if err != nil {
		return 0, err
	}
	m := cur + 1
	w.batchModSeq[account] = m
	// Record a bookmark so the next call finds the value; Kind 0 entries
	// are dropped before publishing.
	w.changes = append(w.changes, store.Change{AccountID: account, ModSeq: m})
	return m, nil
}

// accountModSeq returns the account's MODSEQ as this group commit sees it.
func (w *wtx) accountModSeq(account store.AccountID) (store.ModSeq, error) {
	if m, ok := w.batchModSeq[account]; ok {
		return m, nil
	}
	var m store.ModSeq
	err := w.queryRow(`SELECT modseq FROM accounts WHERE id = ?`, account).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("account", account)
	}
	return m, err
}

// flushModSeqs writes the group's MODSEQ counters back.
func (w *wtx) flushModSeqs() error {
	for a, m := range w.batchModSeq {
		if _, err := w.exec(`UPDATE accounts SET modseq = ? WHERE id = ?`, m, a); err != nil {
			return err
		}
	}
	return nil
}

func (w *wtx) createMailbox(account store.AccountID, m store.NewMailbox) (store.Mailbox, error) {
	name := store.CanonicalMailboxName(m.Name)
	if name == "" {
		return store.Mailbox{}, fmt.Errorf("empty mailbox name: %w", store.ErrInvalid)
	}
	ms, err := w.modseq(account)
	if err != nil {
		return store.Mailbox{}, err
	}
	// UIDVALIDITY: the creation time in seconds, but always above every
	// value the account used before, so a re-created name gets a new one.
	var uv int64
	if err := w.queryRow(`UPDATE accounts SET uidvalidity_next = max(uidvalidity_next, ?) + 1 WHERE id = ? RETURNING uidvalidity_next - 1`,
		time.Now().Unix(), account).Scan(&uv); err != nil {
		return store.Mailbox{}, err
	}
	uv = uv & 0xffffffff
	if uv == 0 {
		uv = 1
	}
	var id int64
	err = w.queryRow(`INSERT INTO mailboxes (account_id, name, special_use, subscribed, uidvalidity, uidnext, modseq, highest_modseq)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`, account, name, m.SpecialUse, m.Subscribed, uv, ms, ms).Scan(&id)
	if isUnique(err) {
		return store.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, store.ErrExists)
	}
	if err != nil {
		return store.Mailbox{}, err
	}
	w.change(store.Change{AccountID: account, MailboxID: store.MailboxID(id), Kind: store.ChangeMailbox, ModSeq: ms})
	return store.Mailbox{ID: store.MailboxID(id), AccountID: account, Name: name, SpecialUse: m.SpecialUse, Subscribed: m.Subscribed,
		UIDValidity: uint32(uv), UIDNext: 1, ModSeq: ms, HighestModSeq: ms}, nil
}

// CreateMailbox implements store.MailboxStore.
func (s *Store) CreateMailbox(ctx context.Context, account store.AccountID, m store.NewMailbox) (store.Mailbox, error) {
	var mb store.Mailbox
	err := s.write(ctx, func(w *wtx) error {
		var err error
		mb, err = w.createMailbox(account, m)
		return err
	})
	return mb, err
}

const mailboxCols = `id, account_id, name, special_use, subscribed, uidvalidity, uidnext, modseq, highest_modseq, total, unseen, size`

func scanMailbox(sc interface{ Scan(...any) error }) (store.Mailbox, error) {
	var m store.Mailbox
	err := sc.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.Subscribed, &m.UIDValidity, &m.UIDNext, &m.ModSeq, &m.HighestModSeq, &m.Total, &m.Unseen, &m.Size)
	return m, err
}

// Mailboxes implements store.MailboxStore.
func (s *Store) Mailboxes(ctx context.Context, account store.AccountID) ([]store.Mailbox, error) {
	rows, err := s.query(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id = ? ORDER BY name`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Mailbox implements store.MailboxStore.
func (s *Store) Mailbox(ctx context.Context, id store.MailboxID) (store.Mailbox, error) {
	m, err := scanMailbox(s.queryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, notFound("mailbox", id)
	}
	return m, err
}

// MailboxByName implements store.MailboxStore.
func (s *Store) MailboxByName(ctx context.Context, account store.AccountID, name string) (store.Mailbox, error) {
	name = store.CanonicalMailboxName(name)
	m, err := scanMailbox(s.queryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id = ? AND name = ?`, account, name))
	if errors.Is(err, sql.ErrNoRows) {
		return m, notFound("mailbox", name)
	}
	return m, err
}

// mailboxAccount returns the account and name of a mailbox inside a write.
func (w *wtx) mailboxAccount(id store.MailboxID) (store.AccountID, string, error) {
	var a store.AccountID
	var name string
	err := w.queryRow(`SELECT account_id, name FROM mailboxes WHERE id = ?`, id).Scan(&a, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", notFound("mailbox", id)
	}
	return a, name, err
}

// RenameMailbox implements store.MailboxStore.
func (s *Store) RenameMailbox(ctx context.Context, id store.MailboxID, newName string) error {
	newName = store.CanonicalMailboxName(newName)
	if newName == "" {
		return fmt.Errorf("empty mailbox name: %w", store.ErrInvalid)
	}
	return s.write(ctx, func(w *wtx) error {
		account, old, err := w.mailboxAccount(id)
		if err != nil {
			return err
		}
		if store.IsInbox(old) || store.IsInbox(newName) {
			return store.ErrInbox
		}
		if old == newName {
			return nil
		}
		if strings.HasPrefix(newName, old+store.HierarchySeparator) {
			return fmt.Errorf("cannot rename %q below itself: %w", old, store.ErrInvalid)
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		// The mailbox and its children get their new names; the UNIQUE
		// constraint catches a clash with an existing name.
		rows, err := w.query(`SELECT id, name FROM mailboxes WHERE account_id = ?`, account)
		if err != nil {
			return err
		}
		renames := map[int64]string{}
		prefix := old + store.HierarchySeparator
		for rows.Next() {
			var mid int64
			var name string
			if err := rows.Scan(&mid, &name); err != nil {
				rows.Close()
				return err
			}
			if name == old || strings.HasPrefix(name, prefix) {
				renames[mid] = newName + name[len(old):]
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Two passes, so that swapping names within the subtree cannot
		// collide with a name that is about to be freed.
		for mid := range renames {
			if _, err := w.exec(`UPDATE mailboxes SET name = ? WHERE id = ?`, fmt.Sprintf("\x00rename-%d", mid), mid); err != nil {
				return err
			}
		}
		for mid, name := range renames {
			_, err := w.exec(`UPDATE mailboxes SET name = ?, modseq = ?, highest_modseq = ? WHERE id = ?`, name, ms, ms, mid)
			if isUnique(err) {
				return fmt.Errorf("mailbox %q: %w", name, store.ErrExists)
			}
			if err != nil {
				return err
			}
			w.change(store.Change{AccountID: account, MailboxID: store.MailboxID(mid), Kind: store.ChangeMailbox, ModSeq: ms})
		}
		return nil
	})
}

// DeleteMailbox implements store.MailboxStore.
func (s *Store) DeleteMailbox(ctx context.Context, id store.MailboxID) error {
	return s.write(ctx, func(w *wtx) error {
		account, name, err := w.mailboxAccount(id)
		if err != nil {
			return err
		}
		if store.IsInbox(name) {
			return store.ErrInbox
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		if err := w.releaseBlobs(`SELECT blob_id, count(*) FROM messages WHERE mailbox_id = ? GROUP BY blob_id`, id); err != nil {
			return err
		}
		// Its messages leave tombstones like an expunge (and the older
		// tombstones stay), so account-wide /changes can report them.
		if _, err := w.exec(`INSERT INTO tombstones (account_id, mailbox_id, uid, message_id, modseq, moved)
			SELECT account_id, mailbox_id, uid, id, ?, 0 FROM messages WHERE mailbox_id = ?`, ms, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE mailbox_id = ?`,
			`DELETE FROM mailboxes WHERE id = ?`,
		} {
			if _, err := w.exec(q, id); err != nil {
				return err
			}
		}
		w.change(store.Change{AccountID: account, MailboxID: id, Kind: store.ChangeMailbox, ModSeq: ms})
		return nil
	})
}

// SetSubscribed implements store.MailboxStore.
func (s *Store) SetSubscribed(ctx context.Context, id store.MailboxID, subscribed bool) error {
	return s.updateMailbox(ctx, id, `subscribed = ?`, subscribed)
}

// SetSpecialUse implements store.MailboxStore.
func (s *Store) SetSpecialUse(ctx context.Context, id store.MailboxID, specialUse string) error {
	return s.updateMailbox(ctx, id, `special_use = ?`, specialUse)
}

func (s *Store) updateMailbox(ctx context.Context, id store.MailboxID, set string, value any) error {
	return s.write(ctx, func(w *wtx) error {
		account, _, err := w.mailboxAccount(id)
		if err != nil {
			return err
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		if _, err := w.exec(`UPDATE mailboxes SET `+set+`, modseq = ?, highest_modseq = ? WHERE id = ?`, value, ms, ms, id); err != nil {
			return err
		}
		w.change(store.Change{AccountID: account, MailboxID: id, Kind: store.ChangeMailbox, ModSeq: ms})
		return nil
	})
}
