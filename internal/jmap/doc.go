// Package jmap is Posthorn's JMAP server: the core protocol (RFC 8620) and
// JMAP for Mail (RFC 8621) over HTTP, with EventSource push.
//
// What it owns:
//
//   - The HTTP endpoints: the session resource (/.well-known/jmap, §2), the
//     API endpoint (/jmap/api, §3) with method calls, result references
//     (§3.7), creation ids and the error types of §3.6; blob upload and
//     download (§6); the event source (§7.3); and the web UI's login and
//     logout (/jmap/login, /jmap/logout).
//   - The methods: Core/echo; Mailbox/get, /changes, /query, /set;
//     Email/get, /changes, /query, /queryChanges, /set, /import; Thread/get,
//     /changes; SearchSnippet/get; Identity/get; EmailSubmission/set.
//   - Authentication: HTTP Basic (over TLS, or plain from loopback when
//     allowed) and the UI's session cookie, with CSRF protection on every
//     state-changing request of a cookie session (a per-session token and a
//     strict Origin check) and the account package's login throttling.
//
// What it must not do: open a database or read the store directly (it
// talks to the mailbox, account and delivery services), hold message
// bodies beyond one request (uploads excepted, see uploads.go), or trust a
// client-supplied id without checking it belongs to the account.
//
// Invariants:
//
//   - States come from the account MODSEQ (store.Account.ModSeq), so IMAP
//     and JMAP see one history. A state token (state.go) carries the MODSEQ
//     and the ids of the account's mailboxes: deleting a mailbox removes its
//     messages without tombstones, and the id list lets /changes notice
//     that and answer cannotCalculateChanges instead of a wrong answer.
//   - Email ids are store.MessageIDs, which survive moves; a message lives
//     in exactly one mailbox (maxMailboxesPerEmail is 1).
//   - Every limit advertised in the session resource is enforced with the
//     RFC's error: maxSizeRequest, maxCallsInRequest and
//     maxConcurrentRequests at the request level (urn:ietf:params:jmap:error:limit),
//     maxObjectsInGet and maxObjectsInSet per method (requestTooLarge),
//     maxSizeUpload and maxConcurrentUpload on upload.
//   - Every log line carries the request id ("req") and, once known, the
//     account.
package jmap
