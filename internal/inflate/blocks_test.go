package inflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

// bitWriter writes a DEFLATE stream by hand, least significant bit first
// (RFC 1951 §3.1.1).
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v int, n uint) *bitWriter {
	w.acc |= uint64(v) << w.n
	w.n += n
	for w.n >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
	return w
}

// code writes a Huffman code, most significant bit first.
func (w *bitWriter) code(c int, n uint) *bitWriter {
	return w.bits(int(bits.Reverse16(uint16(c))>>(16-n)), n)
}

func (w *bitWriter) header(final bool, typ int) *bitWriter {
	f := 0
	if final {
		f = 1
	}
	return w.bits(f, 1).bits(typ, 2)
}

// stored writes a stored block (RFC 1951 §3.2.4).
func (w *bitWriter) stored(final bool, data []byte) *bitWriter {
	w.header(final, 0)
	if w.n > 0 {
		w.bits(0, 8-w.n)
	}
	w.bits(len(data), 16).bits(^len(data)&0xffff, 16)
	w.out = append(w.out, data...)
	return w
}

// lit writes a literal/length symbol of the fixed code (§3.2.6).
func (w *bitWriter) lit(s int) *bitWriter {
	switch {
	case s < 144:
		return w.code(0x30+s, 8)
	case s < 256:
		return w.code(0x190+s-144, 9)
	case s < 280:
		return w.code(s-256, 7)
	default:
		return w.code(0xc0+s-280, 8)
	}
}

// match writes a length symbol with its extra bits and a fixed distance
// code with its extra bits.
func (w *bitWriter) match(lsym, lextra int, lbits uint, dsym, dextra int, dbits uint) *bitWriter {
	return w.lit(lsym).bits(lextra, lbits).code(dsym, 5).bits(dextra, dbits)
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		return append(w.out, byte(w.acc))
	}
	return w.out
}

// canonical returns the canonical codes of the given lengths (§3.2.2).
func canonical(lens []int) []int {
	var count, next [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]int, len(lens))
	for s, l := range lens {
		if l > 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

// dynamicHeader writes the header of a dynamic block: HLIT, HDIST, HCLEN,
// the code length code given by clen (19 lengths, in symbol order), and
// then syms, a sequence of code length symbols (with extra bits for 16-18).
func (w *bitWriter) dynamicHeader(final bool, nlit, ndist int, clen []int, syms ...[2]int) *bitWriter {
	w.header(final, 2).bits(nlit-257, 5).bits(ndist-1, 5).bits(19-4, 4)
	for _, s := range clenOrder {
		w.bits(clen[s], 3)
	}
	codes := canonical(clen)
	for _, s := range syms {
		w.code(codes[s[0]], uint(clen[s[0]]))
		switch s[0] {
		case 16:
			w.bits(s[1], 2)
		case 17:
			w.bits(s[1], 3)
		case 18:
			w.bits(s[1], 7)
		}
	}
	return w
}

// decodeAll decodes in from a reader that has all of it.
func decodeAll(in []byte) ([]byte, error) {
	return io.ReadAll(NewReader(bytes.NewReader(in)))
}

func TestStoredAndEmptyBlocks(t *testing.T) {
	var w bitWriter
	w.stored(false, []byte("hello, "))
	w.header(false, 1).lit(256) // empty fixed block
	w.stored(false, nil)
	w.header(false, 1).lit('w').lit('o').lit(256)
	w.stored(false, []byte("rld"))
	w.stored(true, nil)
	got, err := decodeAll(w.bytes())
	if err != nil || string(got) != "hello, world" {
		t.Fatalf("got %q, %v", got, err)
	}

	// The smallest streams: an empty final stored or fixed block.
	for _, in := range [][]byte{{0x01, 0x00, 0x00, 0xff, 0xff}, {0x03, 0x00}} {
		got, err := decodeAll(in)
		if err != nil || len(got) != 0 {
			t.Errorf("%x: got %q, %v", in, got, err)
		}
	}
}

// TestLongStored checks a stored block of 65535 octets, more than the
// window holds pending at once.
func TestLongStored(t *testing.T) {
	data := randomData(rand.New(rand.NewPCG(1, 1)), 65535)
	var w bitWriter
	got, err := decodeAll(w.stored(true, data).bytes())
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d octets, %v", len(got), err)
	}
}

