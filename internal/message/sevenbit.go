package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// 7-bit downgrade for peers without 8BITMIME (RFC 6152 §3: a server that
// accepted 8-bit data "must either... or convert it" when relaying to one
// that does not offer the extension; RFC 1652 §4 describes the conversion).

// ErrNeedsSMTPUTF8 is returned by ToSevenBit when the message header has
// non-ASCII addresses or message ids: no encoding can carry those to a peer
// without SMTPUTF8 (RFC 6531 §3.2), so the message must bounce instead.
var ErrNeedsSMTPUTF8 = errors.New("message: header needs SMTPUTF8 and cannot be downgraded")

const (
	// maxSMTPLine is the longest line SMTP carries, CRLF excluded (RFC
	// 5321 §4.5.3.1.6, RFC 5322 §2.1.1).
	maxSMTPLine = 998
	// downgradeSample is how much of a part's body ToSevenBit looks at
	// before it chooses how to encode the part.
	downgradeSample = 256 << 10
)

// Is8Bit reports whether b has an octet above 127.
func Is8Bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// NeedsDowngrade reports whether a message cannot go as it is to a peer
// without 8BITMIME: it has 8-bit octets or NULs, a bare CR, or a line
// longer than 998 octets. It reads r to the end or to the first such line.
func NeedsDowngrade(r io.Reader) (bool, error) {
	lr := newLineReader(r)
	for {
		ln, ok := lr.next()
		if !ok {
			break
		}
		c := trimEOL(ln.b)
		if !ln.first || len(c) > maxSMTPLine || Is8Bit(c) || bytes.IndexByte(c, 0) >= 0 || bytes.IndexByte(c, '\r') >= 0 {
			return true, nil
		}
	}
	if lr.err != nil && lr.err != io.EOF {
		return false, lr.err
	}
	return false, nil
}

// Header fields by how the downgrade treats them.
const (
	fieldUnstructured = iota // RFC 2047 encoded-words (RFC 5322 §3.6.5 and optional fields)
	fieldAddress             // address lists: display names encoded
	fieldMsgID               // msg-id lists: cannot be encoded
	fieldParams              // MIME parameters: RFC 2231
	fieldOpaque              // structured or trace: 8-bit octets become "?"
)

func fieldClass(name string) int {
	switch strings.ToLower(name) {
	case "from", "sender", "reply-to", "to", "cc", "bcc",
		"resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc",
		"return-path", "disposition-notification-to", "mail-followup-to", "mail-reply-to":
		return fieldAddress
	case "message-id", "in-reply-to", "references", "resent-message-id":
		return fieldMsgID
	case "content-type", "content-disposition":
		return fieldParams
	case "received", "dkim-signature", "domainkey-signature", "arc-seal",
		"arc-message-signature", "arc-authentication-results", "authentication-results",
		"received-spf", "date", "resent-date", "mime-version", "content-transfer-encoding",
		"content-id", "content-language", "content-location", "content-md5", "delivered-to",
		"list-id", "list-post", "list-unsubscribe", "list-help", "list-archive",
		"list-subscribe", "list-owner":
		return fieldOpaque
	}
	return fieldUnstructured
}

// NeedsSMTPUTF8 reports whether a message header has non-ASCII text that a
// 7-bit downgrade cannot encode: an address (local part or domain, RFC 6532
// §3.2) in an address field, or a message id. Non-ASCII display names and
// unstructured text do not count: RFC 2047 encodes them.
func NeedsSMTPUTF8(h Header) bool {
	for _, f := range h {
		if f.Name == "" || isPrintableASCII(f.Value) {
			continue
		}
		switch fieldClass(f.Name) {
		case fieldMsgID:
			return true
		case fieldAddress:
			for _, a := range ParseAddressList(Unfold(f.Value)) {
				if !isPrintableASCII(a.Addr()) || !isPrintableASCII(a.ADL) {
					return true
				}
			}
		}
	}
	return false
}

