package imapclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits bound what one server response may cost the client. The zero
// value of a field means its default.
type Limits struct {
	// MaxLine is the most octets of one response outside its literals
	// (default 16 MiB: a SEARCH result for a very large mailbox fits).
	MaxLine int
	// MaxLiteral is the largest literal (default 256 MiB).
	MaxLiteral int64
	// MaxDepth is the deepest list nesting (default 64; BODYSTRUCTURE of
	// a message nested message.MaxDepth deep needs less).
	MaxDepth int
	// MaxValues is the most values in one response (default 4 Mi).
	MaxValues int
}

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = 16 << 20
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = 256 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxValues <= 0 {
		l.MaxValues = 4 << 20
	}
	return l
}

// ProtocolError is a response that breaks the grammar of RFC 3501 §9 or
// the Limits. The connection cannot be trusted after one.
type ProtocolError struct{ Msg string }

// Error describes what was wrong.
func (e *ProtocolError) Error() string { return "imap: protocol error: " + e.Msg }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// Response is one server response (RFC 3501 §7): a status response (tagged
// or untagged OK, NO, BAD, PREAUTH, BYE), untagged data, or a continuation
// request.
type Response struct {
	// Tag is "*" for untagged responses, "+" for a continuation request,
	// else the tag of the command this completes.
	Tag string

	// Status is OK, NO, BAD, PREAUTH or BYE (upper case) for a status
	// response, else "".
	Status string
	// Code is the response code's name in upper case ("UIDVALIDITY"),
	// "" when there is none (§7.1).
	Code string
	// CodeArgs are the code's arguments, parsed as values; nil when there
	// are none or they do not parse (CodeText keeps them raw).
	CodeArgs []Value
	// CodeText is the text after the code's name, raw.
	CodeText string
	// Text is the human-readable text of a status response, or the text
	// (often base64) of a continuation request.
	Text string

	// Num is the number of message data ("* 12 FETCH", "* 3 EXISTS").
	Num uint32
	// HasNum reports that Num was present.
	HasNum bool
	// Name is the data response's name in upper case: CAPABILITY, LIST,
	// FLAGS, SEARCH, ESEARCH, STATUS, EXISTS, EXPUNGE, FETCH, ...
	Name string
	// Fields are the values after Name.
	Fields []Value
}

// Reader reads responses from a server.
type Reader struct {
	br     *bufio.Reader
	lim    Limits
	used   int // octets outside literals in the current response
	values int // values in the current response
	depth  int
}

// NewReader returns a Reader on r with the given limits.
func NewReader(r io.Reader, lim Limits) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, lim: lim.withDefaults()}
}

// Buffered returns how many octets have been read from the connection but
// not yet parsed.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ReadResponse reads one complete response, literals included. A
// malformed one yields a *ProtocolError; a read error is returned as it is
// (io.EOF or io.ErrUnexpectedEOF when the server closed the connection).
func (r *Reader) ReadResponse() (*Response, error) {
	r.used, r.values, r.depth = 0, 0, 0
	tag, err := r.word()
	if err != nil {
		return nil, err
	}
	resp := &Response{Tag: tag}
	if tag == "" {
		return nil, protoErr("response without a tag")
	}
	if tag == "+" {
		if c, err := r.peek(); err == nil && c == ' ' {
			r.next()
		}
		resp.Text, err = r.restOfLine()
		return resp, err
	}
	if err := r.expect(' '); err != nil {
		return nil, err
	}
	first, err := r.word()
	if err != nil {
		return nil, err
	}
	if tag == "*" && first != "" && isDigits(first) {
		n, perr := strconv.ParseUint(first, 10, 32)
		if perr != nil {
			return nil, protoErr("bad message number %q", first)
		}
		resp.Num, resp.HasNum = uint32(n), true
		if err := r.expect(' '); err != nil {
			return nil, err
		}
		if first, err = r.word(); err != nil {
			return nil, err
		}
	}
	word := strings.ToUpper(first)
	switch word {
	case "OK", "NO", "BAD", "PREAUTH", "BYE":
		if resp.HasNum {
			return nil, protoErr("status response with a number")
		}
		resp.Status = word
		return resp, r.statusTail(resp)
	}
	if tag != "*" {
		return nil, protoErr("tagged response %q is not a status", word)
	}
	if word == "" {
		return nil, protoErr("empty response name")
	}
	resp.Name = word
	resp.Fields, err = r.values0(0)
	return resp, err
}

