package imapd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The command parser (RFC 9051 §9 formal syntax, RFC 3501 §9 for the
// IMAP4rev1 differences). A command is one or more line segments joined by
// literals: "A1 LOGIN {5}\r\nalice {8}\r\npassword\r\n" is the segments
// "A1 LOGIN {5}", " {8}" and "" with the literals "alice" and "password".
// The parser holds one segment at a time and reads the next one after each
// literal, so a command never costs more memory than its limits allow,
// whatever the client sends.

// Limits of one command, chosen by the session state.
type limits struct {
	// line bounds the octets of a command held in memory: its line
	// segments and its in-memory literals together.
	line int
	// literalMinus limits non-synchronizing literals ({n+}) to 4096
	// octets (RFC 7888 LITERAL-, offered before authentication).
	literalMinus bool
	// discard bounds the non-synchronizing literal data the parser reads
	// and drops to stay in step after refusing a command.
	discard int64
	// depth bounds nested parentheses.
	depth int
}

// Limits used before and after authentication.
var (
	preAuthLimits = limits{line: 8 << 10, literalMinus: true, discard: 4096, depth: 8}
	authLimits    = limits{line: 256 << 10, discard: 256 << 10, depth: 32}
)

// protoError is a command the server refuses at the protocol level.
type protoError struct {
	code  string // response code without brackets, or ""
	msg   string
	no    bool // answer NO rather than BAD
	fatal bool // close the connection after answering (BYE)
}

func (e *protoError) Error() string { return e.msg }

func badf(format string, args ...any) *protoError {
	return &protoError{msg: fmt.Sprintf(format, args...)}
}

var (
	errLineTooLong = &protoError{code: "TOOBIG", msg: "Command line too long", fatal: true}
	errDepth       = &protoError{msg: "Too deeply nested parentheses"}
)

// parser reads the arguments of one command.
type parser struct {
	br   *bufio.Reader
	cont func() error // sends a continuation request ("+ Ready")
	lim  limits

	line  []byte // the current segment, without CRLF
	pos   int
	err   error
	used  int // octets held for this command
	depth int
	buf   []byte // reused segment buffer

	utf8 bool // mailbox names in UTF-8 (IMAP4rev2), else modified UTF-7
}

// start reads the first line of a command. io errors are returned as is;
// an over-long line as errLineTooLong.
func (p *parser) start() error {
	p.err, p.pos, p.used, p.depth = nil, 0, 0, 0
	line, err := p.readLine()
	if err != nil {
		return err
	}
	p.line = line
	return nil
}

// readLine reads one line segment within the command's budget.
func (p *parser) readLine() ([]byte, error) {
	buf := p.buf[:0]
	for {
		frag, err := p.br.ReadSlice('\n')
		if p.used+len(buf)+len(frag) > p.lim.line+2 {
			return nil, errLineTooLong
		}
		buf = append(buf, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, connError{err}
		}
	}
	p.buf = buf
	p.used += len(buf)
	buf = buf[:len(buf)-1]
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf = buf[:n-1]
	}
	return buf, nil
}

func (p *parser) fail(e error) {
	if p.err == nil {
		p.err = e
	}
}

func (p *parser) failf(format string, args ...any) { p.fail(badf(format, args...)) }

// ok reports whether parsing has not failed.
func (p *parser) ok() bool { return p.err == nil }

func (p *parser) atEnd() bool { return p.pos >= len(p.line) }

func (p *parser) peek() byte {
	if p.err != nil || p.pos >= len(p.line) {
		return 0
	}
	return p.line[p.pos]
}

