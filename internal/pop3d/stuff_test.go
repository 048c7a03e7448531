package pop3d

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// refStuff is the obvious, slow statement of what stuffer does: turn every
// line end (CRLF, bare LF, bare CR) into CRLF, end the last line, and put a
// "." before every line that begins with one.
func refStuff(in string) []string {
	if in == "" {
		return nil
	}
	s := strings.ReplaceAll(in, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") {
			lines[i] = "." + l
		}
	}
	return lines
}

func joinCRLF(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// refTop keeps the header, the empty line and n body lines of stuffed lines.
func refTop(lines []string, n int) []string {
	for i, l := range lines {
		if l == "" {
			return lines[:min(len(lines), i+1+n)]
		}
	}
	return lines
}

// stuffChunks runs stuffer over in, written in pieces of the given sizes
// (cycled), optionally through a topLimiter.
func stuffChunks(in []byte, sizes []int, top int) (string, error) {
	var out bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
	} = &out
	if top >= 0 {
		w = &topLimiter{w: &out, left: top}
	}
	st := newStuffer(w)
	for k := 0; len(in) > 0; k++ {
		n := len(in)
		if len(sizes) > 0 {
			n = min(max(sizes[k%len(sizes)], 1), len(in))
		}
		if _, err := st.Write(in[:n]); err != nil {
			if errors.Is(err, errTopDone) {
				return out.String(), nil
			}
			return "", err
		}
		in = in[n:]
	}
	if err := st.Close(); err != nil && !errors.Is(err, errTopDone) {
		return "", err
	}
	return out.String(), nil
}

func TestStuffer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a", "a\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{".\r\n", "..\r\n"},
		{"..x\r\n.", "...x\r\n..\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\rb\r", "a\r\nb\r\n"},
		{"a\r\r\nb", "a\r\n\r\nb\r\n"},
		{"\n\n.\n", "\r\n\r\n..\r\n"},
		{"x.y\r\n .z", "x.y\r\n .z\r\n"},
	} {
		for _, sizes := range [][]int{nil, {1}, {2}, {3, 1}} {
			got, err := stuffChunks([]byte(tc.in), sizes, -1)
			if err != nil || got != tc.want {
				t.Errorf("stuff(%q) in pieces %v = %q, %v; want %q", tc.in, sizes, got, err, tc.want)
			}
		}
	}
}

func TestTopLimiter(t *testing.T) {
	t.Parallel()
	msg := "A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3"
	for n, want := range []string{
		"A: 1\r\nB: 2\r\n\r\n",
		"A: 1\r\nB: 2\r\n\r\nl1\r\n",
		"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n",
		"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n",
		"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n",
	} {
		for _, sizes := range [][]int{nil, {1}, {5}} {
			got, err := stuffChunks([]byte(msg), sizes, n)
			if err != nil || got != want {
				t.Errorf("TOP %d in pieces %v = %q, %v; want %q", n, sizes, got, err, want)
			}
		}
	}
}

// FuzzStuffer checks stuffer and topLimiter against the reference, with
// the input written in pieces whose sizes the fuzzer picks.
func FuzzStuffer(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.body\r\n"), []byte{3, 1, 7}, uint8(1))
	f.Add([]byte("a\rb\n\r\n.\r"), []byte{1}, uint8(0))
	f.Add([]byte("\r"), []byte{}, uint8(255))
	f.Fuzz(func(t *testing.T, in, pieces []byte, top uint8) {
		sizes := make([]int, len(pieces))
		for i, p := range pieces {
			sizes[i] = int(p)
		}
		ref := refStuff(string(in))
		got, err := stuffChunks(in, sizes, -1)
		if err != nil || got != joinCRLF(ref) {
			t.Fatalf("stuff(%q) = %q, %v; want %q", in, got, err, joinCRLF(ref))
		}
		n := int(top % 16)
		got, err = stuffChunks(in, sizes, n)
		if want := joinCRLF(refTop(ref, n)); err != nil || got != want {
			t.Fatalf("TOP %d of %q = %q, %v; want %q", n, in, got, err, want)
		}
	})
}

func BenchmarkStuffer(b *testing.B) {
	var msg bytes.Buffer
	for msg.Len() < 50<<10 {
		msg.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\r\n")
	}
	b.SetBytes(int64(msg.Len()))
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		st := newStuffer(&out)
		st.Write(msg.Bytes())
		st.Close()
	}
}
