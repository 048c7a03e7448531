package message

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzSeeds adds the corpus messages (the larger ones cut to their first
// 16 KiB, so the fuzzer stays fast) to f.
func fuzzSeeds(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.data[:min(len(c.data), 16<<10)])
	}
}

func FuzzAnalyze(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(nestedMsg))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		m, err := Analyze(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Analyze took %v", d)
		}
		nparts, depth := 0, 0
		var walk func(p *Part, d int)
		walk = func(p *Part, d int) {
			nparts++
			depth = max(depth, d)
			if !(p.HeaderStart <= p.BodyStart && p.BodyStart <= p.BodyEnd && p.BodyEnd <= int64(len(data))) {
				t.Fatalf("bad offsets %d %d %d", p.HeaderStart, p.BodyStart, p.BodyEnd)
			}
			for _, c := range p.Parts {
				if c.HeaderStart < p.BodyStart || c.BodyEnd > p.BodyEnd {
					t.Fatalf("child outside parent")
				}
				walk(c, d+1)
			}
		}
		walk(m.Structure, 0)
		if nparts > MaxParts || depth > MaxDepth+1 || len(m.Text) > MaxText {
			t.Fatalf("caps: %d parts, depth %d, %d octets of text", nparts, depth, len(m.Text))
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.From) || !utf8.ValidString(m.Preview) {
			t.Fatal("invalid UTF-8 in decoded fields")
		}
		back, err := UnmarshalMeta(m.Marshal())
		if err != nil {
			t.Fatalf("UnmarshalMeta: %v", err)
		}
		if back.Subject != m.Subject || back.BaseSubject != m.BaseSubject || back.From != m.From || back.Size != m.Size {
			t.Fatal("Marshal round trip lost fields")
		}
	})
}

func FuzzToSevenBit(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte("Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		err := ToSevenBit(&out, bytes.NewReader(data))
		if errors.Is(err, ErrNeedsSMTPUTF8) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		b := out.Bytes()
		if Is8Bit(b) || bytes.IndexByte(b, 0) >= 0 {
			t.Fatal("8-bit output")
		}
		for _, ln := range bytes.Split(b, []byte("\r\n")) {
			if len(ln) > maxSMTPLine || bytes.IndexAny(ln, "\r\n") >= 0 {
				t.Fatalf("bad line %.80q", ln)
			}
		}
		if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n")) {
			t.Fatal("no final CRLF")
		}
		if need, _ := NeedsDowngrade(bytes.NewReader(b)); need {
			t.Fatal("output needs a downgrade")
		}
		if _, err := Analyze(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"John Doe <jdoe@machine.example>, \"Q\\\"uote\" <a@b>, group: c@d, e@f;",
		"=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?= (=?utf-8?B?w6k=?=)",
		"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
		"Thu,\r\n 13 Feb 1969 23:32 -0330 (Newfoundland Time)",
		"text/plain; charset*0*=us-ascii'en'a%20; charset*1=b; name=\"x\\\"y\"",
		"Re: [list] Fwd: Grüße (fwd)",
		"<a@b> <c@d>, (x) <e@f",
		"Subject: x\r\n y\r\nbad line\r\n\r\n",
	} {
		f.Add(s)
	}
	for _, c := range loadCorpus(f) {
		h, _ := ParseHeader(c.data)
		for _, fl := range h {
			if len(fl.Value) < 2000 {
				f.Add(fl.Value)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, off := ParseHeader([]byte(s))
		n := 0
		for _, fl := range h {
			n += len(fl.Raw)
		}
		if n > off {
			t.Fatalf("fields cover %d octets of a %d-octet header", n, off)
		}
		for _, v := range []string{DecodeHeader(s), BaseSubject(DecodeHeader(s)), DisplayList(ParseAddressList(s))} {
			if !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 %q", v)
			}
		}
		as := ParseAddressList(Unfold(s))
		if wire := FormatAddressList(as); !isPrintableASCII(wire) && isPrintableASCII(s) {
			t.Fatalf("FormatAddressList made non-ASCII %q", wire)
		}
		ParseDate(s)
		ParseMsgIDList(s)
		parseParamField(s)
		if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == utf8.RuneError }) {
			enc := EncodeWord(s)
			if !isPrintableASCII(enc) {
				t.Fatalf("EncodeWord(%q) = %q not ASCII", s, enc)
			}
			if got, want := DecodeHeader(Unfold(enc)), strings.Join(strings.Fields(s), " "); got != want && !looksEncoded(s) {
				t.Fatalf("EncodeWord round trip %q -> %q -> %q", s, enc, got)
			}
		}
	})
}

func FuzzUnmarshalMeta(f *testing.F) {
	f.Add(mustAnalyze(f, nestedMsg).Marshal())
	f.Add((&Meta{}).Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := UnmarshalMeta(data)
		if err == nil {
			if m.Structure == nil || m.Envelope == nil {
				t.Fatal("nil Structure or Envelope without error")
			}
			m.Marshal()
		}
	})
}
