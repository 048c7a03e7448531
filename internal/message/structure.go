package message

import (
	"bytes"
	"io"
	"strings"
)

// Limits that keep a hostile message from costing unbounded time or memory.
const (
	// MaxDepth is how deep multiparts and encapsulated messages nest before
	// the parser stops descending; a part at the limit is a leaf.
	MaxDepth = 20
	// MaxParts is how many parts the tree holds; later parts are skipped
	// (their octets still count in their parent's body).
	MaxParts = 10000
	// maxHeaderBlock is the most octets of one header section that are
	// parsed; the rest of it is skipped (but still measured).
	maxHeaderBlock = 1 << 20
	// maxHeaderTotal is the most header octets parsed per message.
	maxHeaderTotal = 8 << 20
)

// Part is one MIME entity (RFC 2045 §2.4) with what IMAP BODYSTRUCTURE
// reports about it (RFC 3501 §7.4.2, RFC 9051 §7.5.2) and where it lies in
// the original message.
//
// Offsets are octet positions in the message exactly as it was read.
// HeaderStart..BodyStart is the part's header section including the blank
// line that ends it (IMAP BODY[n.MIME], or BODY[HEADER] for the root);
// BodyStart..BodyEnd is its body (BODY[n], BODY[TEXT] for the root). As RFC
// 2046 §5.1.1 says, the line break before a boundary delimiter belongs to
// the delimiter, not to the body before it. For message/rfc822, the
// encapsulated message is Parts[0]: its header is BODY[n.HEADER] and its
// body BODY[n.TEXT].
//
// Size and Lines describe the body in CRLF form: Size counts a bare LF as
// two octets, Lines counts LF octets (as Dovecot does, a last line without
// a line break is not counted). For a message stored with CRLF line ends
// (which is what Posthorn stores), Size is exactly BodyEnd-BodyStart; for a
// bare-LF message the offsets still slice the original bytes, and Size is
// what those bytes measure after LF→CRLF conversion. A lone CR is an
// ordinary octet.
type Part struct {
	// Type and Subtype are the media type in lower case; text/plain when
	// Content-Type is absent or invalid (RFC 2045 §5.2), message/rfc822
	// inside multipart/digest (RFC 2046 §5.1.5).
	Type, Subtype string `json:",omitempty"`
	// Params are the Content-Type parameters in order; when Content-Type
	// is absent or invalid they are charset=us-ascii (RFC 2045 §5.2).
	Params []Param `json:",omitempty"`
	// ID, Description and MD5 are the raw, unfolded values of Content-ID,
	// Content-Description (RFC 2045 §7, §8) and Content-MD5 (RFC 1864).
	ID, Description, MD5 string `json:",omitempty"`
	// Encoding is the Content-Transfer-Encoding in lower case, "7bit" when
	// absent (RFC 2045 §6.1).
	Encoding string `json:",omitempty"`
	// Size is the body size in octets, Lines its line count (see above).
	// Lines is set only for text/* and message/rfc822 or message/global,
	// where BODYSTRUCTURE reports it.
	Size, Lines int64 `json:",omitempty"`
	// Disposition is the Content-Disposition value in lower case and
	// DispositionParams its parameters (RFC 2183).
	Disposition string `json:",omitempty"`
	// DispositionParams are the Content-Disposition parameters.
	DispositionParams []Param `json:",omitempty"`
	// Language holds the Content-Language tags (RFC 3282).
	Language []string `json:",omitempty"`
	// Location is Content-Location with white space removed (RFC 2557 §4).
	Location string `json:",omitempty"`

	// Parts are the body parts of a multipart, or the one encapsulated
	// message of a message/rfc822 or message/global part. A multipart may
	// have none (no boundary parameter, no delimiter found, too deep):
	// RFC 3501 body-type-mpart needs at least one, so renderers send an
	// empty text/plain body then, as Dovecot does.
	Parts []*Part `json:",omitempty"`
	// Envelope is set for message/rfc822 and message/global parts whose
	// encapsulated message was parsed (RFC 3501 §7.4.2). One that was not
	// (base64 or quoted-printable encoded, too deep, too many parts) has no
	// Envelope and no Parts: render it as a basic body, as Dovecot does.
	Envelope *Envelope `json:",omitempty"`

	// HeaderStart, BodyStart and BodyEnd are octet offsets in the
	// message: header section (with its blank line), then body (see above).
	HeaderStart, BodyStart, BodyEnd int64 `json:",omitempty"`
	// PreambleEnd and EpilogueStart delimit a multipart's preamble
	// (BodyStart..PreambleEnd) and epilogue (EpilogueStart..BodyEnd), RFC
	// 2046 §5.1.1. Both are zero for other parts.
	PreambleEnd, EpilogueStart int64 `json:",omitempty"`
}

