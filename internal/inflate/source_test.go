package inflate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// errStarved is what a source returns when the test has fed it nothing
// more: where a network connection would block.
var errStarved = errors.New("source starved")

// source is the input side of a connection: the test feeds it the octets
// the peer sent, and reading past them gives errStarved.
type source struct {
	buf []byte
}

func (s *source) feed(b []byte) { s.buf = append(s.buf, b...) }

func (s *source) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		return 0, errStarved
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *source) ReadByte() (byte, error) {
	if len(s.buf) == 0 {
		return 0, errStarved
	}
	c := s.buf[0]
	s.buf = s.buf[1:]
	return c, nil
}

func (s *source) Buffered() int { return len(s.buf) }

// The ways a source is handed to NewReader: a plain io.Reader (NewReader
// adds a bufio.Reader), one that returns an octet per Read, an
// io.ByteReader that says what it has buffered, and one that does not.
type (
	readerOnly struct{ s *source }
	byteOnly   struct{ s *source }
)

func (r readerOnly) Read(p []byte) (int, error) { return r.s.Read(p) }
func (r byteOnly) Read(p []byte) (int, error)   { return r.s.Read(p) }
func (r byteOnly) ReadByte() (byte, error)      { return r.s.ReadByte() }

var sourceKinds = []struct {
	name string
	wrap func(*source) io.Reader
}{
	{"reader", func(s *source) io.Reader { return readerOnly{s} }},
	{"onebyte", func(s *source) io.Reader { return iotest.OneByteReader(readerOnly{s}) }},
	{"buffered", func(s *source) io.Reader { return s }},
	{"bytereader", func(s *source) io.Reader { return byteOnly{s} }},
}

// stream decodes a stream fed one flushed chunk at a time.
type stream struct {
	t   *testing.T
	src *source
	zr  io.Reader
	rng *rand.Rand
	out []byte // everything decoded so far
}

func newStream(t *testing.T, wrap func(*source) io.Reader, seed uint64) *stream {
	src := &source{}
	return &stream{t: t, src: src, zr: NewReader(wrap(src)), rng: rand.New(rand.NewPCG(seed, 4978))}
}

// chunk feeds one chunk and checks that the decoder returns exactly want
// before it asks for more input: every octet the chunk carries, none held
// back.
func (s *stream) chunk(i int, in, want []byte, last bool) {
	s.t.Helper()
	s.src.feed(in)
	got := s.readChunk(i, last)
	if !bytes.Equal(got, want) {
		s.t.Fatalf("chunk %d (%d octets in): got %d octets before the decoder wanted more input, want %d%s",
			i, len(in), len(got), len(want), firstDiff(got, want))
	}
}

// readChunk reads, in reads of random sizes, until the decoder wants more
// input than was fed (errStarved), or until io.EOF if last is set.
func (s *stream) readChunk(i int, last bool) []byte {
	s.t.Helper()
	var got []byte
	buf := make([]byte, 4096)
	for {
		size := 1 + s.rng.IntN(len(buf))
		if s.rng.IntN(4) == 0 {
			size = 1 + s.rng.IntN(7) // small reads, as a line reader makes
		}
		n, err := s.zr.Read(buf[:size])
		got = append(got, buf[:n]...)
		if err == nil {
			continue
		}
		if !(errors.Is(err, errStarved) && !last) && !(errors.Is(err, io.EOF) && last) {
			s.t.Fatalf("chunk %d: after %d octets out: %v", i, len(got), err)
		}
		s.out = append(s.out, got...)
		return got
	}
}

// firstDiff describes where got and want part.
func firstDiff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf(", differing at octet %d", i)
		}
	}
	return ""
}
