package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order at Open; the index+1 is the schema
// version kept in PRAGMA user_version. Never edit a released migration:
// append a new one.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE domains (
	name       TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	address          TEXT NOT NULL UNIQUE,
	domain           TEXT NOT NULL REFERENCES domains(name),
	password_hash    TEXT NOT NULL,
	modseq           INTEGER NOT NULL DEFAULT 1,
	uidvalidity_next INTEGER NOT NULL DEFAULT 1,
	created_at       INTEGER NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain);

CREATE TABLE aliases (
	address TEXT PRIMARY KEY,
	domain  TEXT NOT NULL REFERENCES domains(name),
	targets TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX aliases_domain ON aliases(domain);

CREATE TABLE mailboxes (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	special_use    TEXT NOT NULL DEFAULT '',
	subscribed     INTEGER NOT NULL DEFAULT 0,
	uidvalidity    INTEGER NOT NULL,
	uidnext        INTEGER NOT NULL DEFAULT 1,
	modseq         INTEGER NOT NULL,
	highest_modseq INTEGER NOT NULL,
	total          INTEGER NOT NULL DEFAULT 0,
	unseen         INTEGER NOT NULL DEFAULT 0,
	size           INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, name)
);

-- seq is the rowid of the full-text index entry of the body. A small body
-- lives in a pack file at off; a large one (pack = '') in a file of its own.
CREATE TABLE blobs (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	id   TEXT NOT NULL UNIQUE,
	size INTEGER NOT NULL,
	refs INTEGER NOT NULL,
	pack TEXT NOT NULL DEFAULT '',
	off  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX blobs_pack ON blobs(pack) WHERE pack <> '';

CREATE TABLE messages (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id     INTEGER NOT NULL,
	mailbox_id     INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid            INTEGER NOT NULL,
	modseq         INTEGER NOT NULL,
	created_modseq INTEGER NOT NULL,
	flags          INTEGER NOT NULL DEFAULT 0,
	keywords       TEXT NOT NULL DEFAULT '',
	internal_date  INTEGER NOT NULL,
	size           INTEGER NOT NULL,
	blob_id        TEXT NOT NULL,
	prefix         BLOB,
	thread_id      INTEGER NOT NULL,
	sent_date      INTEGER NOT NULL DEFAULT 0,
	subject        TEXT NOT NULL DEFAULT '',
	base_subject   TEXT NOT NULL DEFAULT '',
	from_addr      TEXT NOT NULL DEFAULT '',
	to_addr        TEXT NOT NULL DEFAULT '',
	cc_addr        TEXT NOT NULL DEFAULT '',
	bcc_addr       TEXT NOT NULL DEFAULT '',
	sort_from      TEXT NOT NULL DEFAULT '',
	sort_to        TEXT NOT NULL DEFAULT '',
	sort_cc        TEXT NOT NULL DEFAULT '',
	message_id     TEXT NOT NULL DEFAULT '',
	in_reply_to    TEXT NOT NULL DEFAULT '',
	refs           TEXT NOT NULL DEFAULT '',
	has_attachment INTEGER NOT NULL DEFAULT 0,
	preview        TEXT NOT NULL DEFAULT '',
	meta           BLOB,
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_mailbox_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_account_msgid ON messages(account_id, message_id) WHERE message_id <> '';
CREATE INDEX messages_thread ON messages(account_id, thread_id);
CREATE INDEX messages_account_modseq ON messages(account_id, modseq);

CREATE TABLE tombstones (
	account_id INTEGER NOT NULL,
	mailbox_id INTEGER NOT NULL,
	uid        INTEGER NOT NULL,
	message_id INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	moved      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX tombstones_mailbox_modseq ON tombstones(mailbox_id, modseq);
CREATE INDEX tombstones_account_modseq ON tombstones(account_id, modseq);

CREATE TABLE queue (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	domain         TEXT NOT NULL,
	sender         TEXT NOT NULL,
	recipients     TEXT NOT NULL,
	blob_id        TEXT NOT NULL,
	prefix         BLOB,
	size           INTEGER NOT NULL,
	env_id         TEXT NOT NULL DEFAULT '',
	ret            TEXT NOT NULL DEFAULT '',
	body8bit       INTEGER NOT NULL DEFAULT 0,
	smtputf8       INTEGER NOT NULL DEFAULT 0,
	account_id     INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	next_attempt   INTEGER NOT NULL,
	attempts       INTEGER NOT NULL DEFAULT 0,
	last_error     TEXT NOT NULL DEFAULT '',
	delay_notified INTEGER NOT NULL DEFAULT 0,
	lease_owner    TEXT NOT NULL DEFAULT '',
	lease_until    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_due ON queue(next_attempt);

-- Full-text index of message bodies, keyed by blobs.seq: a body delivered
-- to several mailboxes, or copied, is indexed once.
CREATE VIRTUAL TABLE blob_text USING fts5(
	text, content='', contentless_delete=1,
	tokenize='unicode61 remove_diacritics 2'
);
`,
	// 2: DKIM signing keys of local domains (store.KeyStore, keys.go).
	`
CREATE TABLE dkim_keys (
	domain      TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
	selector    TEXT NOT NULL,
	algorithm   TEXT NOT NULL,
	private_key BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	active      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (domain, selector)
) WITHOUT ROWID;
`,
	// 3: full-text index tuning. Merging less often and flushing the
	// in-memory term table later halve the index's cost per appended
	// message; search time stays a few milliseconds.
	`
INSERT INTO blob_text(blob_text, rank) VALUES ('automerge', 16);
INSERT INTO blob_text(blob_text, rank) VALUES ('crisismerge', 64);
INSERT INTO blob_text(blob_text, rank) VALUES ('hashsize', 33554432);
`,
	// 4: messages of a mailbox or of an account in internal-date order
	// (the rowid, the message id, breaks ties inside each index entry), so
	// that the first page of a 100,000-message mailbox is an index walk,
	// not a sort (JMAP Email/query, IMAP SORT ARRIVAL).
	`
CREATE INDEX messages_mailbox_date ON messages(mailbox_id, internal_date);
CREATE INDEX messages_account_date ON messages(account_id, internal_date);
`,
	// 5: bodies waiting for the full-text index, with their text (NULL:
	// the indexer extracts it from the body, Options.TextOf). The indexer
	// moves them into blob_text in large batches (one FTS5 segment per
	// batch instead of one per group commit).
	`
CREATE TABLE blob_text_pending (
	seq  INTEGER PRIMARY KEY,
	text TEXT
);
`,
}

// migrate applies the migrations the database lacks, each in its own
// transaction, and refuses a database newer than this program.
func migrate(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// BEGIN IMMEDIATE takes the write lock first, so two processes opening a
	// new store at once do not both migrate.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	commit := false
	defer func() {
		if !commit {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlite: database schema version %d is newer than this program (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := conn.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", i+1, err)
		}
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	commit = true
	return nil
}