// Param returns the value of the named Content-Type parameter (name in lower
// case), or "".
func (p *Part) Param(name string) string {
	return paramValue(p.Params, name)
}

// Charset returns the charset parameter in lower case, or "".
func (p *Part) Charset() string {
	return strings.ToLower(p.Param("charset"))
}

// MediaType returns "type/subtype".
func (p *Part) MediaType() string {
	return p.Type + "/" + p.Subtype
}

// IsMultipart reports whether p is a multipart (RFC 2046 §5.1).
func (p *Part) IsMultipart() bool {
	return p.Type == "multipart"
}

// IsMessage reports whether p encapsulates a parsed message (message/rfc822
// or message/global with an identity transfer encoding).
func (p *Part) IsMessage() bool {
	return p.Envelope != nil && len(p.Parts) == 1
}

// Filename returns the part's file name for display: the Content-Disposition
// filename parameter (RFC 2183 §2.3), else the Content-Type name parameter,
// with RFC 2231 and RFC 2047 encodings decoded.
func (p *Part) Filename() string {
	name := paramValue(p.DispositionParams, "filename")
	if name == "" {
		name = p.Param("name")
	}
	return DecodeHeader(name)
}

// Section returns the part that an IMAP section number (RFC 3501 §6.4.5
// FETCH BODY[1.2.3]) names, starting from the root part of a message, or
// nil if there is none. With no numbers it returns p. A number after a
// message/rfc822 part descends into the encapsulated message's body; a
// non-multipart body has only part 1, itself.
func (p *Part) Section(nums ...int) *Part {
	cur := p
	for i, n := range nums {
		if i > 0 && cur.IsMessage() {
			cur = cur.Parts[0]
		}
		if cur.IsMultipart() {
			if n < 1 || n > len(cur.Parts) {
				return nil
			}
			cur = cur.Parts[n-1]
		} else if n != 1 {
			return nil
		}
	}
	return cur
}

// Walk calls fn for p and every part below it, depth first, in order.
// Returning false from fn skips the part's children.
func (p *Part) Walk(fn func(*Part) bool) {
	if fn(p) {
		for _, c := range p.Parts {
			c.Walk(fn)
		}
	}
}

// bodySink receives the bodies of leaf parts while the tree is parsed.
type bodySink interface {
	// want returns how many octets of the part's body to collect (0: none);
	// parent is the enclosing part, nil for the root.
	want(p, parent *Part) int
	// leaf receives up to that many octets of the raw, still encoded body.
	leaf(p *Part, body []byte)
}

type boundary struct {
	delim []byte
	owner *Part
}

// cursor walks the lines of a message keeping track of the open multipart
// boundaries; Analyze and ToSevenBit share it.
type cursor struct {
	lr       *lineReader
	cur      line
	have     bool // cur holds a line; false at the end of input
	prevTerm int  // terminator length of the line before cur
	bounds   []boundary
}

func (c *cursor) start(r io.Reader) {
	c.lr = newLineReader(r)
	c.cur, c.have = c.lr.next()
}

func (c *cursor) advance() {
	c.prevTerm = c.cur.term
	c.cur, c.have = c.lr.next()
}

// here is the position of the current line, or the end of input.
func (c *cursor) here() mark {
	if c.have {
		return c.cur.start
	}
	return c.lr.pos
}

