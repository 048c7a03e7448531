// Package webmail is Posthorn's browser UI: static HTML, CSS and
// JavaScript modules embedded with go:embed (no build step), which talk to
// the server only through the JMAP API (package jmap, RFC 8620/8621), and
// the message viewer that shows a message's HTML.
//
// What it owns: the pages at / and /assets/, their security headers
// (Content-Security-Policy, X-Content-Type-Options, Referrer-Policy,
// frame-ancestors), and /view/{emailId}: the HTML body of a message,
// sanitized with bluemonday and served under its own CSP with the sandbox
// directive, for a sandboxed iframe. Remote images stay blocked (by that
// CSP) unless the request says images=1; inline cid: images (RFC 2392)
// become data: URLs, so the frame needs no request of its own.
//
// What it must not do: import the store or another protocol package, keep
// state between requests, or serve anything a message supplies under a
// policy that lets it run script, load remote content without the user's
// consent, or frame our pages.
//
// Invariants: every response carries the security headers; the viewer's
// document is sanitized even though the frame is sandboxed and the CSP
// forbids script (defence in depth: each layer alone stops script).
package webmail
