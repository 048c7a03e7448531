package jmap

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"posthorn/internal/message"
)

// Building an RFC 5322 message from an Email object to create (RFC 8621
// §4.6: Email/set create), for drafts and for messages to send.

// newEmail is an Email object in an Email/set create.
type newEmail struct {
	MailboxIDs map[string]bool `json:"mailboxIds"`
	Keywords   map[string]bool `json:"keywords"`
	ReceivedAt *string         `json:"receivedAt"`
	MessageID  []string        `json:"messageId"`
	InReplyTo  []string        `json:"inReplyTo"`
	References []string        `json:"references"`
	Sender     []emailAddress  `json:"sender"`
	From       []emailAddress  `json:"from"`
	To         []emailAddress  `json:"to"`
	Cc         []emailAddress  `json:"cc"`
	Bcc        []emailAddress  `json:"bcc"`
	ReplyTo    []emailAddress  `json:"replyTo"`
	Subject    *string         `json:"subject"`
	SentAt     *string         `json:"sentAt"`

	BodyStructure *newPart             `json:"bodyStructure"`
	BodyValues    map[string]bodyValue `json:"bodyValues"`
	TextBody      []newPart            `json:"textBody"`
	HTMLBody      []newPart            `json:"htmlBody"`
	Attachments   []newPart            `json:"attachments"`

	// header:{name}:as{Form} properties, collected by parseNewEmail.
	extra []extraHeader
}

// newPart is an EmailBodyPart in a create: text from bodyValues by
// partId, or content from a blob by blobId.
type newPart struct {
	PartID      *string   `json:"partId"`
	BlobID      *string   `json:"blobId"`
	Type        string    `json:"type"`
	Charset     *string   `json:"charset"`
	Name        *string   `json:"name"`
	Disposition *string   `json:"disposition"`
	Cid         *string   `json:"cid"`
	Language    []string  `json:"language"`
	Location    *string   `json:"location"`
	SubParts    []newPart `json:"subParts"`
	Size        *int64    `json:"size"`
}

type extraHeader struct {
	name  string
	value string // rendered, with the field name
}

// serverSetEmailProps may not be given in a create (RFC 8621 §4.6).
var serverSetEmailProps = []string{"id", "blobId", "threadId", "size", "hasAttachment", "preview", "headers"}

// parseNewEmail decodes a create object, with its header:* properties.
func parseNewEmail(raw json.RawMessage) (*newEmail, *setError) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, &setError{Type: setInvalidProperties, Description: "not an object"}
	}
	known := map[string]json.RawMessage{}
	var extra []extraHeader
	for k, v := range all {
		if slices.Contains(serverSetEmailProps, k) {
			return nil, invalidProps(k)
		}
		if !strings.HasPrefix(k, "header:") {
			known[k] = v
			continue
		}
		eh, err := renderHeaderProp(k, v)
		if err != nil {
			return nil, err
		}
		extra = append(extra, eh...)
	}
	b, _ := json.Marshal(known)
	var ne newEmail
	if err := strictUnmarshal(b, &ne); err != nil {
		return nil, &setError{Type: setInvalidProperties, Description: "invalid Email: " + err.Error()}
	}
	ne.extra = extra
	return &ne, nil
}

// renderHeaderProp turns a header:* property of a create into fields.
func renderHeaderProp(prop string, raw json.RawMessage) ([]extraHeader, *setError) {
	hp, err := parseHeaderProp(prop)
	if err != nil {
		return nil, invalidProps(prop)
	}
	var vals []json.RawMessage
	if hp.all {
		if json.Unmarshal(raw, &vals) != nil {
			return nil, invalidProps(prop)
		}
	} else {
		vals = []json.RawMessage{raw}
	}
	var out []extraHeader
	for _, v := range vals {
		field, ok := formatHeaderValue(hp, v)
		if !ok {
			return nil, invalidProps(prop)
		}
		out = append(out, extraHeader{name: hp.name, value: field})
	}
	return out, nil
}

