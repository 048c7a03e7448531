package imapd

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strconv"
	"strings"

	"posthorn/internal/mailbox"
	"posthorn/internal/message"
)

// Body sections (RFC 9051 §6.4.5 BODY[<section>]<<partial>>, RFC 3516
// BINARY[<section-binary>]): where in the stored message each one lies,
// from the offsets message.Analyze recorded at delivery.

// section is a parsed body section request.
type section struct {
	name       string // RFC822, RFC822.HEADER or RFC822.TEXT; "" for BODY/BINARY
	peek       bool   // do not set \Seen
	binary     bool   // BINARY: undo the content transfer encoding
	sizeOnly   bool   // BINARY.SIZE
	part       []int  // section-part numbers
	text       string // "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
	fields     []string
	fieldNames []string // as the client wrote them, for the response
	partial    bool
	start      uint64
	count      uint64
}

// maxSectionParts bounds the numbers of a section-part.
const maxSectionParts = 64

// section parses "[" section "]" ["<" start "." count ">"] after the item
// name (BODY, BODY.PEEK, BINARY, BINARY.PEEK, BINARY.SIZE).
func (p *parser) section(name string) section {
	sec := section{peek: strings.HasSuffix(name, ".PEEK"), binary: strings.HasPrefix(name, "BINARY"), sizeOnly: name == "BINARY.SIZE"}
	if sec.sizeOnly {
		sec.peek = true
	}
	p.expect('[')
	for p.ok() && p.peek() >= '1' && p.peek() <= '9' {
		sec.part = append(sec.part, int(p.nzNumber()))
		if len(sec.part) > maxSectionParts {
			p.failf("Section too deep")
		}
		if !p.consume('.') {
			break
		}
		if c := p.peek(); c < '0' || c > '9' {
			p.sectionText(&sec)
			break
		}
	}
	if len(sec.part) == 0 && p.peek() != ']' {
		p.sectionText(&sec)
	}
	p.expect(']')
	if sec.binary && sec.text != "" {
		p.failf("BINARY takes part numbers only")
	}
	if !sec.sizeOnly && p.consume('<') {
		sec.partial = true
		sec.start = p.number64()
		p.expect('.')
		sec.count = p.number64()
		if sec.count == 0 {
			p.failf("Partial length must not be zero")
		}
		p.expect('>')
	}
	return sec
}

