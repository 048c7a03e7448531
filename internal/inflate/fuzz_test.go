package inflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"
)

// FuzzInflate decodes complete inputs and compares with compress/flate:
// both succeed with the same output, or both fail, and then the shorter
// output is a prefix of the longer. The input is decoded again as it
// would arrive over a network, with the source running dry every few
// octets; the output must not change.
func FuzzInflate(f *testing.F) {
	for _, level := range []int{flate.HuffmanOnly, 0, 1, 6, 9} {
		var b bytes.Buffer
		zw, _ := flate.NewWriter(&b, level)
		zw.Write([]byte("a UID FETCH 1:* (FLAGS)\r\nb UID FETCH 1:* (FLAGS)\r\n"))
		zw.Flush()
		zw.Write([]byte("c LOGOUT\r\n"))
		zw.Close()
		f.Add(b.Bytes())
	}
	for _, zs := range readZlibStreams(f)[:3] {
		f.Add(bytes.Join(zs.chunks[:4], nil))
	}
	f.Add(new(bitWriter).header(true, 1).lit('a').match(257, 0, 0, 0, 0, 0).lit(256).bytes())
	f.Add(new(bitWriter).dynamicHeader(true, 257, 1, oneCLen(), [2]int{16, 0}).bytes())

	f.Fuzz(func(t *testing.T, in []byte) {
		want, werr := io.ReadAll(flate.NewReader(bytes.NewReader(in)))
		got, gerr := decodeAll(in)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("compress/flate: %v; inflate: %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("decoded %d octets, compress/flate %d%s", len(got), len(want), firstDiff(got, want))
		}
		if n := min(len(got), len(want)); !bytes.Equal(got[:n], want[:n]) {
			t.Fatalf("outputs part%s (compress/flate: %v; inflate: %v)", firstDiff(got, want), werr, gerr)
		}
		var ce *CorruptError
		if gerr != nil && gerr != io.ErrUnexpectedEOF && !errors.As(gerr, &ce) {
			t.Fatalf("error of an unexpected kind: %v", gerr)
		}

		// The same input, fed a few octets at a time.
		src := &source{}
		zr := NewReader(src)
		var trickled []byte
		buf := make([]byte, 64)
		var err error
		for off, step := 0, 1; ; {
			var n int
			n, err = zr.Read(buf)
			trickled = append(trickled, buf[:n]...)
			if err != errStarved {
				if err != nil {
					break
				}
				continue
			}
			if off == len(in) {
				err = io.ErrUnexpectedEOF
				break
			}
			next := min(off+step, len(in))
			src.feed(in[off:next])
			off, step = next, step%7+1
		}
		if err == io.EOF {
			err = nil
		}
		if !bytes.Equal(trickled, got) || (err == nil) != (gerr == nil) {
			t.Fatalf("fed in pieces: %d octets, %v; at once: %d octets, %v", len(trickled), err, len(got), gerr)
		}
	})
}