// formatHeaderValue renders one value of a header:* property as a field.
func formatHeaderValue(hp headerProp, v json.RawMessage) (string, bool) {
	switch hp.form {
	case formRaw:
		var s string
		if json.Unmarshal(v, &s) != nil || strings.ContainsAny(strings.ReplaceAll(s, "\r\n", ""), "\r\n") {
			return "", false
		}
		return hp.name + ":" + s + "\r\n", true
	case formText:
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return message.FormatField(hp.name, s), true
	case formAddresses:
		var as []emailAddress
		if json.Unmarshal(v, &as) != nil {
			return "", false
		}
		list, ok := formatAddresses(as)
		return structuredField(hp.name, list, ", "), ok
	case formMessageIDs:
		var ids []string
		if json.Unmarshal(v, &ids) != nil || !validMsgIDs(ids) {
			return "", false
		}
		return structuredField(hp.name, angleList(ids), " "), true
	case formDate:
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "", false
		}
		return message.FormatField(hp.name, message.FormatDate(t)), true
	case formURLs:
		var us []string
		if json.Unmarshal(v, &us) != nil {
			return "", false
		}
		for i, u := range us {
			us[i] = "<" + u + ">"
		}
		return structuredField(hp.name, strings.Join(us, ", "), ", "), true
	}
	return "", false
}

// formatAddresses renders EmailAddresses for an address field; ok is
// false when an address is not local@domain.
func formatAddresses(as []emailAddress) (string, bool) {
	list := make([]message.Address, 0, len(as))
	for _, a := range as {
		local, host, ok := strings.Cut(a.Email, "@")
		if !ok || local == "" || host == "" || strings.ContainsAny(a.Email, " \t\r\n<>,;\"()") || !utf8.ValidString(a.Email) {
			return "", false
		}
		ad := message.Address{Mailbox: local, Host: host}
		if a.Name != nil {
			ad.Name = strings.NewReplacer("\r", " ", "\n", " ").Replace(*a.Name)
		}
		list = append(list, ad)
	}
	return message.FormatAddressList(list), true
}

// structuredField renders a structured header field (RFC 5322 §3.6)
// whose value the caller made safe: message.FormatField is for
// unstructured text and would encode what looks like an encoded-word
// again. The value is folded after sep where lines would pass 78 octets
// (§2.2.3).
func structuredField(name, value, sep string) string {
	var b strings.Builder
	b.WriteString(name + ":")
	col := len(name) + 1
	items := strings.Split(value, sep)
	for i, it := range items {
		if i < len(items)-1 {
			it += strings.TrimRight(sep, " ")
		}
		if col+1+len(it) > 78 && col > len(name)+1 {
			b.WriteString("\r\n")
			col = 0
		}
		b.WriteString(" " + it)
		col += 1 + len(it)
	}
	return b.String() + "\r\n"
}

func validMsgIDs(ids []string) bool {
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, "<> \t\r\n") || !strings.Contains(id, "@") {
			return false
		}
	}
	return true
}

func angleList(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "<" + id + ">"
	}
	return strings.Join(out, " ")
}

// blobSource reads the content of a blob a new part refers to.
type blobSource func(blobID string) ([]byte, *setError)

// composer writes a message.
type composer struct {
	b        bytes.Buffer
	values   map[string]bodyValue
	blob     blobSource
	hostname string
	now      time.Time
}

// compose renders the whole message: header, then the MIME body built from
// bodyStructure or from textBody, htmlBody and attachments.
func (ne *newEmail) compose(hostname string, now time.Time, blob blobSource) ([]byte, *setError) {
	c := &composer{values: ne.BodyValues, blob: blob, hostname: hostname, now: now}
	if err := c.header(ne); err != nil {
		return nil, err
	}
	root, err := ne.tree()
	if err != nil {
		return nil, err
	}
	if err := c.partAt(root, 0); err != nil {
		return nil, err
	}
	return c.b.Bytes(), nil
}