// consume skips c if it is next.
func (p *parser) consume(c byte) bool {
	if p.peek() == c && p.err == nil && p.pos < len(p.line) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(c byte) {
	if !p.consume(c) && p.err == nil {
		p.failf("Expected %q", c)
	}
}

func (p *parser) sp() { p.expect(' ') }

// end checks that the command has no more arguments.
func (p *parser) end() {
	if p.err == nil && !p.atEnd() {
		p.failf("Unexpected text at end of command: %q", truncate(string(p.line[p.pos:]), 40))
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Character classes of RFC 9051 §9.
func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return c > 0x20 && c < 0x7f
}

func isAstringChar(c byte) bool { return isAtomChar(c) || c == ']' }

func isListChar(c byte) bool { return isAtomChar(c) || c == '%' || c == '*' || c == ']' }

// span returns the run of characters of a class at pos.
func (p *parser) span(class func(byte) bool) string {
	if p.err != nil {
		return ""
	}
	start := p.pos
	for p.pos < len(p.line) && class(p.line[p.pos]) {
		p.pos++
	}
	return string(p.line[start:p.pos])
}

// atom reads 1*ATOM-CHAR.
func (p *parser) atom() string {
	a := p.span(isAtomChar)
	if a == "" {
		p.failf("Expected an atom")
	}
	return a
}

// tag reads a command tag: 1*<ASTRING-CHAR except "+">.
func (p *parser) tag() string {
	t := p.span(func(c byte) bool { return isAstringChar(c) && c != '+' })
	if t == "" {
		p.failf("Missing tag")
	}
	return t
}

// number reads a 32-bit number.
func (p *parser) number() uint32 {
	n := p.number64()
	if n > 0xffffffff {
		p.failf("Number out of range")
		return 0
	}
	return uint32(n)
}

// number64 reads a number below 2^63 (RFC 9051 number64).
func (p *parser) number64() uint64 {
	d := p.span(func(c byte) bool { return c >= '0' && c <= '9' })
	if d == "" {
		p.failf("Expected a number")
		return 0
	}
	n, err := strconv.ParseUint(d, 10, 63)
	if err != nil {
		p.failf("Number out of range")
		return 0
	}
	return n
}

// nzNumber reads a non-zero 32-bit number.
func (p *parser) nzNumber() uint32 {
	n := p.number()
	if n == 0 && p.err == nil {
		p.failf("Expected a non-zero number")
	}
	return n
}

// quoted reads a quoted string; UTF-8 is allowed in it (RFC 9051
// utf8-quoted; IMAP4rev1 clients send 8-bit text only as literals).
func (p *parser) quoted() string {
	p.expect('"')
	if p.err != nil {
		return ""
	}
	var b strings.Builder
	for p.pos < len(p.line) {
		c := p.line[p.pos]
		p.pos++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if p.pos >= len(p.line) || (p.line[p.pos] != '"' && p.line[p.pos] != '\\') {
				p.failf("Invalid escape in quoted string")
				return ""
			}
			b.WriteByte(p.line[p.pos])
			p.pos++
		case '\r', '\n', 0:
			p.failf("Invalid character in quoted string")
			return ""
		default:
			b.WriteByte(c)
		}
	}
	p.failf("Unterminated quoted string")
	return ""
}

// literalHeader parses "{n}" or "{n+}" (or "~{...}" when binary is
// allowed, RFC 3516 literal8) that must end the current segment.
func (p *parser) literalHeader(binary bool) (n int64, sync, bin bool) {
	if binary && p.peek() == '~' {
		p.pos++
		bin = true
	}
	p.expect('{')
	v := p.number64()
	sync = !p.consume('+')
	p.expect('}')
	if p.err == nil && !p.atEnd() {
		p.failf("Literal header must end the line")
	}
	return int64(v), sync, bin
}

// acceptLiteral checks a literal's size and, for a synchronizing one,
// asks the client for it. max is the largest literal the caller takes; no
// says to refuse an over-large one with NO (APPEND, RFC 7889) not BAD.
func (p *parser) acceptLiteral(n int64, sync bool, max int64, no bool) bool {
	if p.err != nil {
		return false
	}
	switch {
	case !sync && p.lim.literalMinus && n > 4096:
		// RFC 7888 §5: before login we offer LITERAL-, so a larger
		// non-synchronizing literal is refused; its data follows anyway and
		// we cannot find the next command, so the session ends.
		p.fail(&protoError{code: "TOOBIG", msg: "Non-synchronizing literal over 4096 octets (LITERAL-)", fatal: true})
		return false
	case !sync && n > max:
		p.fail(&protoError{code: "TOOBIG", msg: "Literal too large", no: no, fatal: true})
		return false
	case n > max:
		// No continuation was sent, so the client sends no data.
		p.fail(&protoError{code: "TOOBIG", msg: "Literal too large", no: no})
		return false
	}
	if sync {
		if err := p.cont(); err != nil {
			p.fail(connError{err})
			return false
		}
	}
	return true
}

// literal reads a literal into memory, within the command's budget.
func (p *parser) literal(binary bool) []byte {
	n, sync, _ := p.literalHeader(binary)
	max := int64(p.lim.line - p.used)
	if !p.acceptLiteral(n, sync, max, false) {
		return nil
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(p.br, data); err != nil {
		p.fail(connError{err})
		return nil
	}
	p.used += int(n)
	p.nextSegment()
	return data
}

// nextSegment reads the line that follows a literal.
func (p *parser) nextSegment() {
	line, err := p.readLine()
	if err != nil {
		p.fail(err)
		return
	}
	p.line, p.pos = line, 0
}

// str reads a string: quoted or literal.
func (p *parser) str() string {
	switch p.peek() {
	case '"':
		return p.quoted()
	case '{':
		return string(p.literal(false))
	}
	p.failf("Expected a string")
	return ""
}

// astring reads an atom (with "]"), a quoted string or a literal.
func (p *parser) astring() string {
	switch p.peek() {
	case '"', '{':
		return p.str()
	}
	a := p.span(isAstringChar)
	if a == "" {
		p.failf("Expected an astring")
	}
	return a
}

// nstring reads NIL or a string.
func (p *parser) nstring() (string, bool) {
	if c := p.peek(); c == 'N' || c == 'n' {
		if a := p.atom(); !strings.EqualFold(a, "NIL") {
			p.failf("Expected NIL or a string")
		}
		return "", false
	}
	return p.str(), true
}

// listMailbox reads a LIST pattern: 1*list-char or a string.
func (p *parser) listMailbox() string {
	switch p.peek() {
	case '"', '{':
		return p.str()
	}
	a := p.span(isListChar)
	if a == "" {
		p.failf("Expected a mailbox pattern")
	}
	return a
}

// list parses "(" item *(SP item) ")" calling item for each element; an
// empty list "()" is allowed when empty is set.
func (p *parser) list(empty bool, item func()) {
	p.expect('(')
	p.depth++
	if p.depth > p.lim.depth {
		p.fail(errDepth)
	}
	if !(empty && p.peek() == ')') {
		for p.err == nil {
			item()
			if !p.consume(' ') {
				break
			}
		}
	}
	p.expect(')')
	p.depth--
}

// discard skips what is left of a refused command so that the next one
// is read in step: the rest of the line, and the data of any
// non-synchronizing literals that follow (a synchronizing literal is not
// sent, since we answer without a continuation).
func (p *parser) discard() error {
	for {
		rest := p.line[min(p.pos, len(p.line)):]
		n, sync, ok := trailingLiteral(rest)
		if !ok || sync {
			return nil
		}
		if n > p.lim.discard {
			return errLineTooLong
		}
		if _, err := io.CopyN(io.Discard, p.br, n); err != nil {
			return connError{err}
		}
		line, err := p.readLine()
		if err != nil {
			return err
		}
		p.line, p.pos = line, 0
	}
}

// trailingLiteral recognises a literal header at the end of a line.
func trailingLiteral(b []byte) (n int64, sync, ok bool) {
	if len(b) < 3 || b[len(b)-1] != '}' {
		return 0, false, false
	}
	i := len(b) - 2
	sync = true
	if b[i] == '+' {
		sync = false
		i--
	}
	end := i + 1
	for i >= 0 && b[i] >= '0' && b[i] <= '9' {
		i--
	}
	if i < 0 || b[i] != '{' || i+1 == end {
		return 0, false, false
	}
	v, err := strconv.ParseInt(string(b[i+1:end]), 10, 64)
	if err != nil {
		return 0, false, false
	}
	return v, sync, true
}

// connError is a failure to read from or write to the client: the
// session ends without an answer.
type connError struct{ err error }

func (e connError) Error() string { return "connection: " + e.err.Error() }
func (e connError) Unwrap() error { return e.err }

// isConnError reports whether err ends the connection rather than the
// command.
func isConnError(err error) bool {
	var ce connError
	return errors.As(err, &ce)
}