// TestFarBackReference copies from 32768 octets back, the most RFC 1951
// allows, after the window has wrapped.
func TestFarBackReference(t *testing.T) {
	data := randomData(rand.New(rand.NewPCG(2, 2)), 40000)
	var w bitWriter
	w.stored(false, data)
	// Length 258 (code 285), distance 32768 (code 29, 13 extra bits 8191);
	// then length 3 (code 257) from 32768 back again.
	w.header(true, 1).match(285, 0, 0, 29, 8191, 13).match(257, 0, 0, 29, 8191, 13).lit(256)
	want := append([]byte(nil), data...)
	for range 258 + 3 {
		want = append(want, want[len(want)-32768])
	}
	got, err := decodeAll(w.bytes())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %d octets (want %d), %v", len(got), len(want), err)
	}

	// An overlapping copy: "ab" then 10 octets from 2 back.
	w = bitWriter{}
	w.header(true, 1).lit('a').lit('b').match(264, 0, 0, 1, 0, 0).lit(256)
	if got, err := decodeAll(w.bytes()); err != nil || string(got) != "abababababab" {
		t.Errorf("got %q, %v", got, err)
	}
}

// oneCLen is a complete code length code: 16, 17 and 18 of 2 bits, 0 of 3
// bits, 1 and 2 of 4 bits.
func oneCLen() []int {
	l := make([]int, 19)
	l[16], l[17], l[18], l[0], l[1], l[2] = 2, 2, 2, 3, 4, 4
	return l
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     *bitWriter
		reason string
	}{
		{"block type 3", new(bitWriter).header(true, 3), "invalid block type"},
		{"stored length", new(bitWriter).header(true, 0).bits(0, 5).bits(5, 16).bits(5, 16), "complement"},
		{"distance before the start", new(bitWriter).header(true, 1).lit('a').match(257, 0, 0, 1, 0, 0), "too far back"},
		{"distance past the window", new(bitWriter).header(true, 1).lit('a').match(257, 0, 0, 4, 1, 1), "too far back"},
		{"distance code 30", new(bitWriter).header(true, 1).lit('a').match(257, 0, 0, 30, 0, 0), "invalid distance code"},
		{"length code 286", new(bitWriter).header(true, 1).lit('a').lit(286), "invalid literal/length"},
		{"too many length codes", new(bitWriter).header(true, 2).bits(31, 5).bits(0, 5).bits(0, 4), "too many"},
		{"too many distance codes", new(bitWriter).header(true, 2).bits(0, 5).bits(30, 5).bits(0, 4), "too many"},
		{"over-subscribed code length code", new(bitWriter).dynamicHeader(true, 257, 1, ones(19)),
			"code length code: over-subscribed"},
		{"incomplete code length code", new(bitWriter).dynamicHeader(true, 257, 1, append([]int{2, 2}, make([]int, 17)...)),
			"code length code: incomplete"},
		// 257 literal/length codes of length 1, one distance code.
		{"over-subscribed literal/length code", new(bitWriter).dynamicHeader(true, 257, 1, oneCLen(),
			append(repeat([2]int{1, 0}, 257), [2]int{1, 0})...), "literal/length code: over-subscribed"},
		// Lengths 1 and 2 only: half a code and a quarter.
		{"incomplete literal/length code", new(bitWriter).dynamicHeader(true, 257, 1, oneCLen(),
			[2]int{2, 0}, [2]int{18, 127}, [2]int{18, 106}, [2]int{1, 0}, [2]int{1, 0}), "literal/length code: incomplete"},
		{"no end-of-block code", new(bitWriter).dynamicHeader(true, 257, 1, oneCLen(),
			[2]int{1, 0}, [2]int{1, 0}, [2]int{18, 127}, [2]int{18, 105}, [2]int{0, 0}, [2]int{1, 0}), "no end-of-block"},
		{"repeat with nothing to repeat", new(bitWriter).dynamicHeader(true, 257, 1, oneCLen(), [2]int{16, 0}),
			"no previous length"},
		{"repeat past the end", new(bitWriter).dynamicHeader(true, 257, 1, oneCLen(),
			[2]int{18, 127}, [2]int{18, 127}, [2]int{18, 127}), "past the end"},
		// Literal 0 and end-of-block of length 1; distance codes of lengths
		// 1 and 2.
		{"incomplete distance code", new(bitWriter).dynamicHeader(true, 257, 2, oneCLen(),
			[2]int{1, 0}, [2]int{18, 127}, [2]int{18, 106}, [2]int{1, 0}, [2]int{1, 0}, [2]int{2, 0}),
			"distance code: incomplete"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Enough trailing zeros that no error is for want of input.
			in := append(tc.in.bytes(), make([]byte, 64)...)
			_, err := decodeAll(in)
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("got %v, want a CorruptError saying %q", err, tc.reason)
			}
			if _, err := io.ReadAll(flate.NewReader(bytes.NewReader(in))); err == nil {
				t.Errorf("compress/flate accepts it")
			}
			// Corruption is sticky.
			zr := NewReader(bytes.NewReader(in))
			io.ReadAll(zr)
			if _, err2 := zr.Read(make([]byte, 10)); !errors.As(err2, &ce) {
				t.Errorf("second Read: %v", err2)
			}
		})
	}
}

