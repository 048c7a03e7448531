package smtp

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

// BenchmarkDataReader (Posthorn) reads a 4 KiB message of text lines
// through the DATA reader, as the server does for every message.
func BenchmarkDataReader(b *testing.B) {
	var msg strings.Builder
	for msg.Len() < 4096 {
		msg.WriteString("The quick brown fox jumps over the lazy dog near the project meeting room.\r\n")
	}
	msg.WriteString(".\r\n")
	data := msg.String()
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		r := &dataReader{r: bufio.NewReaderSize(strings.NewReader(data), 4096)}
		for {
			if _, err := r.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// FuzzDataReader (Posthorn) checks that the bulk copy inside lines changes
// nothing: any input read through a small buffer one octet at a time (the
// state machine alone) and through a large buffer in large reads gives the
// same octets and the same error, with and without a size limit.
func FuzzDataReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..x\r\n.\r\n", "a\rb\nc\r\r\n.\r\n", ".\rx\r\n.\r\n", "abc", "x\r\n.\r"} {
		f.Add(s, uint16(0))
		f.Add(s, uint16(3))
	}
	f.Fuzz(func(t *testing.T, in string, limit uint16) {
		read := func(bufSize, readSize int) (string, error) {
			r := &dataReader{r: bufio.NewReaderSize(strings.NewReader(in), bufSize)}
			if limit > 0 {
				r.limited, r.n = true, int64(limit)
			}
			var out []byte
			p := make([]byte, readSize)
			for {
				n, err := r.Read(p)
				out = append(out, p[:n]...)
				if err != nil {
					return string(out), err
				}
			}
		}
		a, errA := read(16, 1)
		b, errB := read(4096, 1000)
		if a != b || errA != errB {
			t.Fatalf("octet by octet %q, %v; in bulk %q, %v", a, errA, b, errB)
		}
	})
}
