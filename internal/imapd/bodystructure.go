package imapd

import (
	"strings"

	"posthorn/internal/message"
)

// ENVELOPE and BODYSTRUCTURE rendering (RFC 9051 §7.5.2, RFC 3501 §7.4.2)
// from the message.Meta stored at delivery: no message is parsed again.

// writeEnvelope writes an ENVELOPE: date, subject, from, sender,
// reply-to, to, cc, bcc, in-reply-to, message-id. Header values are sent
// raw (RFC 2047 encoded-words stay encoded; clients decode them).
func writeEnvelope(r *resp, e *message.Envelope) {
	if e == nil {
		e = &message.Envelope{}
	}
	r.byte('(').nstr(e.Date).sp().nstr(e.Subject)
	for _, l := range [][]message.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		r.sp()
		writeAddresses(r, l)
	}
	r.sp().nstr(e.InReplyTo).sp().nstr(e.MessageID).byte(')')
}

// writeAddresses writes an address list, NIL when empty. RFC 3501 §7.4.2
// group syntax: a group starts with (NIL NIL "name" NIL) and ends with
// (NIL NIL NIL NIL). A mailbox's local part and host are never NIL (NIL
// marks a group); an address without a domain gets "".
func writeAddresses(r *resp, as []message.Address) {
	if len(as) == 0 {
		r.raw("NIL")
		return
	}
	r.byte('(')
	for _, a := range as {
		switch {
		case a.GroupStart:
			r.raw("(NIL NIL ").str(a.Mailbox).raw(" NIL)")
		case a.GroupEnd:
			r.raw("(NIL NIL NIL NIL)")
		default:
			r.byte('(').nstr(a.Name).sp().nstr(a.ADL).sp().str(a.Mailbox).sp().str(a.Host).byte(')')
		}
	}
	r.byte(')')
}

// writeBody writes BODYSTRUCTURE (ext set) or BODY (ext unset) of a part.
func writeBody(r *resp, p *message.Part, ext bool) {
	if p == nil {
		p = emptyPart
	}
	r.byte('(')
	if p.IsMultipart() {
		parts := p.Parts
		if len(parts) == 0 {
			// body-type-mpart needs a body part; like Dovecot, send an empty
			// text/plain one (see message.Part.Parts).
			parts = []*message.Part{emptyPart}
		}
		for _, c := range parts {
			writeBody(r, c, ext)
		}
		r.sp().str(strings.ToUpper(p.Subtype))
		if ext {
			r.sp()
			writeParams(r, p.Params)
			writeExtTail(r, p)
		}
		r.byte(')')
		return
	}
	r.str(strings.ToUpper(p.Type)).sp().str(strings.ToUpper(p.Subtype)).sp()
	params := p.Params
	if p.Type == "text" && p.Charset() == "" {
		// RFC 2045 §5.2: text without a charset parameter is US-ASCII; say
		// so, as Dovecot does, so clients need not know the default.
		params = append(params[:len(params):len(params)], message.Param{Name: "charset", Value: "us-ascii"})
	}
	writeParams(r, params)
	r.sp().nstr(p.ID).sp().nstr(p.Description).sp().str(strings.ToUpper(p.Encoding)).sp().num(uint64(p.Size))
	switch {
	case isMessagePart(p):
		inner, env := emptyPart, (*message.Envelope)(nil)
		if p.IsMessage() {
			inner, env = p.Parts[0], p.Envelope
		}
		r.sp()
		writeEnvelope(r, env)
		r.sp()
		writeBody(r, inner, ext)
		r.sp().num(uint64(p.Lines))
	case p.Type == "text":
		r.sp().num(uint64(p.Lines))
	}
	if ext {
		r.sp().nstr(p.MD5)
		writeExtTail(r, p)
	}
	r.byte(')')
}

// emptyPart stands in for a missing body: an empty text/plain part.
var emptyPart = &message.Part{Type: "text", Subtype: "plain", Params: []message.Param{{Name: "charset", Value: "us-ascii"}}, Encoding: "7bit"}

// isMessagePart reports whether p must be rendered as body-type-msg:
// message/rfc822, and message/global (RFC 6532 §3.7).
func isMessagePart(p *message.Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
}

// writeParams writes body-fld-param: NIL or ("name" "value" ...). The
// values are decoded (RFC 2231, RFC 2047); a non-ASCII one goes to an
// IMAP4rev2 client as UTF-8, to an IMAP4rev1 client encoded again as an
// RFC 2231 extended parameter (name*=utf-8”...), which its MIME code
// decodes.
func writeParams(r *resp, ps []message.Param) {
	if len(ps) == 0 {
		r.raw("NIL")
		return
	}
	r.byte('(')
	for i, p := range ps {
		if i > 0 {
			r.sp()
		}
		name, value := strings.ToUpper(p.Name), p.Value
		if !r.utf8 && !isPlainASCII(value) {
			name, value = name+"*", "utf-8''"+percentEncode(value)
		}
		r.str(name).sp().str(value)
	}
	r.byte(')')
}

// percentEncode writes RFC 2231 §4 extended-other-values: attribute
// characters as they are, every other octet as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x20 && c < 0x7f && !strings.ContainsRune("*'%()<>@,;:\\\"/[]?=", rune(c)) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// writeExtTail writes the extension data after the MD5 (single part) or
// the parameters (multipart): disposition, language, location.
func writeExtTail(r *resp, p *message.Part) {
	r.sp()
	if p.Disposition == "" {
		r.raw("NIL")
	} else {
		r.byte('(').str(strings.ToUpper(p.Disposition)).sp()
		writeParams(r, p.DispositionParams)
		r.byte(')')
	}
	r.sp()
	switch len(p.Language) {
	case 0:
		r.raw("NIL")
	default:
		// A list even for one tag, as Dovecot and Cyrus send it.
		r.byte('(')
		for i, l := range p.Language {
			if i > 0 {
				r.sp()
			}
			r.str(l)
		}
		r.byte(')')
	}
	r.sp().nstr(p.Location)
}
