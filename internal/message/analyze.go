package message

import (
	"io"
	"strings"
	"time"
)

// Meta is what Analyze learns about a message: what IMAP FETCH ENVELOPE and
// BODYSTRUCTURE report, and the fields that search, sort, threading and
// JMAP need.
type Meta struct {
	// Envelope is the ENVELOPE of the message (RFC 3501 §7.4.2).
	Envelope *Envelope
	// Structure is the root MIME part: BODYSTRUCTURE and section offsets.
	Structure *Part
	// Size is the message size in CRLF form (RFC822.SIZE): a bare LF
	// counts two octets.
	Size int64

	// Date is the Date header parsed (RFC 5322 §3.3, §4.3); zero when it
	// is missing or cannot be read, in which case SORT uses the internal
	// date (RFC 5256 §3).
	Date time.Time
	// Subject is the decoded subject (RFC 2047 decoded, UTF-8).
	Subject string
	// BaseSubject is the RFC 5256 §2.1 base subject for SORT SUBJECT and
	// THREAD ORDEREDSUBJECT; compare it case-insensitively.
	BaseSubject string
	// From, To, Cc and Bcc are the decoded address lists for display and
	// search: "Name <addr>, ...".
	From, To, Cc, Bcc string
	// SortFrom, SortTo and SortCc are the RFC 5256 §3 sort keys: the
	// addr-mailbox (local part) of the first address, lower case.
	SortFrom, SortTo, SortCc string
	// DisplayFrom and DisplayTo are the RFC 5957 §2 DISPLAYFROM and
	// DISPLAYTO sort keys: the decoded display name of the first address,
	// or its addr-spec when it has none, lower case.
	DisplayFrom, DisplayTo string
	// MessageID is the Message-ID in "<id>" form, "" if none is valid.
	MessageID string
	// InReplyTo is the first msg-id of In-Reply-To, in "<id>" form.
	InReplyTo string
	// References are the msg-ids of References in order (RFC 5256 §2.2
	// threading), each in "<id>" form.
	References []string
	// HasAttachment is JMAP's Email/hasAttachment (RFC 8621 §4.1.4): a
	// part a client would offer for download.
	HasAttachment bool
	// Preview is up to 256 characters of the message text with white
	// space collapsed (RFC 8621 §4.1.4 preview).
	Preview string
	// Text is the decoded text for full-text search: subject, addresses,
	// and every text/* part (HTML converted to text), in UTF-8, at most
	// MaxText octets. Marshal does not store it.
	Text string
}

// MaxText is the most octets of Meta.Text.
const MaxText = 2 << 20

// Analyze reads a whole message, with CRLF or bare-LF line ends, and
// describes it. It does not fail on broken MIME: like Dovecot, it reads
// what it can and degrades gracefully (see Part for the rules), never
// panics, and uses memory bounded by its limits (MaxDepth, MaxParts, header
// and text caps) rather than by the size of the message. The only error is
// a read error from r.
func Analyze(r io.Reader) (*Meta, error) {
	ts := &textSink{rawLeft: maxTextRaw}
	root, mf, end, err := parseTree(r, ts)
	if err != nil {
		return nil, err
	}
	m := &Meta{Envelope: mf.envelope(), Structure: root}
	m.Size = end.off + end.bare
	m.index(mf, ts)
	return m, nil
}