// endBefore is where a body that started at start ends when the current line
// is a delimiter: before the line break that precedes the delimiter (RFC
// 2046 §5.1.1), but never before start.
func (c *cursor) endBefore(start mark) mark {
	m := c.cur.start.before(c.prevTerm)
	if m.off < start.off {
		return start
	}
	return m
}

// delim reports whether the current line is a boundary delimiter of an open
// multipart: the index of the multipart in c.bounds (-1 if none) and whether
// it is a close-delimiter. Like Dovecot, a line only has to start with
// "--boundary" (RFC 2046 §5.1.1 "need not match the entire line"), and when
// several open boundaries match, the longest wins, the innermost on a tie:
// nested multiparts that reuse or extend a parent's boundary still work.
func (c *cursor) delim() (idx int, isClose bool) {
	b := c.cur.b
	if !c.have || !c.cur.first || len(c.bounds) == 0 || len(b) < 3 || b[0] != '-' || b[1] != '-' {
		return -1, false
	}
	rest := b[2:]
	idx = -1
	for i := len(c.bounds) - 1; i >= 0; i-- {
		d := c.bounds[i].delim
		if len(d) <= len(rest) && bytes.Equal(rest[:len(d)], d) && (idx < 0 || len(d) > len(c.bounds[idx].delim)) {
			idx = i
		}
	}
	if idx < 0 {
		return -1, false
	}
	d := c.bounds[idx].delim
	return idx, len(rest) >= len(d)+2 && rest[len(d)] == '-' && rest[len(d)+1] == '-'
}

// atDelim reports whether the current line is any open delimiter.
func (c *cursor) atDelim() bool {
	i, _ := c.delim()
	return i >= 0
}

// mimeParser builds the Part tree in one pass over the input.
type mimeParser struct {
	cursor
	parent  *Part // the multipart whose children are being parsed
	nparts  int
	hdrLeft int
	hbuf    []byte
	lbuf    []byte
	sink    bodySink
}

// parseTree reads a whole message and returns its root part, the header
// fields an envelope needs, and the end of input.
func parseTree(r io.Reader, sink bodySink) (*Part, *msgFields, mark, error) {
	p := &mimeParser{hdrLeft: maxHeaderTotal, sink: sink, nparts: 1}
	p.start(r)
	root := &Part{}
	mf, _ := p.parseEntity(root, p.here(), 0, false, true)
	for p.have { // unreachable in practice: no boundary is active at the top
		p.advance()
	}
	if p.lr.err != nil && p.lr.err != io.EOF {
		return nil, nil, mark{}, p.lr.err
	}
	return root, mf, p.lr.pos, nil
}

// parseEntity parses a header section starting at start and the body it
// describes, and returns the envelope fields when isMsg is set, and where
// the body ends.
func (p *mimeParser) parseEntity(part *Part, start mark, depth int, digest, isMsg bool) (*msgFields, mark) {
	part.HeaderStart = start.off
	block, bodyStart := p.readHeader(start)
	part.BodyStart = bodyStart.off
	var mf *msgFields
	if isMsg {
		mf = &msgFields{}
	}
	applyContentFields(part, block, digest, mf)
	var end mark
	bnd := ""
	if part.Type == "multipart" {
		bnd = part.Param("boundary")
	}
	switch {
	case bnd != "" && depth < MaxDepth:
		end = p.parseMultipart(part, bnd, depth, bodyStart)
	case isMessageType(part) && isIdentityCTE(part.Encoding) && depth < MaxDepth:
		end = p.parseEncapsulated(part, bodyStart, depth)
	default:
		end = p.parseLeaf(part, bodyStart)
		if part.IsMultipart() {
			// No boundary, or too deep: the whole body is preamble.
			part.PreambleEnd, part.EpilogueStart = end.off, end.off
		}
	}
	part.BodyEnd = end.off
	size, lines := bodyStart.sizeTo(end)
	part.Size = size
	if part.Type == "text" || isMessageType(part) {
		part.Lines = lines
	}
	return mf, end
}

func isMessageType(p *Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
}