func ones(n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = 1
	}
	return l
}

func repeat(s [2]int, n int) [][2]int {
	out := make([][2]int, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestDegenerateDistanceCode accepts a single distance code of length 1,
// which zlib writes when a block has one distance.
func TestDegenerateDistanceCode(t *testing.T) {
	// Literal/length: 'a' (97) and 256 and 257 of length 2, 98 of length 2:
	// four codes of length 2. Distance: code 0 of length 1 only.
	w := new(bitWriter).dynamicHeader(true, 258, 1, oneCLen(),
		[2]int{18, 97 - 11}, [2]int{2, 0}, [2]int{2, 0}, [2]int{18, 127}, [2]int{18, 256 - 99 - 138 - 11},
		[2]int{2, 0}, [2]int{2, 0}, [2]int{1, 0})
	lens := make([]int, 258)
	lens[97], lens[98], lens[256], lens[257] = 2, 2, 2, 2
	c := canonical(lens)
	// "ab", then length 3 from 1 back ("bbb"), then end of block.
	w.code(c[97], 2).code(c[98], 2).code(c[257], 2).code(0, 1).code(c[256], 2)
	for _, zr := range []io.Reader{NewReader(bytes.NewReader(w.bytes())), flate.NewReader(bytes.NewReader(w.bytes()))} {
		got, err := io.ReadAll(zr)
		if err != nil || string(got) != "abbbb" {
			t.Fatalf("%T: got %q, %v", zr, got, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	var w bitWriter
	full := w.stored(false, []byte("abc")).header(true, 1).lit('d').lit(256).bytes()
	for n := range len(full) {
		_, err := decodeAll(full[:n])
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%d of %d octets: got %v, want io.ErrUnexpectedEOF", n, len(full), err)
		}
	}
}

// TestStopsAtEnd leaves what follows the final block unread, and does not
// keep an error from the source.
func TestStopsAtEnd(t *testing.T) {
	var w bitWriter
	in := w.header(false, 1).lit('a').lit(256).header(true, 1).lit('b').lit(256).bytes()
	src := &source{}
	zr := NewReader(src)
	src.feed(in[:1])
	got := readAvailable(t, zr)
	src.feed(in[1:])
	src.feed([]byte("TRAILER"))
	rest, err := io.ReadAll(zr)
	if err != nil || string(got)+string(rest) != "ab" || string(src.buf) != "TRAILER" {
		t.Fatalf("got %q+%q, %v; left %q", got, rest, err, src.buf)
	}
}
