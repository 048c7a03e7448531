// Package delivery accepts messages: it decides who may send to whom
// (relay policy), streams a message into the store under the size limit
// while refusing bare CR and LF (SMTP smuggling), adds the trace headers,
// splits the recipients into local mailboxes and outbound queue entries,
// and commits all of it in ONE store transaction. Only after that commit
// is durable does it report success, so an SMTP 250 always means the mail
// is on disk.
//
// The path of a message through this package:
//
//	smtpd session.Data -> Service.Deliver -> readHeader, checker.copy
//	  (size limit, bare CR/LF, NUL) -> store.BlobWriter.Finish
//	  -> message.Analyze -> store.Append -> Waker.Wake
//
// Invariants:
//   - On any error nothing is stored: the blob is aborted and no row is
//     written (Deliver's one Append is all or nothing).
//   - A message for several local accounts is stored once; each mailbox
//     row references the same blob and carries its own Return-Path prefix
//     (RFC 5321 §4.4).
//   - Recipients on a non-local domain are accepted only from an
//     authenticated client (Recipient); addresses that route in the manner
//     of old relays ("%", "!", quoted local parts) are refused even then.
//
// It must not: know any protocol (errors are its own sentinels, errors.go,
// which each protocol package maps to its replies), hold a whole message
// in memory (only the header, up to headerMax), or return before the
// store's commit.
package delivery