// readHeader reads a header section: up to and including a blank line, up
// to a delimiter line (whose preceding line break then belongs to the
// delimiter), or to the end of input. It returns the octets to parse and
// where the body starts.
func (p *mimeParser) readHeader(start mark) ([]byte, mark) {
	if p.hbuf == nil {
		p.hbuf = make([]byte, 0, 2048)
	}
	p.hbuf = p.hbuf[:0]
	limit := min(maxHeaderBlock, p.hdrLeft)
	defer func() { p.hdrLeft -= len(p.hbuf) }()
	for p.have {
		if p.cur.first {
			if p.atDelim() {
				return p.hbuf, p.endBefore(start)
			}
			if isBlankLine(p.cur.b) {
				p.advance()
				return p.hbuf, p.here()
			}
		}
		if len(p.hbuf)+len(p.cur.b) <= limit {
			p.hbuf = append(p.hbuf, p.cur.b...)
		} else {
			limit = len(p.hbuf) // keep whole lines only
		}
		p.advance()
	}
	return p.hbuf, p.here()
}

// parseLeaf consumes a body up to the next delimiter of an open multipart
// or the end of input, handing it to the sink if the sink wants it.
func (p *mimeParser) parseLeaf(part *Part, bodyStart mark) mark {
	want := 0
	if part != nil && p.sink != nil {
		want = p.sink.want(part, p.parent)
	}
	if want > 0 && p.lbuf == nil {
		p.lbuf = make([]byte, 0, min(want, 8<<10))
	}
	buf := p.lbuf[:0]
	end := p.lr.pos
	for p.have {
		if p.atDelim() {
			end = p.endBefore(bodyStart)
			break
		}
		if len(buf) < want {
			buf = append(buf, p.cur.b[:min(len(p.cur.b), want-len(buf))]...)
		}
		p.advance()
	}
	if !p.have {
		end = p.lr.pos
	}
	if want > 0 {
		if n := end.off - bodyStart.off; int64(len(buf)) > n {
			buf = buf[:n]
		}
		p.sink.leaf(part, buf)
		p.lbuf = buf[:0]
	}
	return end
}

// parseMultipart parses a multipart body (RFC 2046 §5.1.1): preamble, body
// parts, epilogue.
func (p *mimeParser) parseMultipart(part *Part, bnd string, depth int, bodyStart mark) mark {
	p.bounds = append(p.bounds, boundary{delim: []byte(bnd), owner: part})
	my := len(p.bounds) - 1
	defer func() { p.bounds = p.bounds[:my] }()
	digest := part.Subtype == "digest"
	for p.have && !p.atDelim() {
		p.advance()
	}
	if !p.have {
		end := p.here()
		part.PreambleEnd, part.EpilogueStart = end.off, end.off
		return end
	}
	part.PreambleEnd = p.endBefore(bodyStart).off
	for {
		i, isClose := p.delim()
		if i != my {
			// An enclosing multipart's delimiter ends this one too. If it
			// directly follows ours, the line break between them is the
			// enclosing one's, and the empty part after ours has to move
			// back before it.
			end := p.endBefore(bodyStart)
			part.EpilogueStart = end.off
			if n := len(part.Parts); n > 0 {
				clampPart(part.Parts[n-1], end.off)
			}
			return end
		}
		if isClose {
			return p.epilogue(part, my, bodyStart)
		}
		p.advance()
		if child := p.newChild(part); child != nil {
			saved := p.parent
			p.parent = part
			p.parseEntity(child, p.here(), depth+1, digest, false)
			p.parent = saved
		} else {
			p.parseLeaf(nil, p.here())
		}
		if !p.have {
			end := p.here()
			part.EpilogueStart = end.off
			return end
		}
	}
}

// epilogue consumes a close-delimiter line and the epilogue after it.
func (p *mimeParser) epilogue(part *Part, my int, bodyStart mark) mark {
	p.bounds = p.bounds[:my]
	p.advance()
	epi := p.here()
	for p.have && !p.atDelim() {
		p.advance()
	}
	end := p.here()
	if p.have {
		end = p.endBefore(bodyStart)
	}
	if epi.off > end.off {
		epi = end
	}
	part.EpilogueStart = epi.off
	return end
}

