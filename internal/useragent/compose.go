package useragent

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"posthorn/internal/message"
)

// Draft is a message to send.
type Draft struct {
	// From is the author, "addr" or "Name <addr>"; empty means the
	// account's user name.
	From string
	// To, Cc and Bcc are address lists; each element may hold several
	// addresses separated by commas. Bcc recipients get the message but
	// appear in no header (RFC 5322 §3.6.3).
	To, Cc, Bcc []string
	// Subject is the subject in UTF-8.
	Subject string
	// Body is the text in UTF-8; any line-end convention.
	Body string
	// Attachments are sent after the text, in order.
	Attachments []Attachment
}

// Attachment is a file to attach.
type Attachment struct {
	// Name is the file name the recipient sees (no directories).
	Name string
	// Data is the content.
	Data []byte
	// ContentType is the media type; "" means detect it from the name's
	// extension (mime.TypeByExtension), else from the content
	// (http.DetectContentType).
	ContentType string
}

// ReadAttachment reads a file to attach under its base name.
func ReadAttachment(path string) (Attachment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Attachment{}, err
	}
	return Attachment{Name: filepath.Base(path), Data: data}, nil
}

// DetectType returns the media type of an attachment: by extension first,
// by content (the WHATWG sniffing algorithm) when the extension is unknown.
func DetectType(name string, data []byte) string {
	if ext := filepath.Ext(name); ext != "" {
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return http.DetectContentType(data)
}

// Composed is a message ready for submission.
type Composed struct {
	// Message is the whole message: 7-bit, CRLF line ends.
	Message []byte
	// From is the envelope sender (the author's address).
	From string
	// Recipients are the envelope recipients: To, Cc and Bcc, each once.
	Recipients []string
	// MessageID is the Message-ID, "<...>".
	MessageID string
}

// Compose writes the message for a draft, dated date. RFC 5322 §3.6 fields
// in the usual order, MIME (RFC 2045) with a multipart/mixed (RFC 2046
// §5.1.3) when there are attachments.
func Compose(d Draft, date time.Time) (*Composed, error) {
	from, err := parseAddresses("From", []string{d.From})
	if err != nil {
		return nil, err
	}
	if len(from) != 1 {
		return nil, errors.New("From: need exactly one address")
	}
	lists := map[string][]*mail.Address{}
	var rcpts []string
	for _, f := range []struct {
		name string
		vals []string
	}{{"To", d.To}, {"Cc", d.Cc}, {"Bcc", d.Bcc}} {
		as, err := parseAddresses(f.name, f.vals)
		if err != nil {
			return nil, err
		}
		lists[f.name] = as
		for _, a := range as {
			if !slices.Contains(rcpts, a.Address) {
				rcpts = append(rcpts, a.Address)
			}
		}
	}
	if len(rcpts) == 0 {
		return nil, errors.New("no recipients")
	}
	if !utf8.ValidString(d.Subject) || !utf8.ValidString(d.Body) {
		return nil, errors.New("the subject and the text must be UTF-8")
	}
	id, err := newMessageID(from[0].Address)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(message.FormatField("Date", message.FormatDate(date)))
	b.WriteString(addressField("From", from))
	for _, name := range []string{"To", "Cc"} {
		if len(lists[name]) > 0 {
			b.WriteString(addressField(name, lists[name]))
		}
	}
	if strings.TrimSpace(d.Subject) != "" {
		b.WriteString(message.FormatField("Subject", strings.Join(strings.Fields(d.Subject), " ")))
	}
	b.WriteString(message.FormatField("Message-ID", id))
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("User-Agent: Posthorn\r\n")
	if err := writeBody(&b, d); err != nil {
		return nil, err
	}
	return &Composed{Message: b.Bytes(), From: from[0].Address, Recipients: rcpts, MessageID: id}, nil
}

// parseAddresses reads address lists strictly (net/mail, RFC 5322 §3.4):
// what a person typed should be right, not guessed at. Domains in Unicode
// become A-labels (RFC 5890); a non-ASCII local part would need SMTPUTF8,
// which this agent does not use.
func parseAddresses(field string, vals []string) ([]*mail.Address, error) {
	var out []*mail.Address
	for _, v := range vals {
		if strings.TrimSpace(v) == "" {
			continue
		}
		as, err := mail.ParseAddressList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", field, v, err)
		}
		for _, a := range as {
			at := strings.LastIndexByte(a.Address, '@')
			if at <= 0 || at == len(a.Address)-1 {
				return nil, fmt.Errorf("%s: %q is not an address with a domain", field, a.Address)
			}
			local, domain := a.Address[:at], a.Address[at+1:]
			if !isASCII(local) {
				return nil, fmt.Errorf("%s: %q: a non-ASCII local part needs SMTPUTF8, which is not supported", field, a.Address)
			}
			ascii, err := idna.Lookup.ToASCII(domain)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", field, domain, err)
			}
			a.Address = local + "@" + strings.ToLower(ascii)
			out = append(out, a)
		}
	}
	return out, nil
}