// tree returns the MIME tree to write (RFC 8621 §4.6: either
// bodyStructure, or the flat lists, not both).
func (ne *newEmail) tree() (*newPart, *setError) {
	flat := ne.TextBody != nil || ne.HTMLBody != nil || ne.Attachments != nil
	if ne.BodyStructure != nil {
		if flat {
			return nil, &setError{Type: setInvalidProperties, Description: "bodyStructure and textBody/htmlBody/attachments are exclusive", Properties: []string{"bodyStructure"}}
		}
		return ne.BodyStructure, nil
	}
	if len(ne.TextBody) > 1 || len(ne.HTMLBody) > 1 {
		return nil, &setError{Type: setInvalidProperties, Description: "at most one textBody and one htmlBody part", Properties: []string{"textBody", "htmlBody"}}
	}
	var body *newPart
	switch {
	case len(ne.TextBody) == 1 && len(ne.HTMLBody) == 1:
		body = &newPart{Type: "multipart/alternative", SubParts: []newPart{ne.TextBody[0], ne.HTMLBody[0]}}
	case len(ne.TextBody) == 1:
		body = &ne.TextBody[0]
	case len(ne.HTMLBody) == 1:
		body = &ne.HTMLBody[0]
	default:
		empty := ""
		body = &newPart{Type: "text/plain", PartID: &empty}
	}
	var inline, attached []newPart
	for _, a := range ne.Attachments {
		if a.Cid != nil && (a.Disposition == nil || *a.Disposition == "inline") {
			inline = append(inline, a)
		} else {
			attached = append(attached, a)
		}
	}
	if len(inline) > 0 {
		body = &newPart{Type: "multipart/related", SubParts: append([]newPart{*body}, inline...)}
	}
	if len(attached) > 0 {
		body = &newPart{Type: "multipart/mixed", SubParts: append([]newPart{*body}, attached...)}
	}
	return body, nil
}

// header writes the message's own header fields.
func (c *composer) header(ne *newEmail) *setError {
	w := func(name, value string) { c.b.WriteString(message.FormatField(name, value)) }
	date := c.now
	if ne.SentAt != nil {
		t, err := time.Parse(time.RFC3339, *ne.SentAt)
		if err != nil {
			return invalidProps("sentAt")
		}
		date = t
	}
	w("Date", message.FormatDate(date))
	for _, f := range []struct {
		name string
		prop string
		as   []emailAddress
	}{{"From", "from", ne.From}, {"Sender", "sender", ne.Sender}, {"Reply-To", "replyTo", ne.ReplyTo},
		{"To", "to", ne.To}, {"Cc", "cc", ne.Cc}, {"Bcc", "bcc", ne.Bcc}} {
		if len(f.as) == 0 {
			continue
		}
		list, ok := formatAddresses(f.as)
		if !ok {
			return invalidProps(f.prop)
		}
		c.b.WriteString(structuredField(f.name, list, ", "))
	}
	if ne.Subject != nil {
		w("Subject", *ne.Subject)
	}
	ids := ne.MessageID
	if len(ids) == 0 {
		ids = []string{newMessageID(c.hostname)}
	}
	for _, f := range []struct {
		name, prop string
		ids        []string
	}{{"Message-ID", "messageId", ids}, {"In-Reply-To", "inReplyTo", ne.InReplyTo}, {"References", "references", ne.References}} {
		if len(f.ids) == 0 {
			continue
		}
		if !validMsgIDs(f.ids) || (f.name == "Message-ID" && len(f.ids) != 1) {
			return invalidProps(f.prop)
		}
		c.b.WriteString(structuredField(f.name, angleList(f.ids), " "))
	}
	for _, e := range ne.extra {
		c.b.WriteString(e.value)
	}
	w("MIME-Version", "1.0")
	return nil
}

func newMessageID(host string) string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@" + host
}

// maxPartDepth bounds a bodyStructure's nesting.
const maxPartDepth = 10

// partAt writes one part at a nesting depth: its content header fields
// and body. The message's own header fields precede the root part's.
func (c *composer) partAt(p *newPart, depth int) *setError {
	if depth > maxPartDepth {
		return invalidProps("bodyStructure")
	}
	typ := strings.ToLower(p.Type)
	if typ == "" {
		typ = "text/plain"
	}
	if _, _, err := mime.ParseMediaType(typ); err != nil || strings.ContainsAny(typ, ";\r\n") {
		return invalidProps("type")
	}
	if strings.HasPrefix(typ, "multipart/") {
		return c.multipart(p, typ, depth)
	}
	content, isText, err := c.content(p, typ)
	if err != nil {
		return err
	}
	params := map[string]string{}
	if isText {
		params["charset"] = "utf-8"
	}
	if p.Name != nil && *p.Name != "" {
		params["name"] = *p.Name
	}
	c.b.WriteString(structuredField("Content-Type", mime.FormatMediaType(typ, params), "; "))
	if p.Disposition != nil || p.Name != nil {
		disp := "attachment"
		if p.Disposition != nil {
			disp = strings.ToLower(*p.Disposition)
		}
		dp := map[string]string{}
		if p.Name != nil && *p.Name != "" {
			dp["filename"] = *p.Name
		}
		if disp != "inline" && disp != "attachment" {
			return invalidProps("disposition")
		}
		c.b.WriteString(structuredField("Content-Disposition", mime.FormatMediaType(disp, dp), "; "))
	}
	if p.Cid != nil {
		if *p.Cid == "" || strings.ContainsAny(*p.Cid, "<> \t\r\n") {
			return invalidProps("cid")
		}
		c.b.WriteString(structuredField("Content-ID", "<"+*p.Cid+">", " "))
	}
	if len(p.Language) > 0 {
		c.b.WriteString(message.FormatField("Content-Language", strings.Join(p.Language, ", ")))
	}
	if p.Location != nil {
		c.b.WriteString(message.FormatField("Content-Location", *p.Location))
	}
	c.body(content, isText)
	return nil
}