// parseEncapsulated parses the message inside a message/rfc822 or
// message/global body (RFC 2046 §5.2.1, RFC 6532 §3.7).
func (p *mimeParser) parseEncapsulated(part *Part, bodyStart mark, depth int) mark {
	child := p.newChild(part)
	if child == nil {
		return p.parseLeaf(nil, bodyStart)
	}
	saved := p.parent
	p.parent = nil
	mf, end := p.parseEntity(child, bodyStart, depth+1, false, true)
	p.parent = saved
	part.Envelope = mf.envelope()
	return end
}

// clampPart moves the offsets of a part (and its descendants) that lie past
// end back to end. Only an empty last part, or the empty body after its
// blank line, can lie there.
func clampPart(p *Part, end int64) {
	if p.BodyEnd <= end {
		return
	}
	p.HeaderStart, p.BodyStart, p.BodyEnd = min(p.HeaderStart, end), min(p.BodyStart, end), end
	p.Size, p.Lines = 0, 0
	if p.IsMultipart() {
		p.PreambleEnd, p.EpilogueStart = end, end
	}
	for _, c := range p.Parts {
		clampPart(c, end)
	}
}

func (p *mimeParser) newChild(parent *Part) *Part {
	if p.nparts >= MaxParts {
		return nil
	}
	p.nparts++
	c := &Part{}
	parent.Parts = append(parent.Parts, c)
	return c
}

// applyContentFields sets the part's content fields from its header section
// and collects envelope fields into mf when it is not nil.
func applyContentFields(part *Part, block []byte, digest bool, mf *msgFields) {
	var seen uint8
	const (
		sType = 1 << iota
		sCTE
		sID
		sDesc
		sMD5
		sDisp
		sLang
		sLoc
	)
	first := func(bit uint8) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}
	if len(block) > 0 {
		splitFields(string(block), func(name, value, _ string) {
			if len(name) <= 8 || !strings.EqualFold(name[:8], "content-") {
				if mf != nil && name != "" {
					mf.add(name, value)
				}
				return
			}
			switch rest := name[8:]; {
			case strings.EqualFold(rest, "type") && first(sType):
				setContentType(part, value)
			case strings.EqualFold(rest, "transfer-encoding") && first(sCTE):
				part.Encoding = normalizeCTE(Unfold(value))
			case strings.EqualFold(rest, "id") && first(sID):
				part.ID = trimWSP(Unfold(value))
			case strings.EqualFold(rest, "description") && first(sDesc):
				part.Description = trimWSP(Unfold(value))
			case strings.EqualFold(rest, "md5") && first(sMD5):
				part.MD5 = trimWSP(Unfold(value))
			case strings.EqualFold(rest, "disposition") && first(sDisp):
				part.Disposition, part.DispositionParams = parseParamField(Unfold(value))
			case strings.EqualFold(rest, "language") && first(sLang):
				part.Language = parseLanguage(value)
			case strings.EqualFold(rest, "location") && first(sLoc):
				part.Location = strings.Join(strings.Fields(Unfold(value)), "")
			}
		})
	}
	if part.Type == "" {
		if digest {
			part.Type, part.Subtype = "message", "rfc822"
		} else {
			part.Type, part.Subtype = "text", "plain"
			part.Params = []Param{{Name: "charset", Value: "us-ascii"}}
		}
	}
	if part.Encoding == "" {
		part.Encoding = "7bit"
	}
}

// setContentType parses a Content-Type value (RFC 2045 §5.1); an invalid
// one leaves the part to the defaults.
func setContentType(part *Part, value string) {
	head, params := parseParamField(Unfold(value))
	typ, sub, ok := splitMediaType(head)
	if !ok {
		return
	}
	part.Type, part.Subtype, part.Params = typ, sub, params
}

// parseLanguage splits a Content-Language value into tags (RFC 3282 §2).
func parseLanguage(v string) []string {
	var tags []string
	for _, t := range strings.Split(stripComments(Unfold(v)), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}
