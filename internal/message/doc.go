// Package message is Posthorn's pure RFC 5322 / MIME (RFC 2045-2049)
// processing: it reads messages and writes the few that the server itself
// generates. It does no I/O beyond the io.Reader and io.Writer it is given,
// keeps no state between calls, and imports no other Posthorn package.
//
// What it owns:
//
//   - Analyze: one pass over a message yielding Meta, the IMAP ENVELOPE
//     (RFC 3501 §7.4.2) and BODYSTRUCTURE tree (Part) with the byte offsets
//     that BODY[section] fetches slice, plus the fields search, SORT
//     (RFC 5256, RFC 5957), THREAD and JMAP (RFC 8621) need. Meta.Marshal
//     and UnmarshalMeta store it compactly so the message is parsed once.
//   - Header helpers: ParseHeader, Unfold, DecodeHeader and EncodeWord
//     (RFC 2047), FormatField, ParseAddressList and FormatAddressList
//     (RFC 5322 §3.4 with the obsolete syntax of §4.4), ParseMsgID,
//     ParseDate (§3.3, §4.3), BaseSubject (RFC 5256 §2.1).
//   - Received: the trace field of RFC 5321 §4.4 with RFC 3848 protocols.
//   - ToSevenBit: the 8BITMIME downgrade (RFC 6152), with NeedsDowngrade
//     and NeedsSMTPUTF8 (RFC 6531) to decide when it applies.
//   - BuildDSN: delivery status notifications (RFC 3464, RFC 6522, RFC 6533).
//
// What it must not do: open files or sockets, log, read the clock except
// where a zero time means "now" (Received, BuildDSN), or hold package-level mutable
// state. Charset conversion uses golang.org/x/text directly rather than
// go-message's charset package, which registers itself globally on import
// and prefers IANA over WHATWG names (see charset.go).
//
// Invariants:
//
//   - Parsing never fails on content and never panics: broken MIME is read
//     the way Dovecot reads it (a delimiter need only start a line, the
//     longest open boundary wins, a line without a colon stays in the
//     header, a multipart without boundary is all preamble, base64 or QP
//     message/rfc822 is a leaf). The only errors are read errors.
//   - Memory is bounded by the limits, not by the message: lines are read in
//     pieces of at most 64 KiB, at most MaxDepth levels and MaxParts parts
//     are built, at most 1 MiB of one header section and 8 MiB of header in
//     all are parsed, at most 4 MiB of text is collected and MaxText kept.
//   - Offsets in Part point into the message exactly as read; sizes and line
//     counts are those of the CRLF form (see Part). Posthorn stores CRLF, so
//     for stored messages the two agree.
//   - Raw and decoded are kept apart: Envelope and Part hold header text as
//     written (encoded-words intact, as IMAP sends it); Meta's display
//     fields and DecodeHeader return valid UTF-8.
//   - Everything generated (Received, DSN, ToSevenBit output, FormatField)
//     has CRLF line ends and lines of at most 998 octets, folded at 78 where
//     the text allows (RFC 5322 §2.1.1).
package message
