package message

import "strings"

// Envelope holds the IMAP ENVELOPE fields of a message (RFC 3501 §7.4.2,
// RFC 9051 §7.5.2). String fields are the raw header values, unfolded and
// trimmed, with RFC 2047 encoded-words left encoded: IMAP sends them that
// way and clients decode. An absent field is "". Address lists are parsed;
// see Address. When a field occurs more than once, the first is used, except
// that the address fields of repeated To, Cc and Bcc fields are joined.
type Envelope struct {
	Date    string    `json:",omitempty"` // Date, raw
	Subject string    `json:",omitempty"` // Subject, raw
	From    []Address `json:",omitempty"` // From
	// Sender and ReplyTo are set to From when the header has none or an
	// empty one, as RFC 3501 §7.4.2 requires of the server.
	Sender    []Address `json:",omitempty"`
	ReplyTo   []Address `json:",omitempty"` // Reply-To, see Sender
	To        []Address `json:",omitempty"` // To, all To fields joined
	Cc        []Address `json:",omitempty"` // Cc, all Cc fields joined
	Bcc       []Address `json:",omitempty"` // Bcc, all Bcc fields joined
	InReplyTo string    `json:",omitempty"` // In-Reply-To, raw
	MessageID string    `json:",omitempty"` // Message-ID, raw
}

// DecodedSubject returns the subject with RFC 2047 encoded-words decoded.
func (e *Envelope) DecodedSubject() string {
	return DecodeHeader(e.Subject)
}

// msgFields collects the header fields of a message that Analyze needs,
// raw and still folded.
type msgFields struct {
	date, subject, from, sender, replyTo string
	to, cc, bcc                          []string
	inReplyTo, messageID, references     string
	seen                                 uint16
}

const (
	fDate = 1 << iota
	fSubject
	fFrom
	fSender
	fReplyTo
	fInReplyTo
	fMessageID
	fReferences
)

// add records one header field.
func (m *msgFields) add(name, value string) {
	set := func(bit uint16, dst *string) {
		if m.seen&bit == 0 {
			m.seen |= bit
			*dst = value
		}
	}
	switch len(name) {
	case 2:
		switch {
		case strings.EqualFold(name, "to"):
			m.to = append(m.to, value)
		case strings.EqualFold(name, "cc"):
			m.cc = append(m.cc, value)
		}
	case 3:
		if strings.EqualFold(name, "bcc") {
			m.bcc = append(m.bcc, value)
		}
	case 4:
		switch {
		case strings.EqualFold(name, "date"):
			set(fDate, &m.date)
		case strings.EqualFold(name, "from"):
			set(fFrom, &m.from)
		}
	case 6:
		if strings.EqualFold(name, "sender") {
			set(fSender, &m.sender)
		}
	case 7:
		if strings.EqualFold(name, "subject") {
			set(fSubject, &m.subject)
		}
	case 8:
		if strings.EqualFold(name, "reply-to") {
			set(fReplyTo, &m.replyTo)
		}
	case 10:
		switch {
		case strings.EqualFold(name, "message-id"):
			set(fMessageID, &m.messageID)
		case strings.EqualFold(name, "references"):
			set(fReferences, &m.references)
		}
	case 11:
		if strings.EqualFold(name, "in-reply-to") {
			set(fInReplyTo, &m.inReplyTo)
		}
	}
}

func rawValue(s string) string {
	return trimWSP(Unfold(s))
}

func parseAddrFields(vs []string) []Address {
	var out []Address
	for _, v := range vs {
		out = append(out, ParseAddressList(Unfold(v))...)
	}
	return out
}

// envelope builds the IMAP envelope.
func (m *msgFields) envelope() *Envelope {
	e := &Envelope{
		Date:      rawValue(m.date),
		Subject:   rawValue(m.subject),
		From:      ParseAddressList(Unfold(m.from)),
		Sender:    ParseAddressList(Unfold(m.sender)),
		ReplyTo:   ParseAddressList(Unfold(m.replyTo)),
		To:        parseAddrFields(m.to),
		Cc:        parseAddrFields(m.cc),
		Bcc:       parseAddrFields(m.bcc),
		InReplyTo: rawValue(m.inReplyTo),
		MessageID: rawValue(m.messageID),
	}
	// RFC 3501 §7.4.2: "If the Sender or Reply-To lines are absent in the
	// [RFC-2822] header, or are present but empty, the server sets the
	// corresponding member of the envelope to be the same value as the
	// from member".
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}