// index fills in the search, sort and thread fields.
func (m *Meta) index(mf *msgFields, ts *textSink) {
	m.derive()
	m.References = ParseMsgIDList(mf.references)
	m.Preview = ts.preview()
	var b strings.Builder
	b.Grow(len(m.Subject) + len(m.From) + len(m.To) + len(m.Cc) + len(m.Bcc) + 5 + ts.text.Len())
	for _, s := range []string{m.Subject, m.From, m.To, m.Cc, m.Bcc} {
		if s != "" {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	b.WriteString(ts.text.String())
	m.Text = truncateUTF8(b.String(), MaxText)
}

// derive computes the fields that follow from Envelope and Structure alone;
// UnmarshalMeta uses it too, so they need not be stored.
func (m *Meta) derive() {
	env := m.Envelope
	fb := headerFallbackCharset(m.Structure)
	m.Date = time.Time{}
	if t, ok := ParseDate(env.Date); ok {
		m.Date = t
	}
	m.Subject = decodeWords(env.Subject, fb)
	m.BaseSubject = BaseSubject(m.Subject)
	m.From = displayList(env.From, fb)
	m.To = displayList(env.To, fb)
	m.Cc = displayList(env.Cc, fb)
	m.Bcc = displayList(env.Bcc, fb)
	m.SortFrom = sortMailbox(env.From)
	m.SortTo = sortMailbox(env.To)
	m.SortCc = sortMailbox(env.Cc)
	m.DisplayFrom = sortDisplay(env.From, fb)
	m.DisplayTo = sortDisplay(env.To, fb)
	m.MessageID, _ = ParseMsgID(env.MessageID)
	m.InReplyTo, _ = ParseMsgID(env.InReplyTo)
	m.HasAttachment = hasAttachment(m.Structure, false)
}

// headerFallbackCharset is the charset to read raw 8-bit header text in:
// the message's own charset when it declares a non-ASCII one (mailers that
// put raw 8-bit in headers use the body's charset), else none.
func headerFallbackCharset(root *Part) string {
	cs := root.Charset()
	if root.IsMultipart() && len(root.Parts) > 0 {
		cs = root.Parts[0].Charset()
	}
	return fallbackFor(cs)
}

// fallbackFor turns a declared charset into a fallback for raw 8-bit header
// text: none for ASCII and UTF-8 (UTF-8 is tried first anyway, and ASCII
// labels say nothing about 8-bit octets).
func fallbackFor(cs string) string {
	switch strings.ToLower(cs) {
	case "us-ascii", "ascii", "utf-8", "utf8":
		return ""
	}
	return cs
}

func firstMailbox(as []Address) *Address {
	for i := range as {
		if !as[i].GroupStart && !as[i].GroupEnd {
			return &as[i]
		}
	}
	return nil
}

// sortMailbox is the RFC 5256 §3 key: "the addr-mailbox of the first
// address", compared with i;ascii-casemap, so kept in lower case.
func sortMailbox(as []Address) string {
	if a := firstMailbox(as); a != nil {
		return strings.ToLower(strings.Trim(a.Mailbox, `"`))
	}
	return ""
}

// sortDisplay is the RFC 5957 §2 key: the display name of the first
// address if it is not empty, else its addr-spec.
func sortDisplay(as []Address, fallback string) string {
	a := firstMailbox(as)
	if a == nil {
		return ""
	}
	if n := trimWSP(decodeWords(a.Name, fallback)); n != "" {
		return strings.ToLower(n)
	}
	return strings.ToLower(a.Addr())
}

// hasAttachment follows the usual reading of RFC 8621 §4.1.4: a part with
// Content-Disposition attachment, a named part, or a non-text leaf that is
// neither a signature nor an inline image of a multipart/related.
func hasAttachment(p *Part, inRelated bool) bool {
	if p.Disposition == "attachment" {
		return true
	}
	if p.IsMultipart() {
		rel := p.Subtype == "related"
		for _, c := range p.Parts {
			if hasAttachment(c, rel) {
				return true
			}
		}
		return false
	}
	if p.Type == "message" {
		return true
	}
	switch p.MediaType() {
	case "application/pgp-signature", "application/pkcs7-signature",
		"application/x-pkcs7-signature", "application/pgp-encrypted",
		"application/pgp-keys":
		return false
	}
	if inRelated && p.ID != "" && p.Disposition != "attachment" {
		return false
	}
	if p.Filename() != "" {
		return true
	}
	return p.Type != "text"
}

// truncateUTF8 cuts s to at most n octets without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
