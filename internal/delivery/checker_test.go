package delivery

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// refCheck is the obvious byte-by-byte statement of what checker
// enforces, for comparison.
func refCheck(b []byte, max int64) error {
	if int64(len(b)) > max {
		return ErrTooBig
	}
	for i, c := range b {
		switch {
		case c == 0:
			return ErrNUL
		case c == '\r' && (i+1 == len(b) || b[i+1] != '\n'):
			return ErrBareLineEnding
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			return ErrBareLineEnding
		}
	}
	return nil
}

// runChecker feeds b to a checker in the given chunk sizes.
func runChecker(b []byte, max int64, chunk int) error {
	c := &checker{max: max}
	for len(b) > 0 {
		n := min(chunk, len(b))
		if err := c.check(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return c.end()
}

func TestChecker(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", nil},
		{"a\r\nb\r\n", nil},
		{"\r\n\r\n", nil},
		{"a\nb", ErrBareLineEnding},
		{"a\rb", ErrBareLineEnding},
		{"a\r", ErrBareLineEnding},
		{"\n", ErrBareLineEnding},
		{"a\r\r\n", ErrBareLineEnding},
		{"a\r\n\n", ErrBareLineEnding},
		{"a\x00b\r\n", ErrNUL},
		{"\r\n.\r\n", nil},
		{"\n.\n", ErrBareLineEnding},
		{"x\r\n\x00.\r\n", ErrNUL},
		{strings.Repeat("y", 64), nil},
		{strings.Repeat("y", 65), ErrTooBig},
	}
	for _, tt := range tests {
		for chunk := 1; chunk <= len(tt.in)+1; chunk++ {
			if got := runChecker([]byte(tt.in), 64, chunk); !errors.Is(got, tt.want) {
				t.Errorf("%q in chunks of %d: %v, want %v", tt.in, chunk, got, tt.want)
			}
		}
	}
}

func TestCheckerCopy(t *testing.T) {
	in := strings.Repeat("line of text\r\n", 10000)
	var out bytes.Buffer
	c := &checker{max: 1 << 20}
	n, err := c.copy(&out, io.MultiReader(strings.NewReader(in[:7]), strings.NewReader(in[7:])), make([]byte, 100))
	if err != nil || n != int64(len(in)) || out.String() != in || c.n != int64(len(in)) {
		t.Fatalf("copy: %d, %v", n, err)
	}
	c = &checker{max: 1 << 20}
	_, err = c.copy(io.Discard, strings.NewReader(in+"bare\n"), make([]byte, 4096))
	if !errors.Is(err, ErrBareLineEnding) {
		t.Fatalf("copy with a bare LF: %v", err)
	}
}

// FuzzChecker checks that the streaming checker agrees with refCheck for
// any input and any chunking (the CR of a CRLF may end one read and its
// LF start the next).
func FuzzChecker(f *testing.F) {
	f.Add([]byte("a\r\nb\r\n"), uint8(1))
	f.Add([]byte("a\r"), uint8(2))
	f.Add([]byte("\n.\n"), uint8(3))
	f.Add([]byte("x\r\n\x00.\r\n"), uint8(4))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		want := refCheck(b, 200)
		got := runChecker(b, 200, int(chunk)+1)
		// The reference sees the whole input before the size; the stream
		// may meet a bad octet first. Both must refuse, or both accept.
		if (want == nil) != (got == nil) {
			t.Fatalf("%q in chunks of %d: %v, reference %v", b, int(chunk)+1, got, want)
		}
		if want != nil && int64(len(b)) <= 200 && !errors.Is(got, want) {
			t.Fatalf("%q in chunks of %d: %v, reference %v", b, int(chunk)+1, got, want)
		}
	})
}

func TestReturnPath(t *testing.T) {
	tests := []struct{ from, want string }{
		{"", "Return-Path: <>\r\n"},
		{"x@remote.test", "Return-Path: <x@remote.test>\r\n"},
		{"jörg@bücher.test", "Return-Path: <jörg@bücher.test>\r\n"},
		{"john doe@remote.test", "Return-Path: <\"john doe\"@remote.test>\r\n"},
		{`a"b\c@remote.test`, `Return-Path: <"a\"b\\c"@remote.test>` + "\r\n"},
		{"a..b@remote.test", "Return-Path: <\"a..b\"@remote.test>\r\n"},
		{"evil\r\nBcc: x@y@remote.test", "Return-Path: <\"evilBcc: x@y\"@remote.test>\r\n"},
	}
	for _, tt := range tests {
		if got := string(returnPath(tt.from)); got != tt.want {
			t.Errorf("returnPath(%q) = %q, want %q", tt.from, got, tt.want)
		}
	}
}
