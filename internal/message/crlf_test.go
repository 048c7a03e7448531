package message

import (
	"io"
	"strings"
	"testing"
)

func TestCRLFReader(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb":       "a\r\nb",
		"a\rb":       "a\r\nb",
		"a\r\nb":     "a\r\nb",
		"a\r\r\n":    "a\r\n\r\n",
		"\n\n":       "\r\n\r\n",
		"end\r":      "end\r\n",
		"x\r\n.\r.y": "x\r\n.\r\n.y",
	} {
		got, _ := io.ReadAll(NewCRLFReader(strings.NewReader(in)))
		if string(got) != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// TestCRLFReaderChunks feeds the reader one octet at a time, so every
// state crosses a chunk boundary.
func TestCRLFReaderChunks(t *testing.T) {
	in := "a\r\nb\rc\nd\r\r\n\n.\r"
	want := "a\r\nb\r\nc\r\nd\r\n\r\n\r\n.\r\n"
	got, _ := io.ReadAll(NewCRLFReader(iotestOneByte{strings.NewReader(in)}))
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// TestCRLFReaderPooled: a finished reader gives its buffers back; reading
// it again returns its error, and the next reader's output is its own.
func TestCRLFReaderPooled(t *testing.T) {
	a := NewCRLFReader(strings.NewReader("one\ntwo\r"))
	if got, err := io.ReadAll(a); err != nil || string(got) != "one\r\ntwo\r\n" {
		t.Fatalf("first reader: %q, %v", got, err)
	}
	b := NewCRLFReader(strings.NewReader("three\rfour"))
	if got, err := io.ReadAll(b); err != nil || string(got) != "three\r\nfour" {
		t.Fatalf("second reader: %q, %v", got, err)
	}
	if n, err := a.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("finished reader read again: %d, %v", n, err)
	}
}