func (p *parser) sectionText(sec *section) {
	t := strings.ToUpper(p.span(func(c byte) bool { return c == '.' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }))
	switch t {
	case "HEADER", "TEXT":
	case "MIME":
		if len(sec.part) == 0 {
			p.failf("MIME needs a part number")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		p.sp()
		p.list(false, func() {
			f := p.astring()
			sec.fieldNames = append(sec.fieldNames, f)
			sec.fields = append(sec.fields, f)
			if len(sec.fields) > 200 {
				p.failf("Too many header fields")
			}
		})
	default:
		p.failf("Unknown section text %q", truncate(t, 30))
	}
	sec.text = t
}

// region is where a section's octets come from: a span of the stored
// message, or bytes computed for it (filtered header, decoded body).
type region struct {
	nil      bool // the part does not exist: NIL
	off, n   int64
	data     []byte
	computed bool
}

// locate finds a section in a message.
func locate(sec section, meta *message.Meta, size int64) region {
	root := meta.Structure
	if root == nil {
		return region{off: 0, n: size}
	}
	part := root
	if len(sec.part) > 0 {
		if part = root.Section(sec.part...); part == nil {
			return region{nil: true}
		}
	}
	span := func(a, b int64) region {
		a, b = min(max(a, 0), size), min(max(b, 0), size)
		return region{off: a, n: max(b-a, 0)}
	}
	switch sec.text {
	case "":
		if len(sec.part) == 0 {
			return region{off: 0, n: size}
		}
		return span(part.BodyStart, part.BodyEnd)
	case "MIME":
		return span(part.HeaderStart, part.BodyStart)
	}
	msg := part
	if len(sec.part) > 0 {
		if !part.IsMessage() {
			return region{computed: true} // HEADER/TEXT of a non-message part: empty
		}
		msg = part.Parts[0]
	}
	if sec.text == "TEXT" {
		return span(msg.BodyStart, msg.BodyEnd)
	}
	return span(msg.HeaderStart, msg.BodyStart) // HEADER, HEADER.FIELDS[.NOT]
}

// filterHeader keeps (or, with not, drops) the named fields of a header
// section, in order and byte for byte, and ends it with the blank line
// (RFC 9051 §6.4.5 HEADER.FIELDS).
func filterHeader(hdr []byte, names []string, not bool) []byte {
	h, _ := message.ParseHeader(hdr)
	var out bytes.Buffer
	for _, f := range h {
		listed := false
		for _, n := range names {
			if f.Name != "" && strings.EqualFold(f.Name, n) {
				listed = true
				break
			}
		}
		if listed != not && (f.Name != "" || not) {
			out.WriteString(f.Raw)
			if !strings.HasSuffix(f.Raw, "\n") {
				out.WriteString("\r\n")
			}
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// decodeCTE undoes a content transfer encoding (RFC 2045 §6) for BINARY;
// ok is false for an encoding we do not know (RFC 3516 UNKNOWN-CTE).
func decodeCTE(enc string, body []byte) ([]byte, bool) {
	switch strings.ToLower(enc) {
	case "", "7bit", "8bit", "binary":
		return body, true
	case "base64":
		clean := make([]byte, 0, len(body))
		for _, c := range body {
			if c == '+' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') {
				clean = append(clean, c)
			}
		}
		if len(clean)%4 == 1 { // a stray octet cannot encode anything
			clean = clean[:len(clean)-1]
		}
		out, err := base64.RawStdEncoding.DecodeString(string(clean))
		if err != nil {
			return nil, true
		}
		return out, true
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		return out, true
	}
	return nil, false
}

// binaryOK reports whether a BINARY item can be answered (the part's
// encoding is known); checked before any output for the message.
func binaryOK(sec section, meta *message.Meta) bool {
	if !sec.binary || len(sec.part) == 0 || meta.Structure == nil {
		return true
	}
	p := meta.Structure.Section(sec.part...)
	if p == nil || p.IsMultipart() {
		return true
	}
	_, ok := decodeCTE(p.Encoding, nil)
	return ok
}

// writeSection writes one body section item: its name, then its octets as
// a literal (streamed from the store when they are a plain span).
func (f *fetcher) writeSection(sec section, meta *message.Meta, c *mailbox.Content) error {
	s := f.s
	r := &s.r
	reg := locate(sec, meta, c.Size())
	if !reg.nil && (sec.fields != nil || sec.binary && len(sec.part) > 0) {
		raw := make([]byte, reg.n)
		if _, err := c.ReadAt(raw, reg.off); err != nil && err != io.EOF {
			return err
		}
		switch {
		case sec.fields != nil:
			reg.data = filterHeader(raw, sec.fields, sec.text == "HEADER.FIELDS.NOT")
		default:
			p := meta.Structure.Section(sec.part...)
			if !p.IsMultipart() {
				raw, _ = decodeCTE(p.Encoding, raw)
			}
			reg.data = raw
		}
		reg.computed = true
	}
	r.raw(sec.responseName()).sp()
	if reg.nil {
		r.raw("NIL")
		return nil
	}
	if reg.computed {
		reg.n = int64(len(reg.data))
	}
	if sec.sizeOnly {
		r.num(uint64(reg.n))
		return nil
	}
	off, n := reg.off, reg.n
	var data []byte = reg.data
	if sec.partial {
		start := min(int64(min(sec.start, uint64(n))), n)
		n = min(n-start, int64(min(sec.count, uint64(1)<<62)))
		off += start
		if data != nil {
			data = data[start : start+n]
		}
	}
	literal8 := false
	if sec.binary {
		if data == nil {
			data = make([]byte, n)
			if _, err := c.ReadAt(data, off); err != nil && err != io.EOF {
				return err
			}
		}
		literal8 = bytes.IndexByte(data, 0) >= 0
	}
	if literal8 {
		r.byte('~')
	}
	r.byte('{').b = strconv.AppendInt(r.b, n, 10)
	r.raw("}\r\n")
	if reg.computed || data != nil {
		r.b = append(r.b, data...)
		return nil
	}
	// A span of the stored message: stream it rather than hold it.
	s.write(r.b)
	r.reset()
	_, err := io.Copy(s.bw, io.NewSectionReader(c, off, n))
	return err
}
