package jmap

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"posthorn/internal/mailbox"
	"posthorn/internal/message"
)

// Email/get (RFC 8621 §4.2).

var emailDefaultProps = []string{"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
	"hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments"}

var emailKnownProps = append(slices.Clone(emailDefaultProps), "headers", "bodyStructure")

type emailGetArgs struct {
	AccountID           string    `json:"accountId"`
	IDs                 *[]string `json:"ids"`
	Properties          *[]string `json:"properties"`
	BodyProperties      *[]string `json:"bodyProperties"`
	FetchTextBodyValues bool      `json:"fetchTextBodyValues"`
	FetchHTMLBodyValues bool      `json:"fetchHTMLBodyValues"`
	FetchAllBodyValues  bool      `json:"fetchAllBodyValues"`
	MaxBodyValueBytes   int       `json:"maxBodyValueBytes"`
}

// checkEmailProps validates property names, header:* forms included.
func checkEmailProps(p *[]string, known, def []string) ([]string, error) {
	if p == nil {
		return def, nil
	}
	for _, x := range *p {
		if slices.Contains(known, x) {
			continue
		}
		if _, err := parseHeaderProp(x); err != nil {
			return nil, err
		}
	}
	return *p, nil
}

func (cc *call) emailGet(raw json.RawMessage) (any, error) {
	var a emailGetArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	props, err := checkEmailProps(a.Properties, emailKnownProps, emailDefaultProps)
	if err != nil {
		return nil, err
	}
	bprops, err := checkEmailProps(a.BodyProperties, bodyKnownProps, bodyDefaultProps)
	if err != nil {
		return nil, err
	}
	if a.MaxBodyValueBytes < 0 {
		return nil, invalidArgs("maxBodyValueBytes must not be negative")
	}
	if a.IDs == nil {
		all, err := cc.allEmailIDs(false)
		if err != nil {
			return nil, err
		}
		list := mapIDs(all, emailID)
		a.IDs = &list
	}
	if len(*a.IDs) > cc.s.o.MaxObjectsInGet {
		return nil, mErr(errRequestTooLarge, "at most %d ids", cc.s.o.MaxObjectsInGet)
	}
	st, _, err := cc.readState()
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: st.String(), List: []any{}, NotFound: []string{}}
	var want []mailbox.MessageID
	var asked []string
	for _, rawID := range *a.IDs {
		id, _ := cc.resolve(rawID)
		mid, ok := parseEmailID(id)
		if !ok {
			res.NotFound = append(res.NotFound, rawID)
			continue
		}
		want = append(want, mid)
		asked = append(asked, rawID)
	}
	msgs, err := cc.s.mbs.MessagesByID(cc.ctx, cc.ai.account, want)
	if err != nil {
		return nil, err
	}
	byID := make(map[mailbox.MessageID]mailbox.Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	opts := emailOpts{props: props, bodyProps: bprops, fetchText: a.FetchTextBodyValues, fetchHTML: a.FetchHTMLBodyValues,
		fetchAll: a.FetchAllBodyValues, maxBytes: a.MaxBodyValueBytes}
	for i, id := range want {
		m, ok := byID[id]
		if !ok {
			res.NotFound = append(res.NotFound, asked[i])
			continue
		}
		o, err := cc.emailObject(m, opts)
		if err != nil {
			return nil, err
		}
		res.List = append(res.List, o)
	}
	return res, nil
}

// emailOpts say what of an Email to render.
type emailOpts struct {
	props, bodyProps               []string
	fetchText, fetchHTML, fetchAll bool
	maxBytes                       int
}

// loadedEmail gives lazy access to what rendering an Email may need.
type loadedEmail struct {
	cc      *call
	m       mailbox.Message
	meta    *message.Meta
	parts   *bodyPart
	flat    *flatBodies
	content *mailbox.Content
}

func (le *loadedEmail) close() {
	if le.content != nil {
		le.content.Close()
	}
}

func (le *loadedEmail) getMeta() (*message.Meta, error) {
	if le.meta == nil {
		meta, err := mailbox.Meta(le.m)
		if err != nil {
			return nil, err
		}
		le.meta = meta
		le.parts = buildParts(meta.Structure)
	}
	return le.meta, nil
}

func (le *loadedEmail) getFlat() (*flatBodies, error) {
	if le.flat == nil {
		if _, err := le.getMeta(); err != nil {
			return nil, err
		}
		fb := flatten(le.parts)
		le.flat = &fb
	}
	return le.flat, nil
}

// maxHeaderRead bounds the header section read for header properties.
const maxHeaderRead = 1 << 20

// section reads [start, end) of the message, at most limit octets.
func (le *loadedEmail) section(start, end int64, limit int64) ([]byte, error) {
	if le.content == nil {
		c, err := le.cc.s.mbs.Open(le.cc.ctx, le.m)
		if err != nil {
			return nil, err
		}
		le.content = c
	}
	n := min(end-start, limit)
	if n <= 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	k, err := le.content.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return buf[:k], nil
}

