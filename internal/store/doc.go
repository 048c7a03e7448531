// Package store defines Posthorn's persistence contract: the domain types
// (domains, accounts, aliases, mailboxes, messages, tombstones, the outbound
// queue), the Store interface that every backend implements, its sentinel
// errors, and the change feed.
//
// The store knows no protocol. It imports nothing internal to Posthorn, and
// only the service layer (account, delivery, queue, mailbox) calls it.
//
// Invariants every implementation keeps (store/storetest proves them):
//
//   - Each account has one MODSEQ counter. Every write that changes the
//     account's mail data (a message added, flagged, moved or expunged; a
//     mailbox created, renamed, deleted or subscribed) raises it, and the rows
//     it touched carry the new value. It serves IMAP CONDSTORE/QRESYNC
//     (RFC 7162) and JMAP states (RFC 8620 §1.6) alike.
//   - UIDs in a mailbox rise strictly and are never reused, not even after
//     expunge (RFC 9051 §2.3.1.1). UIDVALIDITY differs for any two mailboxes
//     that ever had the same name in one account.
//   - Message bodies (blobs) are immutable and written durably (fsync) before
//     the transaction that references them commits. A blob referenced by
//     several messages or queue entries is stored once; it is deleted when
//     the last reference goes.
//   - Nothing is published on the change feed before its transaction has
//     committed, and changes of one account are published in MODSEQ order.
//   - Append returns only after its transaction is durable. Implementations
//     may batch concurrent writes into one transaction (group commit).
package store
