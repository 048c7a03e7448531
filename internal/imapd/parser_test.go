package imapd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// newTestParser parses input with the given limits; continuation
// requests are counted.
func newTestParser(input string, lim limits) (*parser, *int) {
	conts := 0
	p := &parser{br: bufio.NewReaderSize(strings.NewReader(input), 64), lim: lim,
		cont: func() error { conts++; return nil }}
	return p, &conts
}

func TestParserTokens(t *testing.T) {
	p, conts := newTestParser("A1 LOGIN {5}\r\nalice \"pass \\\"word\\\\\"\r\n", authLimits)
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	tag := p.tag()
	p.sp()
	cmd := p.atom()
	p.sp()
	user := p.astring()
	p.sp()
	pass := p.astring()
	p.end()
	if !p.ok() || tag != "A1" || cmd != "LOGIN" || user != "alice" || pass != `pass "word\` {
		t.Fatalf("got %q %q %q %q err %v", tag, cmd, user, pass, p.err)
	}
	if *conts != 1 {
		t.Errorf("continuations = %d, want 1 for a synchronizing literal", *conts)
	}
}

func TestParserLiteralPlus(t *testing.T) {
	p, conts := newTestParser("A1 X {3+}\r\nabc {0}\r\n\r\n", authLimits)
	p.start()
	p.tag()
	p.sp()
	p.atom()
	p.sp()
	a := p.astring()
	p.sp()
	b := p.astring()
	p.end()
	if !p.ok() || a != "abc" || b != "" || *conts != 1 {
		t.Fatalf("a=%q b=%q conts=%d err=%v", a, b, *conts, p.err)
	}
}

func TestParserLiteralMinusBeforeLogin(t *testing.T) {
	p, _ := newTestParser("A1 LOGIN {5000+}\r\n"+strings.Repeat("x", 5000)+"\r\n", preAuthLimits)
	p.start()
	p.tag()
	p.sp()
	p.atom()
	p.sp()
	p.astring()
	var pe *protoError
	if !errors.As(p.err, &pe) || pe.code != "TOOBIG" || !pe.fatal {
		t.Fatalf("err = %v, want fatal TOOBIG", p.err)
	}
}

func TestParserHugeLiteralRefused(t *testing.T) {
	// A synchronizing literal over the limit is refused before the client
	// sends it: no continuation, no allocation.
	p, conts := newTestParser("A1 LOGIN {4294967295}\r\n", authLimits)
	p.start()
	p.tag()
	p.sp()
	p.atom()
	p.sp()
	p.astring()
	var pe *protoError
	if !errors.As(p.err, &pe) || pe.code != "TOOBIG" || pe.fatal || *conts != 0 {
		t.Fatalf("err = %v conts = %d", p.err, *conts)
	}
	if err := p.discard(); err != nil {
		t.Fatalf("discard: %v", err)
	}
}

func TestParserLineTooLong(t *testing.T) {
	p, _ := newTestParser("A1 NOOP "+strings.Repeat("x", preAuthLimits.line+10)+"\r\n", preAuthLimits)
	if err := p.start(); !errors.Is(err, errLineTooLong) {
		t.Fatalf("err = %v", err)
	}
}

func TestParserDepth(t *testing.T) {
	p, _ := newTestParser("A1 X "+strings.Repeat("(", 100)+strings.Repeat(")", 100)+"\r\n", authLimits)
	p.start()
	p.tag()
	p.sp()
	p.atom()
	p.sp()
	var item func()
	item = func() {
		if p.peek() == '(' {
			p.list(true, item)
		}
	}
	item()
	if !errors.Is(p.err, errDepth) {
		t.Fatalf("err = %v, want errDepth", p.err)
	}
}

func TestParserQuotedErrors(t *testing.T) {
	for _, in := range []string{`"abc`, `"a\b"`, "\"a\x00b\""} {
		p, _ := newTestParser("A1 X "+in+"\r\n", authLimits)
		p.start()
		p.tag()
		p.sp()
		p.atom()
		p.sp()
		p.astring()
		if p.ok() {
			t.Errorf("%q parsed", in)
		}
	}
}