// statusTail reads the optional response code and the text of a status
// response (RFC 3501 §7.1 resp-text).
func (r *Reader) statusTail(resp *Response) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if c == '\r' || c == '\n' {
		return r.eol() // "A1 OK" without text: lenient
	}
	if err := r.expect(' '); err != nil {
		return err
	}
	if c, err = r.peek(); err != nil {
		return err
	}
	if c == '[' {
		r.next()
		raw, err := r.codeText()
		if err != nil {
			return err
		}
		name, args, _ := strings.Cut(raw, " ")
		resp.Code, resp.CodeText = strings.ToUpper(name), args
		if args != "" {
			sub := NewReader(strings.NewReader(args+"\r\n"), r.lim)
			if vs, err := sub.values0(0); err == nil {
				resp.CodeArgs = vs
			}
		}
		if c, err := r.peek(); err == nil && c == ' ' {
			r.next()
		}
	}
	resp.Text, err = r.restOfLine()
	return err
}

// codeText reads a response code up to its closing "]" (consumed), which
// cannot occur in its text except inside a quoted string (§9 resp-text-code).
func (r *Reader) codeText() (string, error) {
	var b []byte
	quoted := false
	for {
		c, err := r.next()
		if err != nil {
			return "", err
		}
		switch {
		case c == '\r' || c == '\n':
			return "", protoErr("unterminated response code")
		case quoted && c == '\\':
			b = append(b, c)
			if c, err = r.next(); err != nil {
				return "", err
			}
		case c == '"':
			quoted = !quoted
		case c == ']' && !quoted:
			return string(b), nil
		}
		b = append(b, c)
	}
}