// ToSevenBit copies a message from r to w so that it can go to a peer
// without 8BITMIME (RFC 6152): every part whose body has 8-bit octets, NULs,
// bare CRs or lines over 998 octets, or whose Content-Transfer-Encoding is
// 8bit or binary, is re-encoded as quoted-printable (text mostly ASCII) or
// base64 (anything else; text is put in canonical CRLF form first, RFC 2045
// §6.8) and its Content-Transfer-Encoding fixed; a clean 8bit/binary part
// is only relabelled 7bit. Multiparts and message/rfc822 are rewritten
// inside (RFC 2046 §5.2.1: they may only be 7bit, 8bit or binary, so their
// label becomes 7bit); an encapsulated message whose header cannot be
// downgraded becomes a base64 message/global part (RFC 6532 §3.5). Raw
// 8-bit header text becomes RFC 2047 encoded-words, 8-bit parameter values
// RFC 2231 encoded parameters; 8-bit octets where no encoding is possible
// (trace fields, preamble) become "?".
//
// The output is 7-bit with CRLF line ends, no line over 998 octets, no bare
// CR or LF. Parts are judged by their first 256 KiB; header sections over
// 1 MiB are cut. ToSevenBit returns ErrNeedsSMTPUTF8, before writing
// anything, if the top-level header fails NeedsSMTPUTF8.
func ToSevenBit(w io.Writer, r io.Reader) error {
	bw := bufio.NewWriter(w)
	d := &downgrader{out: &sevenBitWriter{w: bw}}
	d.start(r)
	if err := d.entity(d.readHeader(), 0, false, true); err != nil {
		return err
	}
	for d.have { // unreachable: no boundary is open at the top
		d.advance()
	}
	if d.lr.err != nil && d.lr.err != io.EOF {
		return d.lr.err
	}
	d.out.endLine()
	return bw.Flush()
}

type downgrader struct {
	cursor
	out    *sevenBitWriter
	nparts int
}

// readHeader reads a header section (see mimeParser.readHeader) and returns
// a copy of its lines, without the blank line.
func (d *downgrader) readHeader() []byte {
	var buf []byte
	for d.have {
		if d.cur.first {
			if d.atDelim() {
				break
			}
			if isBlankLine(d.cur.b) {
				d.advance()
				break
			}
		}
		if len(buf)+len(d.cur.b) <= maxHeaderBlock {
			buf = append(buf, d.cur.b...)
		}
		d.advance()
	}
	return buf
}

func parseBlock(block []byte) Header {
	var h Header
	splitFields(string(block), func(name, value, raw string) {
		h = append(h, Field{Name: name, Value: value, Raw: raw})
	})
	return h
}

// entity downgrades one entity whose header section has been read.
func (d *downgrader) entity(block []byte, depth int, digest, top bool) error {
	d.nparts++
	var part Part
	applyContentFields(&part, block, digest, nil)
	h := parseBlock(block)
	if top && NeedsSMTPUTF8(h) {
		return ErrNeedsSMTPUTF8
	}
	fb := fallbackFor(part.Charset())
	deep := depth >= MaxDepth || d.nparts >= MaxParts
	relabel := ""
	if part.Encoding == "8bit" || part.Encoding == "binary" {
		relabel = "7bit"
	}
	bnd := ""
	if part.Type == "multipart" {
		bnd = part.Param("boundary")
	}
	switch {
	case bnd != "" && !deep:
		newBnd := ""
		if len(bnd) > maxBoundary {
			// A delimiter line must fit in 998 octets; RFC 2046 §5.1.1
			// allows 70. "=_" cannot occur in base64 or quoted-printable.
			newBnd = fmt.Sprintf("=_posthorn_7bit_%d_%d", depth, d.nparts)
			h = setParam(h, "boundary", newBnd)
		}
		d.writeHeader(h, fb, relabel, "")
		return d.multipart(bnd, newBnd, depth, part.Subtype == "digest")
	case part.Type == "message" && part.Subtype == "rfc822" && isIdentityCTE(part.Encoding) && !deep:
		inner := d.readHeader()
		if NeedsSMTPUTF8(parseBlock(inner)) {
			return d.leaf(h, &part, fb, append(inner, "\r\n"...), "message/global")
		}
		d.writeHeader(h, fb, relabel, "")
		return d.entity(inner, depth+1, false, false)
	}
	return d.leaf(h, &part, fb, nil, "")
}