func TestParserNumbers(t *testing.T) {
	p, _ := newTestParser("4294967295 4294967296 9223372036854775807 0\r\n", authLimits)
	p.start()
	if n := p.number(); n != 4294967295 || !p.ok() {
		t.Fatalf("%d %v", n, p.err)
	}
	p.sp()
	if p.number(); p.ok() {
		t.Error("2^32 accepted as number")
	}
	p.err = nil
	p.sp()
	if n := p.number64(); n != 9223372036854775807 || !p.ok() {
		t.Errorf("%d %v", n, p.err)
	}
	p.sp()
	if p.nzNumber(); p.ok() {
		t.Error("0 accepted as nz-number")
	}
}

func TestParserDiscard(t *testing.T) {
	// A refused command with non-synchronizing literals: the parser skips
	// them and the next command is read in step.
	p, _ := newTestParser("A1 BOGUS {3+}\r\nabc {2+}\r\nxy\r\nA2 NOOP\r\n", authLimits)
	p.start()
	p.tag()
	p.sp()
	p.atom()
	p.failf("refused")
	if err := p.discard(); err != nil {
		t.Fatal(err)
	}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	if tag := p.tag(); tag != "A2" {
		t.Fatalf("next command tag %q", tag)
	}
}

func TestTrailingLiteral(t *testing.T) {
	for in, want := range map[string]struct {
		n        int64
		sync, ok bool
	}{
		"A {12}": {12, true, true}, "A {0+}": {0, false, true}, "A {}": {}, "A 12}": {}, "{x}": {}, "{99999999999999999999}": {},
	} {
		n, sync, ok := trailingLiteral([]byte(in))
		if n != want.n || sync != want.sync || ok != want.ok {
			t.Errorf("%q: %d %v %v", in, n, sync, ok)
		}
	}
}

func TestParserEOF(t *testing.T) {
	p, _ := newTestParser("A1 NOOP", authLimits)
	err := p.start()
	if !isConnError(err) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParser feeds arbitrary bytes to the command parser the way the
// session does (tag, name, then the arguments of a few commands) and
// checks that it neither panics nor holds more than its budget.
func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"A1 LOGIN alice password\r\n", "A1 LOGIN {5}\r\nalice {8+}\r\npassword\r\n", "a FETCH 1:*,3 (BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> FLAGS)\r\n",
		"a SEARCH OR (FROM \"x\" UNSEEN) NOT 1:3 SINCE 1-Jan-2020\r\n", "a STORE 1 +FLAGS.SILENT (\\Seen $Junk)\r\n",
		"a APPEND INBOX (\\Seen) \" 1-Jan-2020 00:00:00 +0000\" {3+}\r\nabc\r\n", "a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (STATUS (MESSAGES))\r\n",
		"a SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:4)))\r\n", "{4294967295}\r\n", strings.Repeat("(", 50),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &parser{br: bufio.NewReaderSize(bytes.NewReader(data), 64), lim: authLimits, cont: func() error { return nil }}
		for i := 0; i < 4; i++ {
			if err := p.start(); err != nil {
				return
			}
			p.tag()
			p.sp()
			p.atom()
			if p.consume(' ') {
				switch i % 4 {
				case 0:
					p.numSet()
					p.sp()
					(&fetchReq{}).parseItems(p)
				case 1:
					p.flags(p.peek() == '(')
				case 2:
					p.astring()
					p.sp()
					p.listMailbox()
				default:
					p.qresyncParams()
				}
			}
			if p.used > p.lim.line+2 {
				t.Fatalf("parser holds %d octets, budget %d", p.used, p.lim.line)
			}
			if p.discard() != nil {
				return
			}
		}
	})
}
