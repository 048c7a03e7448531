package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

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
	if err := w.queryRow(`UPDATE accounts SET uidvalidity_next = greatest(uidvalidity_next, $1) + 1 WHERE id = $2
		RETURNING uidvalidity_next - 1`, time.Now().Unix(), account).Scan(&uv); err != nil {
		return store.Mailbox{}, err
	}
	uv &= 0xffffffff
	if uv == 0 {
		uv = 1
	}
	var id int64
	err = w.queryRow(`INSERT INTO mailboxes (account_id, name, special_use, subscribed, uidvalidity, uidnext, modseq, highest_modseq)
		VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING id`, account, name, m.SpecialUse, m.Subscribed, uv, ms).Scan(&id)
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
	err := s.write(ctx, lockSet{accounts: []store.AccountID{account}}, func(w *wtx) error {
		var err error
		mb, err = w.createMailbox(account, m)
		return err
	})
	return mb, err
}

const mailboxCols = `id, account_id, name, special_use, subscribed, uidvalidity, uidnext, modseq, highest_modseq, total, unseen, size`

func scanMailbox(r pgx.Row) (store.Mailbox, error) {
	var m store.Mailbox
	err := r.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.Subscribed, &m.UIDValidity, &m.UIDNext, &m.ModSeq, &m.HighestModSeq,
		&m.Total, &m.Unseen, &m.Size)
	return m, err
}

// Mailboxes implements store.MailboxStore.
func (s *Store) Mailboxes(ctx context.Context, account store.AccountID) ([]store.Mailbox, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id = $1 ORDER BY name`, account)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Mailbox, error) { return scanMailbox(r) })
}

// Mailbox implements store.MailboxStore.
func (s *Store) Mailbox(ctx context.Context, id store.MailboxID) (store.Mailbox, error) {
	m, err := scanMailbox(s.pool.QueryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, notFound("mailbox", id)
	}
	return m, err
}

// MailboxByName implements store.MailboxStore.
func (s *Store) MailboxByName(ctx context.Context, account store.AccountID, name string) (store.Mailbox, error) {
	name = store.CanonicalMailboxName(name)
	m, err := scanMailbox(s.pool.QueryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE account_id = $1 AND name = $2`, account, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, notFound("mailbox", name)
	}
	return m, err
}

// RenameMailbox implements store.MailboxStore. One UPDATE renames the
// mailbox and its subtree; the name constraint, checked at the end of the
// statement, catches a clash with a name outside the subtree.
func (s *Store) RenameMailbox(ctx context.Context, id store.MailboxID, newName string) error {
	newName = store.CanonicalMailboxName(newName)
	if newName == "" {
		return fmt.Errorf("empty mailbox name: %w", store.ErrInvalid)
	}
	return s.write(ctx, lockSet{mailboxes: []store.MailboxID{id}}, func(w *wtx) error {
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
		rows, err := w.query(`UPDATE mailboxes SET name = $1::text || substr(name, length($2::text) + 1), modseq = $3, highest_modseq = $3
			WHERE account_id = $4 AND (name = $2::text OR starts_with(name, $2::text || '/')) RETURNING id`, newName, old, ms, account)
		if err != nil {
			return err
		}
		renamed, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if isUnique(err) {
			return fmt.Errorf("mailbox %q: %w", newName, store.ErrExists)
		}
		if err != nil {
			return err
		}
		for _, mid := range renamed {
			w.change(store.Change{AccountID: account, MailboxID: store.MailboxID(mid), Kind: store.ChangeMailbox, ModSeq: ms})
		}
		return nil
	})
}

// DeleteMailbox implements store.MailboxStore.
func (s *Store) DeleteMailbox(ctx context.Context, id store.MailboxID) error {
	return s.write(ctx, lockSet{mailboxes: []store.MailboxID{id}}, func(w *wtx) error {
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
		if err := w.releaseBlobs(`SELECT blob_id, count(*) FROM messages WHERE mailbox_id = $1 GROUP BY blob_id`, id); err != nil {
			return err
		}
		// Its messages leave tombstones like an expunge (and the older
		// tombstones stay), so account-wide /changes can report them.
		if _, err := w.exec(`INSERT INTO tombstones (account_id, mailbox_id, uid, message_id, modseq, moved)
			SELECT account_id, mailbox_id, uid, id, $2, false FROM messages WHERE mailbox_id = $1`, id, ms); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE mailbox_id = $1`,
			`DELETE FROM mailboxes WHERE id = $1`,
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
	return s.updateMailbox(ctx, id, `UPDATE mailboxes SET subscribed = $1, modseq = $2, highest_modseq = $2 WHERE id = $3`, subscribed)
}

// SetSpecialUse implements store.MailboxStore.
func (s *Store) SetSpecialUse(ctx context.Context, id store.MailboxID, specialUse string) error {
	return s.updateMailbox(ctx, id, `UPDATE mailboxes SET special_use = $1, modseq = $2, highest_modseq = $2 WHERE id = $3`, specialUse)
}

// updateMailbox runs update ($1 the value, $2 the new MODSEQ, $3 the id)
// on one mailbox row.
func (s *Store) updateMailbox(ctx context.Context, id store.MailboxID, update string, value any) error {
	return s.write(ctx, lockSet{mailboxes: []store.MailboxID{id}}, func(w *wtx) error {
		account, _, err := w.mailboxAccount(id)
		if err != nil {
			return err
		}
		ms, err := w.modseq(account)
		if err != nil {
			return err
		}
		if _, err := w.exec(update, value, ms, id); err != nil {
			return err
		}
		w.change(store.Change{AccountID: account, MailboxID: id, Kind: store.ChangeMailbox, ModSeq: ms})
		return nil
	})
}