// maxBoundary is the longest boundary RFC 2046 §5.1.1 allows.
const maxBoundary = 70

// setParam returns h with the named Content-Type parameter set to value.
func setParam(h Header, name, value string) Header {
	out := make(Header, 0, len(h))
	done := false
	for _, f := range h {
		if !done && strings.EqualFold(f.Name, "content-type") {
			head, params := parseParamField(Unfold(f.Value))
			for i := range params {
				if params[i].Name == name {
					params[i].Value = value
				}
			}
			raw := refold(f.Name, formatParamField(head, params))
			f = Field{Name: f.Name, Value: raw[len(f.Name)+1 : len(raw)-2], Raw: raw}
			done = true
		}
		out = append(out, f)
	}
	return out
}

// multipart downgrades a multipart body: preamble, parts, epilogue. When
// newBnd is not "", delimiters are written with it instead of bnd.
func (d *downgrader) multipart(bnd, newBnd string, depth int, digest bool) error {
	d.bounds = append(d.bounds, boundary{delim: []byte(bnd)})
	my := len(d.bounds) - 1
	defer func() { d.bounds = d.bounds[:my] }()
	d.copyText()
	for d.have {
		i, isClose := d.delim()
		if i != my {
			return nil // an enclosing multipart's delimiter
		}
		d.writeDelimiter(newBnd, isClose)
		if isClose {
			d.bounds = d.bounds[:my]
			d.copyText()
			return nil
		}
		if err := d.entity(d.readHeader(), depth+1, digest, false); err != nil {
			return err
		}
	}
	return nil
}

// writeDelimiter writes the current (delimiter) line with the CRLF that
// precedes it (RFC 2046 §5.1.1) and consumes it; with a new boundary, the
// line is written anew without its transport padding.
func (d *downgrader) writeDelimiter(newBnd string, isClose bool) {
	d.out.WriteString("\r\n")
	switch {
	case newBnd == "":
		d.out.Write(trimEOL(d.cur.b))
	case isClose:
		d.out.WriteString("--" + newBnd + "--")
	default:
		d.out.WriteString("--" + newBnd)
	}
	d.out.WriteString("\r\n")
	d.advance()
}

// copyText copies preamble or epilogue text up to the next delimiter; the
// line break before the delimiter is left to writeDelimiter.
func (d *downgrader) copyText() {
	pend := false
	for d.have && !d.atDelim() {
		if pend {
			d.out.WriteString("\r\n")
		}
		d.out.Write(trimEOL(d.cur.b))
		pend = d.cur.term > 0
		d.advance()
	}
	if pend && !d.have {
		d.out.WriteString("\r\n")
	}
}

// writeHeader writes a header section, rewriting what is not 7-bit clean,
// setting Content-Transfer-Encoding to cte and Content-Type to ctype when
// they are not "", and ending with the blank line.
func (d *downgrader) writeHeader(h Header, fb, cte, ctype string) {
	doneCTE, doneType := false, false
	for _, f := range h {
		switch {
		case cte != "" && strings.EqualFold(f.Name, "content-transfer-encoding"):
			if !doneCTE {
				d.out.WriteString("Content-Transfer-Encoding: " + cte + "\r\n")
			}
			doneCTE = true
		case ctype != "" && strings.EqualFold(f.Name, "content-type"):
			if !doneType {
				d.out.WriteString("Content-Type: " + ctype + "\r\n")
			}
			doneType = true
		default:
			d.out.WriteString(downgradeField(f, fb))
		}
	}
	if ctype != "" && !doneType {
		d.out.WriteString("Content-Type: " + ctype + "\r\n")
	}
	if cte != "" && !doneCTE {
		d.out.WriteString("Content-Transfer-Encoding: " + cte + "\r\n")
	}
	d.out.WriteString("\r\n")
}