func (c *composer) multipart(p *newPart, typ string, depth int) *setError {
	if len(p.SubParts) == 0 || p.PartID != nil || p.BlobID != nil {
		return invalidProps("bodyStructure")
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	bnd := "=_posthorn_" + hex.EncodeToString(rnd[:])
	c.b.WriteString(structuredField("Content-Type", mime.FormatMediaType(typ, map[string]string{"boundary": bnd}), "; "))
	c.b.WriteString("\r\n")
	for i := range p.SubParts {
		c.b.WriteString("--" + bnd + "\r\n")
		if err := c.partAt(&p.SubParts[i], depth+1); err != nil {
			return err
		}
		c.b.WriteString("\r\n")
	}
	c.b.WriteString("--" + bnd + "--\r\n")
	return nil
}

// content returns a leaf's octets: the text of its bodyValue (by partId),
// or the blob's content (by blobId).
func (c *composer) content(p *newPart, typ string) ([]byte, bool, *setError) {
	switch {
	case p.PartID != nil && p.BlobID == nil:
		if !strings.HasPrefix(typ, "text/") {
			return nil, false, invalidProps("type")
		}
		v, ok := c.values[*p.PartID]
		if !ok && *p.PartID != "" {
			return nil, false, &setError{Type: setInvalidProperties, Description: fmt.Sprintf("no bodyValue %q", *p.PartID), Properties: []string{"bodyValues"}}
		}
		if v.IsTruncated || v.IsEncodingProblem {
			return nil, false, invalidProps("bodyValues")
		}
		return []byte(v.Value), true, nil
	case p.BlobID != nil && p.PartID == nil:
		b, err := c.blob(*p.BlobID)
		if err != nil {
			return nil, false, err
		}
		return b, false, nil
	}
	return nil, false, &setError{Type: setInvalidProperties, Description: "a part needs exactly one of partId and blobId", Properties: []string{"partId", "blobId"}}
}

// body writes the transfer-encoding field, the blank line and the content:
// text as 7bit when it can be, else quoted-printable; everything else in
// base64 (RFC 2045 §6).
func (c *composer) body(content []byte, isText bool) {
	if isText {
		text := strings.ReplaceAll(strings.ReplaceAll(string(content), "\r\n", "\n"), "\n", "\r\n")
		if !strings.HasSuffix(text, "\r\n") {
			text += "\r\n"
		}
		if sevenBitSafe(text) {
			c.b.WriteString("Content-Transfer-Encoding: 7bit\r\n\r\n")
			c.b.WriteString(text)
			return
		}
		c.b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		qw := quotedprintable.NewWriter(&c.b)
		qw.Write([]byte(text))
		qw.Close()
		c.b.WriteString("\r\n")
		return
	}
	c.b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(content)
	for len(enc) > 76 {
		c.b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	c.b.WriteString(enc + "\r\n")
}

// sevenBitSafe reports whether CRLF text can go as 7bit: ASCII without
// NUL or bare CR, lines of at most 998 octets (RFC 5322 §2.1.1).
func sevenBitSafe(s string) bool {
	for _, line := range strings.Split(s, "\r\n") {
		if len(line) > 998 {
			return false
		}
		for i := 0; i < len(line); i++ {
			if line[i] >= 0x80 || line[i] == 0 || line[i] == '\r' {
				return false
			}
		}
	}
	return true
}
