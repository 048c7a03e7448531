// Package postgres is the scale-out Store: PostgreSQL through pgx (pgxpool),
// with message bodies in the database too, so that one database holds
// everything and replicates as one. Several nodes may share a database.
//
// It owns the tables of one schema (Options.Schema, created when missing):
// domains, accounts, aliases, mailboxes, messages, tombstones, queue, blobs,
// blob_text and schema_migrations. It knows no protocol and no business
// rule beyond the store.Store contract; store/storetest proves it keeps the
// same contract as the SQLite store.
//
// # Schema and migrations
//
// Migrations are numbered (schema.go) and applied at Open in one
// transaction that holds pg_advisory_xact_lock keyed by the schema name, so
// nodes starting together migrate once; schema_migrations records the
// versions, and a schema newer than the program is refused. Ids are bigint
// identity columns and never reused; times are bigint Unix nanoseconds (0
// for "never"); keywords, references and alias targets are text[]; queue
// recipients are jsonb. Open also refuses synchronous_commit=off: Append
// returns only once its transaction is durable, and SMTP answers 250 on that.
//
// # Writes: batches, locks and MODSEQ
//
// Every write goes through one of Options.Committers committer goroutines,
// chosen by account, which gathers the writes waiting for it into one READ
// COMMITTED transaction (group commit: one WAL flush, one NOTIFY for many
// writes). A failing write does not fail its neighbours: the batch is rolled
// back and run again without it, so write functions are re-runnable.
// Appends whose bodies are staged queue their statements without waiting
// for each other (pgx pipelining); BEGIN rides with the first statements and
// COMMIT with the last ones.
//
// Invariants:
//
//   - Lock order. A batch first locks the accounts its writes name (also
//     those owning the mailboxes they name) in id order, then those
//     mailboxes in id order; blob rows come last, in id order, when the
//     batch applies its reference counts just before COMMIT. Every writer of
//     an account's mail data holds the account row, so concurrent batches
//     (here or on other nodes) queue instead of deadlocking; a deadlock or
//     serialization failure that happens anyway (40P01, 40001) re-runs the
//     batch a few times.
//   - MODSEQ. Each write raises an account's counter once (UPDATE accounts
//     SET modseq = modseq + 1 RETURNING modseq), under the account's row
//     lock, and stamps the rows it touches with the new value, as the SQLite
//     store does; commits of one account are serialized by that lock, so
//     MODSEQ order is commit order. UIDs come from mailboxes.uidnext under
//     the same lock, so UIDs and MODSEQs rise together.
//   - Bodies. A body is one blobs row (bytea) however many messages and
//     queue entries name it; refs counts them, and the row (with its
//     blob_text entry) goes with the last one. A finished BlobWriter is
//     staged in this process (in memory, or a temporary file past
//     Options.BlobMemMax) and inserted by the transaction of the Append that
//     names it, so a committed row never names a missing body. OpenBlob
//     reads a body into memory whole.
//   - Full text. blob_text holds to_tsvector('simple', text) per blob, with
//     a GIN index: a body shared by several messages is indexed once.
//   - Change feed. Each committing transaction sends its changes with
//     pg_notify inside the transaction (chunked under the 8000-byte payload
//     limit), so nothing is sent for a rolled-back one. One dedicated
//     connection LISTENs and publishes what arrives, in commit order, and
//     so also hears other nodes. The channel is posthorn_changes for the
//     public schema and posthorn_changes:<schema> for any other, so that
//     stores in different schemas of one database stay apart. When that
//     connection drops, it is re-established and the gap is logged, not
//     replayed: subscribers must re-read their state (by MODSEQ) after a
//     gap, which they do anyway when they reconnect.
//   - Queue. ClaimQueue takes due entries with FOR UPDATE SKIP LOCKED and a
//     lease (lease_owner, lease_until) computed from the claimer's clock,
//     never the database's, so claimers on several nodes never share one.
//
// Reads use the pool directly; MailboxState and ChangesSince read in one
// REPEATABLE READ, read-only transaction, so the mailbox row and the
// messages agree.
package postgres