// header returns the header section of a part (the message's own for the
// root).
func (le *loadedEmail) header(p *message.Part) (message.Header, error) {
	b, err := le.section(p.HeaderStart, p.BodyStart, maxHeaderRead)
	if err != nil {
		return nil, err
	}
	h, _ := message.ParseHeader(b)
	return h, nil
}

// emailObject renders an Email with the requested properties.
func (cc *call) emailObject(m mailbox.Message, o emailOpts) (map[string]any, error) {
	le := &loadedEmail{cc: cc, m: m}
	defer le.close()
	obj := map[string]any{"id": emailID(m.ID)}
	var rootHeader message.Header
	needHeader := func() (message.Header, error) {
		if rootHeader == nil {
			meta, err := le.getMeta()
			if err != nil {
				return nil, err
			}
			if rootHeader, err = le.header(meta.Structure); err != nil {
				return nil, err
			}
		}
		return rootHeader, nil
	}
	for _, p := range o.props {
		v, err := le.property(p, o, needHeader)
		if err != nil {
			return nil, err
		}
		obj[p] = v
	}
	return obj, nil
}

// property renders one Email property.
func (le *loadedEmail) property(p string, o emailOpts, hdr func() (message.Header, error)) (any, error) {
	m := le.m
	switch p {
	case "id":
		return emailID(m.ID), nil
	case "blobId":
		return messageBlobID(m.ID), nil
	case "threadId":
		return threadID(m.ThreadID), nil
	case "mailboxIds":
		return map[string]bool{mailboxID(m.MailboxID): true}, nil
	case "keywords":
		return keywordsOf(m.Flags, m.Keywords), nil
	case "size":
		return m.Size, nil
	case "receivedAt":
		return utcDate(m.InternalDate), nil
	case "messageId", "inReplyTo", "references", "sender", "replyTo", "sentAt":
		h, err := hdr()
		if err != nil {
			return nil, err
		}
		return convenienceHeader(p, h), nil
	case "from", "to", "cc", "bcc":
		meta, err := le.getMeta()
		if err != nil {
			return nil, err
		}
		env := meta.Envelope
		return addressesOrNull(map[string][]message.Address{"from": env.From, "to": env.To, "cc": env.Cc, "bcc": env.Bcc}[p]), nil
	case "subject":
		return m.Index.Subject, nil
	case "hasAttachment":
		return m.Index.HasAttachment, nil
	case "preview":
		return m.Index.Preview, nil
	case "headers":
		h, err := hdr()
		if err != nil {
			return nil, err
		}
		return rawHeaders(h), nil
	case "bodyStructure":
		if _, err := le.getMeta(); err != nil {
			return nil, err
		}
		return partObject(m.ID, le.parts, withSubParts(o.bodyProps), le.partHeader)
	case "textBody", "htmlBody", "attachments":
		fb, err := le.getFlat()
		if err != nil {
			return nil, err
		}
		list := map[string][]*bodyPart{"textBody": fb.text, "htmlBody": fb.html, "attachments": fb.attachments}[p]
		return le.partList(list, o.bodyProps)
	case "bodyValues":
		return le.bodyValues(o)
	}
	hp, err := parseHeaderProp(p)
	if err != nil {
		return nil, err
	}
	h, err := hdr()
	if err != nil {
		return nil, err
	}
	return hp.value(h), nil
}

// convenienceHeader renders the header-derived convenience properties
// (RFC 8621 §4.1.3), from the message's own header.
func convenienceHeader(p string, h message.Header) any {
	switch p {
	case "messageId":
		return headerProp{name: "Message-ID", form: formMessageIDs}.value(h)
	case "inReplyTo":
		return headerProp{name: "In-Reply-To", form: formMessageIDs}.value(h)
	case "references":
		return headerProp{name: "References", form: formMessageIDs}.value(h)
	case "sender":
		return nullIfNoAddresses(headerProp{name: "Sender", form: formAddresses}.value(h))
	case "replyTo":
		return nullIfNoAddresses(headerProp{name: "Reply-To", form: formAddresses}.value(h))
	case "sentAt":
		return headerProp{name: "Date", form: formDate}.value(h)
	}
	return nil
}

func nullIfNoAddresses(v any) any {
	if as, ok := v.([]emailAddress); ok && len(as) == 0 {
		return nil
	}
	return v
}

func withSubParts(props []string) []string {
	if slices.Contains(props, "subParts") {
		return props
	}
	return append(slices.Clone(props), "subParts")
}

// partHeader returns a part's own header fields; errors give none.
func (le *loadedEmail) partHeader(bp *bodyPart) message.Header {
	h, err := le.header(bp.p)
	if err != nil {
		le.cc.log.Warn("reading part header", "email", le.m.ID, "err", err)
		return nil
	}
	return h
}