// values0 reads values up to the end of the line (end 0) or to the ")"
// that closes a list (end ')'), consuming it.
func (r *Reader) values0(end byte) ([]Value, error) {
	var vs []Value
	for {
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		switch {
		case c == ' ':
			r.next() // one space separates values; more are tolerated
		case c == '\r' || c == '\n':
			if end != 0 {
				return nil, protoErr("line ends inside a list")
			}
			return vs, r.eol()
		case c == ')':
			if end != ')' {
				return nil, protoErr("unbalanced \")\"")
			}
			r.next()
			return vs, nil
		default:
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
	}
}

// value reads one value, starting at a byte that is not a separator.
func (r *Reader) value() (Value, error) {
	if r.values++; r.values > r.lim.MaxValues {
		return Value{}, protoErr("more than %d values in one response", r.lim.MaxValues)
	}
	c, _ := r.peek()
	switch c {
	case '(':
		r.next()
		if r.depth++; r.depth > r.lim.MaxDepth {
			return Value{}, protoErr("lists nested deeper than %d", r.lim.MaxDepth)
		}
		list, err := r.values0(')')
		r.depth--
		if list == nil {
			list = []Value{}
		}
		return Value{Kind: List, List: list}, err
	case '"':
		r.next()
		s, err := r.quoted()
		return Value{Kind: String, Str: s}, err
	case '{':
		r.next()
		s, err := r.literal()
		return Value{Kind: String, Str: s}, err
	case '~': // RFC 3516 literal8
		r.next()
		if c, err := r.next(); err != nil || c != '{' {
			return Value{}, protoErr("\"~\" not followed by a literal")
		}
		s, err := r.literal()
		return Value{Kind: String, Str: s}, err
	}
	a, err := r.atom()
	if err != nil {
		return Value{}, err
	}
	if strings.EqualFold(a, "NIL") {
		return Value{Kind: Nil}, nil
	}
	return Value{Kind: Atom, Str: a}, nil
}

// atom reads an atom. A "[" inside it opens a section that runs to the
// matching "]" and may hold spaces, parentheses and quoted strings, as in
// "BODY[HEADER.FIELDS (FROM TO)]<0>" (RFC 3501 §7.4.2 msg-att-static).
func (r *Reader) atom() (string, error) {
	var b []byte
	nest := 0
	quoted := false
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		if c == '\r' || c == '\n' {
			if nest > 0 {
				return "", protoErr("unterminated \"[\" in atom")
			}
			break
		}
		if nest == 0 && (c == ' ' || c == '(' || c == ')' || c == '"') {
			break
		}
		r.next()
		switch {
		case quoted && c == '\\':
			b = append(b, c)
			if c, err = r.next(); err != nil {
				return "", err
			}
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			nest++
		case c == ']' && nest > 0:
			nest--
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return "", protoErr("empty atom")
	}
	return string(b), nil
}

// quoted reads a quoted string after its opening quote (§4.3): "\" escapes
// the next octet; CR and LF may not appear.
func (r *Reader) quoted() (string, error) {
	var b []byte
	for {
		c, err := r.next()
		if err != nil {
			return "", err
		}
		switch c {
		case '"':
			return string(b), nil
		case '\\':
			if c, err = r.next(); err != nil {
				return "", err
			}
			if c == '\r' || c == '\n' {
				return "", protoErr("line break in a quoted string")
			}
		case '\r', '\n':
			return "", protoErr("unterminated quoted string")
		}
		b = append(b, c)
	}
}

// literal reads a literal after its "{": the octet count, "}", CRLF and
// the octets (§4.3). Memory grows with the octets received, not with the
// count announced.
func (r *Reader) literal() (string, error) {
	var digits []byte
	for {
		c, err := r.next()
		if err != nil {
			return "", err
		}
		if c == '}' {
			break
		}
		if c == '+' && len(digits) > 0 { // a client-style LITERAL+ marker: tolerate
			continue
		}
		if c < '0' || c > '9' || len(digits) >= 19 {
			return "", protoErr("bad literal length")
		}
		digits = append(digits, c)
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return "", protoErr("bad literal length")
	}
	if n > r.lim.MaxLiteral {
		return "", protoErr("literal of %d octets exceeds the limit of %d", n, r.lim.MaxLiteral)
	}
	if err := r.eol(); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	buf.Grow(int(min(n, 64<<10)))
	if _, err := io.CopyN(&buf, r.br, n); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return buf.String(), nil
}

// word reads up to a space or the end of the line, not consuming either.
func (r *Reader) word() (string, error) {
	var b []byte
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		if c == ' ' || c == '\r' || c == '\n' {
			return string(b), nil
		}
		r.next()
		b = append(b, c)
	}
}

// restOfLine reads the text to the end of the line and the line break.
func (r *Reader) restOfLine() (string, error) {
	var b []byte
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		if c == '\r' || c == '\n' {
			return string(b), r.eol()
		}
		r.next()
		b = append(b, c)
	}
}

// eol consumes a line break: CRLF, or a bare LF from a careless server.
func (r *Reader) eol() error {
	c, err := r.next()
	if err != nil {
		return err
	}
	if c == '\n' {
		return nil
	}
	if c != '\r' {
		return protoErr("expected CRLF, got %q", c)
	}
	if c, err = r.next(); err != nil {
		return err
	}
	if c != '\n' {
		return protoErr("CR not followed by LF")
	}
	return nil
}

func (r *Reader) expect(want byte) error {
	c, err := r.next()
	if err != nil {
		return err
	}
	if c != want {
		return protoErr("expected %q, got %q", want, c)
	}
	return nil
}

// next consumes one octet, counting it against MaxLine.
func (r *Reader) next() (byte, error) {
	if r.used++; r.used > r.lim.MaxLine {
		return 0, protoErr("response longer than %d octets", r.lim.MaxLine)
	}
	c, err := r.br.ReadByte()
	if err != nil && errors.Is(err, io.EOF) && r.used > 1 {
		err = io.ErrUnexpectedEOF
	}
	return c, err
}

// peek returns the next octet without consuming it. It enforces MaxLine
// too, so that a next() after a successful peek() cannot fail.
func (r *Reader) peek() (byte, error) {
	if r.used >= r.lim.MaxLine {
		return 0, protoErr("response longer than %d octets", r.lim.MaxLine)
	}
	b, err := r.br.Peek(1)
	if err != nil {
		if errors.Is(err, io.EOF) && r.used > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	return b[0], nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