// addressField renders an address field, display names RFC 2047-encoded
// where needed (message.FormatAddressList), folded between addresses to
// keep lines within 78 octets (RFC 5322 §2.1.1, §2.2.3). FormatField is
// not used: it treats the value as unstructured text and would encode the
// encoded-words again.
func addressField(name string, as []*mail.Address) string {
	var b strings.Builder
	b.WriteString(name + ":")
	lineLen := b.Len()
	for i, a := range as {
		at := strings.LastIndexByte(a.Address, '@')
		one := message.FormatAddressList([]message.Address{{Name: a.Name, Mailbox: a.Address[:at], Host: a.Address[at+1:]}})
		if i < len(as)-1 {
			one += ","
		}
		if i > 0 && lineLen+1+len(one) > 78 {
			b.WriteString("\r\n")
			lineLen = 0
		}
		b.WriteString(" " + one)
		lineLen += 1 + len(one)
	}
	b.WriteString("\r\n")
	return b.String()
}

// newMessageID makes a globally unique msg-id (RFC 5322 §3.6.4) from 128
// random bits and the author's domain.
func newMessageID(from string) (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + from[strings.LastIndexByte(from, '@')+1:] + ">", nil
}

// writeBody writes the MIME header fields and the body: the text alone,
// or a multipart/mixed of the text and the attachments.
func writeBody(b *bytes.Buffer, d Draft) error {
	text := canonicalText(d.Body)
	if len(d.Attachments) == 0 {
		writeTextPart(b, text)
		return nil
	}
	boundary, err := newBoundary()
	if err != nil {
		return err
	}
	b.WriteString(mimeField("Content-Type", "multipart/mixed", []param{{"boundary", boundary}}))
	b.WriteString("\r\nThis is a message in MIME format.\r\n")
	b.WriteString("\r\n--" + boundary + "\r\n")
	writeTextPart(b, text)
	for _, a := range d.Attachments {
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeAttachment(b, a)
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return nil
}

// newBoundary returns a boundary that cannot occur in the encoded parts:
// "=_" appears in neither quoted-printable nor base64 output, and the
// random rest makes a match in 7-bit text as good as impossible (RFC 2046
// §5.1.1).
func newBoundary() (string, error) {
	var r [18]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return "=_" + hex.EncodeToString(r[:]), nil
}

// canonicalText turns any line ends into CRLF and ends the text with one.
func canonicalText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// writeTextPart writes the text part's header and body. Plain ASCII with
// short lines goes as it is (7bit); anything else as quoted-printable or
// base64, whichever is shorter (RFC 2045 §6.7, §6.8), so the message stays
// 7-bit for any relay.
func writeTextPart(b *bytes.Buffer, text string) {
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	if isPlain7bit(text) {
		b.WriteString("Content-Transfer-Encoding: 7bit\r\n\r\n")
		b.WriteString(text)
		return
	}
	if qpCost(text) <= base64Cost(len(text)) {
		b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		w := quotedprintable.NewWriter(b)
		w.Write([]byte(text))
		w.Close()
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		return
	}
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	writeBase64(b, []byte(text))
}

// isPlain7bit reports whether CRLF text can go as 7bit: ASCII without NUL
// or other controls than tab, lines at most 998 octets (RFC 5322 §2.1.1,
// RFC 2045 §2.7).
func isPlain7bit(text string) bool {
	for line := range strings.SplitSeq(text, "\r\n") {
		if len(line) > 998 {
			return false
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c >= 0x7f || (c < ' ' && c != '\t') {
				return false
			}
		}
	}
	return true
}

// qpCost estimates the quoted-printable size: three octets for each one
// that must be escaped, plus soft line breaks.
func qpCost(text string) int {
	n := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 0x7f || c == '=' || (c < ' ' && c != '\t' && c != '\r' && c != '\n') {
			n += 3
		} else {
			n++
		}
	}
	return n + n/75*3
}

func base64Cost(n int) int { return (n+2)/3*4 + (n/57+1)*2 }

// writeBase64 writes data in base64 lines of 76 characters (RFC 2045 §6.8).
func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\r\n")
	}
}

// writeAttachment writes one attachment part: its type (given or
// detected) with the name, a Content-Disposition with the file name (RFC
// 2183), base64 content.
func writeAttachment(b *bytes.Buffer, a Attachment) {
	ct := a.ContentType
	if ct == "" {
		ct = DetectType(a.Name, a.Data)
	}
	mt, ps, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, ps = "application/octet-stream", nil
	}
	var params []param
	for _, k := range slices.Sorted(maps.Keys(ps)) {
		if k != "name" {
			params = append(params, param{k, ps[k]})
		}
	}
	name := strings.ReplaceAll(filepath.Base(a.Name), "\x00", "")
	if name != "" && name != "." && name != string(filepath.Separator) {
		params = append(params, param{"name", name})
	}
	b.WriteString(mimeField("Content-Type", mt, params))
	b.WriteString("Content-Transfer-Encoding: base64\r\n")
	var disp []param
	if len(params) > 0 && params[len(params)-1].name == "name" {
		disp = []param{{"filename", name}}
	}
	b.WriteString(mimeField("Content-Disposition", "attachment", disp))
	b.WriteString("\r\n")
	writeBase64(b, a.Data)
}
