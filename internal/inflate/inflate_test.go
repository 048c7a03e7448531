package inflate

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

var words = strings.Fields(`UID FETCH STORE +FLAGS.SILENT (\Seen) APPEND INBOX
	Subject: From: To: Date: the of and a to in is you that it he was for on are
	as with his they I at be this have from or one had by word but not what all`)

// textData is n octets of mail-like text.
func textData(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(8) == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func randomData(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestRoundTrip compresses with compress/flate at every level, flushing
// after each write of a random size, and checks that each flushed chunk
// decodes in full before the next is fed.
func TestRoundTrip(t *testing.T) {
	levels := []int{flate.HuffmanOnly, flate.DefaultCompression, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	data := map[string]func(*rand.Rand, int) []byte{"text": textData, "random": randomData}
	for _, level := range levels {
		for dname, gen := range data {
			for ki, kind := range sourceKinds {
				t.Run(fmt.Sprintf("level%d/%s/%s", level, dname, kind.name), func(t *testing.T) {
					seed := uint64(level+10)*100 + uint64(ki)
					rng := rand.New(rand.NewPCG(seed, 1))
					var comp bytes.Buffer
					zw, err := flate.NewWriter(&comp, level)
					if err != nil {
						t.Fatal(err)
					}
					s := newStream(t, kind.wrap, seed)
					for i := range 40 {
						n := rng.IntN(3000)
						switch rng.IntN(10) {
						case 0:
							n = 0
						case 1:
							n = 32<<10 + rng.IntN(40<<10) // more than the window
						}
						plain := gen(rng, n)
						zw.Write(plain)
						last := i == 39
						if last {
							err = zw.Close()
						} else {
							err = zw.Flush()
						}
						if err != nil {
							t.Fatal(err)
						}
						s.chunk(i, comp.Bytes(), plain, last)
						comp.Reset()
					}
				})
			}
		}
	}
}

// TestMbsync feeds what mbsync sent after COMPRESS DEFLATE, one write at a
// time: each command must come out before the next write arrives.
func TestMbsync(t *testing.T) {
	chunks := readHexLines(t, "testdata/mbsync-compress-chunks.hex")
	want := []int{13, 15, 18, 29, 552}
	if len(chunks) != len(want) {
		t.Fatalf("%d chunks in the capture, want %d", len(chunks), len(want))
	}
	for _, kind := range sourceKinds {
		t.Run(kind.name, func(t *testing.T) {
			src := &source{}
			zr := NewReader(kind.wrap(src))
			var all []byte
			for i, c := range chunks {
				src.feed(c)
				got := readAvailable(t, zr)
				if len(got) != want[i] || !bytes.HasSuffix(got, []byte("\r\n")) {
					t.Fatalf("chunk %d: decoded %q (%d octets), want %d octets ending in CRLF", i, got, len(got), want[i])
				}
				all = append(all, got...)
			}
			if !bytes.HasPrefix(all, []byte("3 NAMESPACE\r\n4 LIST \"\" \"*\"\r\n5 SELECT \"INBOX\"\r\n")) ||
				!bytes.HasSuffix(all, []byte("\r\n11 UID FETCH 4 (BODY.PEEK[])\r\n")) {
				t.Errorf("decoded %q", all)
			}
		})
	}
}

// readAvailable reads until the decoder wants input the source lacks.
func readAvailable(t *testing.T, zr interface{ Read([]byte) (int, error) }) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 100)
	for {
		n, err := zr.Read(buf)
		got = append(got, buf[:n]...)
		if err == errStarved {
			return got
		}
		if err != nil {
			t.Fatalf("after %d octets: %v", len(got), err)
		}
	}
}

func readHexLines(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range strings.Fields(string(b)) {
		c, err := hex.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// zlibStream is one stream of testdata/zlib-flush.txt.
type zlibStream struct {
	name   string
	sum    string   // SHA-256 of the plain text, hex
	chunks [][]byte // compressed, one per flush
	lens   []int    // plain octets per chunk
}

func readZlibStreams(t testing.TB) []zlibStream {
	f, err := os.Open("testdata/zlib-flush.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []zlibStream
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 && fs[0] == "stream" {
			out = append(out, zlibStream{name: fs[1], sum: fs[2]})
			continue
		}
		c, err := hex.DecodeString(fs[0])
		n, err2 := strconv.Atoi(fs[1])
		if len(fs) != 2 || err != nil || err2 != nil || len(out) == 0 {
			t.Fatalf("bad line %q", sc.Text())
		}
		s := &out[len(out)-1]
		s.chunks = append(s.chunks, c)
		s.lens = append(s.lens, n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestZlibFlush decodes streams made by zlib with Z_PARTIAL_FLUSH,
// Z_SYNC_FLUSH and Z_FULL_FLUSH (testdata/zlib-flush.py): a partial flush
// leaves the stream off an octet boundary, with the end of the data in the
// last few bits sent.
func TestZlibFlush(t *testing.T) {
	for _, zs := range readZlibStreams(t) {
		for ki, kind := range sourceKinds {
			t.Run(zs.name+"/"+kind.name, func(t *testing.T) {
				s := newStream(t, kind.wrap, uint64(ki))
				for i, c := range zs.chunks {
					last := i == len(zs.chunks)-1
					s.src.feed(c)
					got := s.readChunk(i, last)
					if len(got) != zs.lens[i] {
						t.Fatalf("chunk %d: decoded %d octets before wanting more input, want %d", i, len(got), zs.lens[i])
					}
				}
				if sum := sha256.Sum256(s.out); hex.EncodeToString(sum[:]) != zs.sum {
					t.Errorf("SHA-256 of the %d decoded octets differs", len(s.out))
				}
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, level := range []int{flate.HuffmanOnly, 0, 1, 6, 9} {
		for dname, gen := range map[string]func(*rand.Rand, int) []byte{"text": textData, "random": randomData} {
			b.Run(fmt.Sprintf("level%d/%s", level, dname), func(b *testing.B) {
				plain := gen(rand.New(rand.NewPCG(1, 2)), 1<<20)
				var comp bytes.Buffer
				zw, _ := flate.NewWriter(&comp, level)
				zw.Write(plain)
				zw.Close()
				b.SetBytes(int64(len(plain)))
				buf := make([]byte, 2048)
				for b.Loop() {
					zr := NewReader(bytes.NewReader(comp.Bytes()))
					for {
						_, err := zr.Read(buf)
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
