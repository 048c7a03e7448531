package imapclient

import (
	"strings"
	"time"

	"posthorn/internal/message"
)

// Message is what a FETCH response says about one message (RFC 3501
// §7.4.2). Fields the server did not send are zero.
type Message struct {
	// Seq is the message sequence number.
	Seq uint32
	// UID is the message's unique identifier (RFC 3501 §2.3.1.1).
	UID uint32
	// Flags are the message's flags and keywords, as sent.
	Flags []string
	// HasFlags reports that FLAGS was present (an empty list is not none).
	HasFlags bool
	// InternalDate is INTERNALDATE.
	InternalDate time.Time
	// Size is RFC822.SIZE.
	Size int64
	// Envelope is ENVELOPE; its string fields are raw (RFC 2047
	// encoded-words intact), as message.Envelope documents.
	Envelope *message.Envelope
	// Structure is BODYSTRUCTURE (or BODY) as a tree of parts. Offsets
	// are zero: a client does not know them.
	Structure *message.Part
	// Sections maps the section spec of each BODY[...] item ("" for the
	// whole message, "1.2", "HEADER", "TEXT") to its octets. RFC822,
	// RFC822.HEADER and RFC822.TEXT are filed under "", "HEADER" and "TEXT".
	Sections map[string][]byte
}

// HasFlag reports whether the message has the flag (case-insensitive, RFC
// 3501 §2.3.2).
func (m *Message) HasFlag(flag string) bool {
	for _, f := range m.Flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// ParseFetch interprets the data of a "* n FETCH (...)" response. Items it
// does not know are skipped; a malformed known item is an error.
func ParseFetch(resp *Response) (*Message, error) {
	if resp.Name != "FETCH" || !resp.HasNum || len(resp.Fields) != 1 || resp.Fields[0].Kind != List {
		return nil, protoErr("not a FETCH response")
	}
	m := &Message{Seq: resp.Num}
	items := resp.Fields[0].List
	if len(items)%2 != 0 {
		return nil, protoErr("FETCH item without a value")
	}
	for i := 0; i < len(items); i += 2 {
		name, v := items[i], items[i+1]
		if name.Kind != Atom {
			return nil, protoErr("FETCH item name is not an atom")
		}
		if err := m.item(strings.ToUpper(name.Str), name.Str, v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// item files one FETCH item; upper is its name in upper case, raw as sent.
func (m *Message) item(upper, raw string, v Value) error {
	var ok bool
	switch {
	case upper == "UID":
		m.UID, ok = v.Number()
	case upper == "FLAGS":
		ok = v.Kind == List
		m.HasFlags = true
		for _, f := range v.List {
			if f.Kind == Atom {
				m.Flags = append(m.Flags, f.Str)
			}
		}
	case upper == "INTERNALDATE":
		var s string
		if s, ok = v.AString(); ok {
			m.InternalDate, ok = parseInternalDate(s)
		}
	case upper == "RFC822.SIZE":
		m.Size, ok = v.Number64()
	case upper == "ENVELOPE":
		m.Envelope, ok = parseEnvelope(v)
	case upper == "BODYSTRUCTURE" || upper == "BODY":
		m.Structure, ok = parseBody(v, 0)
	case upper == "RFC822" || upper == "RFC822.HEADER" || upper == "RFC822.TEXT":
		return m.section(strings.TrimPrefix(strings.TrimPrefix(upper, "RFC822"), "."), v)
	case strings.HasPrefix(upper, "BODY[") || strings.HasPrefix(upper, "BINARY["):
		open := strings.IndexByte(raw, '[')
		end := strings.LastIndexByte(raw, ']')
		if end < open {
			return protoErr("bad section in %q", raw)
		}
		return m.section(strings.ToUpper(raw[open+1:end]), v)
	default:
		return nil // MODSEQ, X-GM-*, ...: not ours
	}
	if !ok {
		return protoErr("malformed FETCH %s", upper)
	}
	return nil
}

func (m *Message) section(spec string, v Value) error {
	s, ok := v.NString()
	if !ok {
		return protoErr("malformed FETCH BODY[%s]", spec)
	}
	if m.Sections == nil {
		m.Sections = map[string][]byte{}
	}
	m.Sections[spec] = []byte(s)
	return nil
}

// parseInternalDate reads RFC 3501 date-time: "17-Jul-1996 02:44:25 -0700",
// the day possibly space-padded.
func parseInternalDate(s string) (time.Time, bool) {
	t, err := time.Parse("_2-Jan-2006 15:04:05 -0700", strings.TrimSpace(s))
	if err != nil {
		t, err = time.Parse("2-Jan-2006 15:04:05 -0700", strings.TrimSpace(s))
	}
	return t, err == nil
}

// parseEnvelope reads ENVELOPE (RFC 3501 §7.4.2): date, subject, from,
// sender, reply-to, to, cc, bcc, in-reply-to, message-id.
func parseEnvelope(v Value) (*message.Envelope, bool) {
	if v.Kind != List || len(v.List) < 10 {
		return nil, false
	}
	f := v.List
	e := &message.Envelope{}
	strs := []*string{&e.Date, &e.Subject, nil, nil, nil, nil, nil, nil, &e.InReplyTo, &e.MessageID}
	addrs := []*[]message.Address{nil, nil, &e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc, nil, nil}
	for i := range 10 {
		if strs[i] != nil {
			s, ok := f[i].NString()
			if !ok {
				return nil, false
			}
			*strs[i] = s
			continue
		}
		as, ok := parseAddresses(f[i])
		if !ok {
			return nil, false
		}
		*addrs[i] = as
	}
	return e, true
}

// parseAddresses reads an address list: NIL or a list of (name adl mailbox
// host). A NIL host marks group syntax (RFC 3501 §7.4.2): with a mailbox it
// starts a group named by the mailbox, without one it ends the group.
func parseAddresses(v Value) ([]message.Address, bool) {
	if v.IsNil() {
		return nil, true
	}
	if v.Kind != List {
		return nil, false
	}
	out := make([]message.Address, 0, len(v.List))
	for _, a := range v.List {
		if a.Kind != List || len(a.List) < 4 {
			return nil, false
		}
		var s [4]string
		for i := range 4 {
			var ok bool
			if s[i], ok = a.List[i].NString(); !ok {
				return nil, false
			}
		}
		addr := message.Address{Name: s[0], ADL: s[1], Mailbox: s[2], Host: s[3]}
		if a.List[3].IsNil() {
			addr.Host = ""
			if a.List[2].IsNil() {
				addr = message.Address{GroupEnd: true}
			} else {
				addr = message.Address{GroupStart: true, Mailbox: s[2]}
			}
		}
		out = append(out, addr)
	}
	return out, true
}