// downgradeField returns a field as 7-bit text with CRLF line ends and
// lines of at most 998 octets.
func downgradeField(f Field, fb string) string {
	clean := isPrintableASCII(f.Raw) && !strings.Contains(f.Raw, "\x00")
	if clean && !hasLongLine(f.Raw) && !hasBareEOL(f.Raw) {
		if !strings.HasSuffix(f.Raw, "\n") {
			return f.Raw + "\r\n"
		}
		return f.Raw
	}
	if f.Name == "" {
		return sanitizeText(trimEOLString(f.Raw)) + "\r\n"
	}
	if clean {
		return refold(f.Name, f.Value)
	}
	switch fieldClass(f.Name) {
	case fieldAddress:
		as := ParseAddressList(Unfold(f.Value))
		for i := range as {
			if !isPrintableASCII(as[i].Addr()) || !isPrintableASCII(as[i].ADL) {
				return refold(f.Name, sanitizeText(f.Value))
			}
			as[i].Name = decodeWords(as[i].Name, fb)
			if as[i].GroupStart {
				as[i].Mailbox = decodeWords(as[i].Mailbox, fb)
			}
		}
		return refold(f.Name, FormatAddressList(as))
	case fieldParams:
		head, params := parseParamField(Unfold(f.Value))
		return refold(f.Name, formatParamField(sanitizeText(head), params))
	case fieldMsgID, fieldOpaque:
		return refold(f.Name, sanitizeText(f.Value))
	}
	// Unstructured (RFC 5322 §3.6.5 and optional fields): encoded-words.
	return FormatField(f.Name, decodeWords(Unfold(f.Value), fb))
}

func hasLongLine(s string) bool {
	for len(s) > maxSMTPLine {
		i := strings.IndexByte(s, '\n')
		if i < 0 || i > maxSMTPLine+1 {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// hasBareEOL reports whether s has a CR or LF that is not part of CRLF.
func hasBareEOL(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			if i+1 >= len(s) || s[i+1] != '\n' {
				return true
			}
			i++
		case '\n':
			return true
		}
	}
	return false
}

// refold renders name and an ASCII value as a field folded at white space.
func refold(name, value string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(":")
	foldWords(&b, Unfold(value), len(name)+1)
	b.WriteString("\r\n")
	return b.String()
}

// sanitizeText replaces octets that cannot appear in a 7-bit header by "?"
// and line breaks by spaces.
func sanitizeText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n':
			return ' '
		case r >= 0x80 || r == 0:
			return '?'
		}
		return r
	}, Unfold(s))
}

// formatParamField renders "head; name=value; ..." with RFC 2231 encoding
// (charset utf-8, continuations of at most 60 octets) for non-ASCII values.
func formatParamField(head string, params []Param) string {
	parts := []string{head}
	for _, p := range params {
		if isPrintableASCII(p.Value) && !strings.ContainsAny(p.Value, "\r\n\x00") {
			if isToken(p.Value) {
				parts = append(parts, p.Name+"="+p.Value)
			} else {
				parts = append(parts, p.Name+"="+quoteString(p.Value))
			}
			continue
		}
		enc := "utf-8''" + percentEncode(p.Value)
		if len(enc) <= 60 {
			parts = append(parts, p.Name+"*="+enc)
			continue
		}
		for i := 0; enc != ""; i++ {
			n := min(60, len(enc))
			for n < len(enc) && n > 2 && (enc[n-1] == '%' || enc[n-2] == '%') {
				n-- // do not split a %XX escape
			}
			parts = append(parts, p.Name+"*"+itoa(i)+"*="+enc[:n])
			enc = enc[n:]
		}
	}
	return strings.Join(parts, "; ")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// percentEncode encodes s for an RFC 2231 §7 extended value.
func percentEncode(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}