func (le *loadedEmail) partList(list []*bodyPart, props []string) ([]any, error) {
	out := make([]any, 0, len(list))
	for _, bp := range list {
		o, err := partObject(le.m.ID, bp, props, le.partHeader)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// maxTextRead bounds the octets of one text part read for bodyValues.
const maxTextRead = 16 << 20

// bodyValue is an EmailBodyValue (RFC 8621 §4.1.4).
type bodyValue struct {
	Value             string `json:"value"`
	IsEncodingProblem bool   `json:"isEncodingProblem"`
	IsTruncated       bool   `json:"isTruncated"`
}

// bodyValues decodes the text parts asked for: those of textBody,
// htmlBody, or all text/* parts.
func (le *loadedEmail) bodyValues(o emailOpts) (map[string]bodyValue, error) {
	out := map[string]bodyValue{}
	if !o.fetchText && !o.fetchHTML && !o.fetchAll {
		return out, nil
	}
	fb, err := le.getFlat()
	if err != nil {
		return nil, err
	}
	var want []*bodyPart
	if o.fetchText {
		want = append(want, fb.text...)
	}
	if o.fetchHTML {
		want = append(want, fb.html...)
	}
	if o.fetchAll {
		var walk func(*bodyPart)
		walk = func(bp *bodyPart) {
			if bp.id != "" {
				want = append(want, bp)
			}
			for _, s := range bp.subs {
				walk(s)
			}
		}
		walk(le.parts)
	}
	for _, bp := range want {
		if _, done := out[bp.id]; done || bp.p.Type != "text" {
			continue
		}
		bv, err := le.textValue(bp, o.maxBytes)
		if err != nil {
			return nil, err
		}
		out[bp.id] = bv
	}
	return out, nil
}

// textValue decodes one text part to UTF-8.
func (le *loadedEmail) textValue(bp *bodyPart, maxBytes int) (bodyValue, error) {
	raw, err := le.section(bp.p.BodyStart, bp.p.BodyEnd, maxTextRead)
	if err != nil {
		return bodyValue{}, fmt.Errorf("email %d part %s: %w", le.m.ID, bp.id, err)
	}
	s := decodeText(bp.p, raw)
	bv := bodyValue{Value: s, IsEncodingProblem: strings.ContainsRune(s, utf8.RuneError),
		IsTruncated: bp.p.BodyEnd-bp.p.BodyStart > maxTextRead}
	if maxBytes > 0 && len(bv.Value) > maxBytes {
		cut := maxBytes
		for cut > 0 && !utf8.RuneStart(bv.Value[cut]) {
			cut--
		}
		bv.Value, bv.IsTruncated = bv.Value[:cut], true
	}
	return bv, nil
}

// decodeText returns a text part's content as UTF-8: transfer encoding
// undone, charset converted (for HTML without a charset parameter, the
// document's <meta> charset), line ends LF. HTML stays HTML: it is
// decoded as if it were plain text, which message.PartText leaves as is.
func decodeText(p *message.Part, raw []byte) string {
	if p.Subtype != "html" {
		return message.PartText(p, raw)
	}
	q := *p
	q.Subtype = "plain"
	if p.Param("charset") == "" {
		// Read the transfer-decoded prefix for a <meta charset>.
		probe := *p
		probe.Params = []message.Param{{Name: "charset", Value: "us-ascii"}}
		probe.Subtype = "plain"
		if cs := sniffMetaCharset(message.PartText(&probe, raw[:min(len(raw), 4096)])); cs != "" {
			q.Params = append(slices.Clone(p.Params), message.Param{Name: "charset", Value: cs})
		}
	}
	return message.PartText(&q, raw)
}

// sniffMetaCharset finds <meta charset=...> or the http-equiv form in the
// start of an HTML document (HTML §4.2.5).
func sniffMetaCharset(head string) string {
	head = strings.ToLower(head[:min(len(head), 1024)])
	i := strings.Index(head, "charset=")
	if i < 0 {
		return ""
	}
	v := strings.TrimLeft(head[i+len("charset="):], `"' `)
	end := strings.IndexAny(v, `"'; />`)
	if end <= 0 {
		return ""
	}
	return v[:end]
}

// utcDate renders a UTCDate (RFC 8620 §1.4).
func utcDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// keywordsOf renders the keywords of a message: the IMAP system flags
// with their JMAP names (RFC 8621 §4.1.1) and the keywords in lower case.
func keywordsOf(f mailbox.Flags, kw []string) map[string]bool {
	out := map[string]bool{}
	for _, sf := range systemKeywords {
		if f&sf.flag != 0 {
			out[sf.name] = true
		}
	}
	for _, k := range kw {
		out[strings.ToLower(k)] = true
	}
	return out
}

// systemKeywords map IMAP system flags to JMAP keywords. \Deleted and
// \Recent have none (RFC 8621 §4.1.1).
var systemKeywords = []struct {
	flag mailbox.Flags
	name string
}{
	{mailbox.FlagSeen, "$seen"}, {mailbox.FlagAnswered, "$answered"}, {mailbox.FlagFlagged, "$flagged"}, {mailbox.FlagDraft, "$draft"},
}
