package inflate

import (
	"bufio"
	"fmt"
	"io"
	"math/bits"
)

const (
	windowSize = 1 << 15 // RFC 1951 §2: distances reach back at most 32768 octets
	windowMask = windowSize - 1

	maxCodeLen  = 15  // RFC 1951 §3.2.7: code lengths are 0-15
	numLitLen   = 288 // the fixed code defines 288 literal/length codes (§3.2.6)
	maxLitLen   = 286 // HLIT + 257 ≤ 286: codes 286 and 287 never occur
	numDistSyms = 32  // the fixed code defines 32 distance codes (§3.2.6)
	maxDist     = 30  // HDIST + 1 ≤ 30: codes 30 and 31 never occur
	numCLen     = 19  // code length alphabet (§3.2.7)
	endOfBlock  = 256
	fastBits    = 9 // codes up to this long are found by one table lookup
	fastMask    = 1<<fastBits - 1
)

// RFC 1951 §3.2.5: base and extra bits of length codes 257-285 and of
// distance codes 0-29.
var (
	lenBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
		35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
		3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [maxDist]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
		257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [maxDist]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
		7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// RFC 1951 §3.2.7: the order in which code length code lengths arrive.
	clenOrder = [numCLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// A CorruptError reports invalid DEFLATE data.
type CorruptError struct {
	Offset int64  // octets read from the input when the error was found
	Reason string // what was wrong, e.g. "distance too far back"
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("inflate: corrupt input before octet %d: %s", e.Offset, e.Reason)
}

// state is where the decoder stands in the stream. Every state consumes its
// bits only once all of them are available, so decoding can stop before any
// state and resume there.
type state uint8

const (
	stHeader    state = iota // BFINAL and BTYPE (§3.2.3)
	stStoredLen              // LEN and NLEN of a stored block (§3.2.4)
	stStored                 // the octets of a stored block
	stSizes                  // HLIT, HDIST and HCLEN (§3.2.7)
	stCLenLens               // the code length code lengths
	stCodeLens               // the literal/length and distance code lengths
	stLitLen                 // a literal/length code
	stDist                   // a distance code and its extra bits
	stCopy                   // copying a match from the window
	stDone                   // after the final block
)

// tables says which codes the lit and dist decoders hold, so that a run of
// fixed-code blocks (one per flush) builds them once.
type tables uint8

const (
	noTables tables = iota
	fixedTables
	dynamicTables
)

// bufferedReader is the part of *bufio.Reader that tells whether reading
// an octet would block.
type bufferedReader interface {
	Buffered() int
}

// lenReader is the same for *bytes.Reader and *strings.Reader, which never
// block.
type lenReader interface {
	Len() int
}

type lenBuffered struct{ r lenReader }

func (l lenBuffered) Buffered() int { return l.r.Len() }

type reader struct {
	r   io.ByteReader
	rb  bufferedReader // r, if it says what it has buffered
	in  int64          // octets read from r
	bit uint64         // unused input bits, the next one lowest
	nb  uint           // how many bits bit holds
	// rerr is an error from r to return once the pending octets are out.
	rerr error
	err  error // sticky: io.EOF after the final block, or a *CorruptError

	st    state
	final bool // the current block is the last one
	n     int  // octets left in a stored block; index into the code lengths
	nlit  int  // literal/length codes of a dynamic block
	ndist int  // distance codes of a dynamic block
	nclen int  // code length codes of a dynamic block
	ltab  tables
	mlen  int // match length left to copy
	mdist int // match distance

	// win is the history; the last pend octets before wpos are decoded but
	// not yet returned. hist counts the valid octets (at most windowSize).
	win  [windowSize]byte
	wpos int
	pend int
	hist int

	lens [maxLitLen + maxDist]uint8 // code lengths being read
	clen huffman                    // code length code
	lit  huffman
	dist huffman
}

// NewReader returns a reader that decodes the raw DEFLATE stream read from
// r. It reads r octet by octet (through a bufio.Reader unless r is an
// io.ByteReader) and never reads past the end of the final block. A Read
// returns as soon as it has any decoded octet and no more input is
// buffered, so each flushed chunk of a stream (zlib's Z_SYNC_FLUSH or
// Z_PARTIAL_FLUSH) comes out whole before the next is read.
//
// Whether input is buffered is told by r's Buffered method (*bufio.Reader)
// or Len method (*bytes.Reader, *strings.Reader). An io.ByteReader with
// neither is read only when no decoded octet is pending, so each Read then
// returns only the octets decoded from the input already taken.
func NewReader(r io.Reader) io.Reader {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = bufio.NewReader(r)
	}
	z := &reader{r: br}
	switch b := br.(type) {
	case bufferedReader:
		z.rb = b
	case lenReader:
		z.rb = lenBuffered{b}
	}
	return z
}

// Read returns decoded octets. After the final block it returns io.EOF.
func (z *reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for z.pend == 0 {
		if z.rerr != nil {
			err := z.rerr
			z.rerr = nil
			return 0, err
		}
		if z.err != nil {
			return 0, z.err
		}
		z.decode()
	}
	start := (z.wpos - z.pend) & windowMask
	n := copy(p, z.win[start:min(start+z.pend, windowSize)])
	if n < len(p) && n < z.pend {
		n += copy(p[n:], z.win[:z.pend-n])
	}
	z.pend -= n
	return n, nil
}

// need reports whether the bit buffer holds at least n bits (n ≤ 56),
// reading octets as needed. It does not read when octets are pending and
// reading could block: the caller returns, and the Read hands them out.
func (z *reader) need(n uint) bool {
	for z.nb < n {
		if z.pend > 0 && (z.rb == nil || z.rb.Buffered() == 0) {
			return false
		}
		c, err := z.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			z.rerr = err
			return false
		}
		z.in++
		z.bit |= uint64(c) << z.nb
		z.nb += 8
	}
	return true
}

// take consumes n bits (n ≤ nb) and returns them.
func (z *reader) take(n uint) int {
	v := int(z.bit & (1<<n - 1))
	z.bit >>= n
	z.nb -= n
	return v
}

func (z *reader) corrupt(reason string) {
	z.err = &CorruptError{Offset: z.in, Reason: reason}
}

// decode runs the state machine until the window is full of pending octets,
// it needs input it may not read, the stream ends, or it is corrupt.
func (z *reader) decode() {
	for z.err == nil && z.rerr == nil {
		var ok bool
		switch z.st {
		case stHeader:
			ok = z.header()
		case stStoredLen:
			ok = z.storedLen()
		case stStored:
			ok = z.stored()
		case stSizes:
			ok = z.sizes()
		case stCLenLens:
			ok = z.clenLens()
		case stCodeLens:
			ok = z.codeLens()
		case stLitLen:
			ok = z.litLen()
		case stDist:
			ok = z.distance()
		case stCopy:
			ok = z.copyMatch()
		case stDone:
			z.err = io.EOF
		}
		if !ok {
			return
		}
	}
}

// endBlock moves on after a block (RFC 1951 §3.2.3: BFINAL marks the last).
func (z *reader) endBlock() {
	if z.final {
		z.st = stDone
		z.err = io.EOF
		return
	}
	z.st = stHeader
}

// header reads BFINAL and BTYPE.
func (z *reader) header() bool {
	if !z.need(3) {
		return false
	}
	z.final = z.take(1) == 1
	switch z.take(2) {
	case 0:
		z.st = stStoredLen
	case 1:
		if z.ltab != fixedTables {
			z.fixed()
		}
		z.st = stLitLen
	case 2:
		z.st = stSizes
	default:
		z.corrupt("invalid block type 3")
		return false
	}
	return true
}

// fixed builds the fixed codes of RFC 1951 §3.2.6.
func (z *reader) fixed() {
	l := z.lens[:numLitLen]
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	z.lit.build(l) // complete by construction
	l = z.lens[:numDistSyms]
	for i := range l {
		l[i] = 5
	}
	z.dist.build(l)
	z.ltab = fixedTables
}

// storedLen skips to the octet boundary and reads LEN and NLEN (§3.2.4).
func (z *reader) storedLen() bool {
	z.take(z.nb % 8)
	if !z.need(32) {
		return false
	}
	n := z.take(16)
	if nn := z.take(16); nn != ^n&0xffff {
		z.corrupt("stored block length does not match its complement")
		return false
	}
	z.n = n
	z.st = stStored
	if n == 0 {
		z.endBlock()
	}
	return true
}

// stored copies the octets of a stored block into the window.
func (z *reader) stored() bool {
	for z.n > 0 {
		if z.pend == windowSize || !z.need(8) {
			return false
		}
		z.put(byte(z.take(8)))
		z.n--
	}
	z.endBlock()
	return true
}

// sizes reads HLIT, HDIST and HCLEN (§3.2.7).
func (z *reader) sizes() bool {
	if !z.need(14) {
		return false
	}
	z.nlit = z.take(5) + 257
	z.ndist = z.take(5) + 1
	z.nclen = z.take(4) + 4
	if z.nlit > maxLitLen || z.ndist > maxDist {
		z.corrupt("too many length or distance codes")
		return false
	}
	z.lens = [len(z.lens)]uint8{}
	z.n = 0
	z.st = stCLenLens
	return true
}

// clenLens reads the 3-bit lengths of the code length code.
func (z *reader) clenLens() bool {
	for ; z.n < z.nclen; z.n++ {
		if !z.need(3) {
			return false
		}
		z.lens[clenOrder[z.n]] = uint8(z.take(3))
	}
	if reason := z.clen.build(z.lens[:numCLen]); reason != "" {
		z.corrupt("code length code: " + reason)
		return false
	}
	z.n = 0
	z.st = stCodeLens
	return true
}

// codeLens reads the literal/length and distance code lengths, each a
// code length code and its repeat count taken together.
func (z *reader) codeLens() bool {
	total := z.nlit + z.ndist
	for z.n < total {
		sym, n, ok := z.peek(&z.clen)
		if !ok {
			return false
		}
		if sym < 16 {
			z.take(n)
			z.lens[z.n] = uint8(sym)
			z.n++
			continue
		}
		var extra uint
		var rep int
		var val uint8
		switch sym {
		case 16: // copy the previous length 3-6 times
			if z.n == 0 {
				z.corrupt("repeated code length with no previous length")
				return false
			}
			extra, rep, val = 2, 3, z.lens[z.n-1]
		case 17: // 3-10 zeros
			extra, rep = 3, 3
		default: // 18: 11-138 zeros
			extra, rep = 7, 11
		}
		if !z.need(n + extra) {
			return false
		}
		z.take(n)
		rep += z.take(extra)
		if z.n+rep > total {
			z.corrupt("code lengths repeat past the end")
			return false
		}
		for ; rep > 0; rep-- {
			z.lens[z.n] = val
			z.n++
		}
	}
	if z.lens[endOfBlock] == 0 {
		z.corrupt("no end-of-block code")
		return false
	}
	z.ltab = noTables
	if reason := z.lit.build(z.lens[:z.nlit]); reason != "" {
		z.corrupt("literal/length code: " + reason)
		return false
	}
	if reason := z.dist.build(z.lens[z.nlit:total]); reason != "" {
		z.corrupt("distance code: " + reason)
		return false
	}
	z.ltab = dynamicTables
	z.st = stLitLen
	return true
}

// litLen decodes literals into the window until a match, the end of the
// block, or a stop; a length code is taken with its extra bits.
func (z *reader) litLen() bool {
	for z.pend < windowSize {
		sym, n, ok := z.peek(&z.lit)
		if !ok {
			return false
		}
		switch {
		case sym < endOfBlock:
			z.take(n)
			z.put(byte(sym))
			continue
		case sym == endOfBlock:
			z.take(n)
			z.endBlock()
			return true
		case sym >= endOfBlock+1+len(lenBase):
			z.corrupt("invalid literal/length code")
			return false
		}
		i := sym - (endOfBlock + 1)
		if !z.need(n + uint(lenExtra[i])) {
			return false
		}
		z.take(n)
		z.mlen = int(lenBase[i]) + z.take(uint(lenExtra[i]))
		z.st = stDist
		return true
	}
	return false
}

// distance decodes a distance code and its extra bits.
func (z *reader) distance() bool {
	sym, n, ok := z.peek(&z.dist)
	if !ok {
		return false
	}
	if sym >= maxDist {
		z.corrupt("invalid distance code")
		return false
	}
	if !z.need(n + uint(distExtra[sym])) {
		return false
	}
	z.take(n)
	d := int(distBase[sym]) + z.take(uint(distExtra[sym]))
	if d > z.hist {
		z.corrupt("distance too far back")
		return false
	}
	z.mdist = d
	z.st = stCopy
	return true
}

// copyMatch copies as much of the match as the window has room for.
func (z *reader) copyMatch() bool {
	n := min(z.mlen, windowSize-z.pend)
	src := (z.wpos - z.mdist) & windowMask
	for range n {
		// With mdist == windowSize, src == wpos: the octet is its own source.
		z.win[z.wpos] = z.win[src]
		z.wpos = (z.wpos + 1) & windowMask
		src = (src + 1) & windowMask
	}
	z.pend += n
	z.hist = min(z.hist+n, windowSize)
	z.mlen -= n
	if z.mlen > 0 {
		return false // the window is full of pending octets
	}
	z.st = stLitLen
	return true
}

// put appends a decoded octet; the caller has checked pend < windowSize, so
// the octet it overwrites was returned long ago.
func (z *reader) put(c byte) {
	z.win[z.wpos] = c
	z.wpos = (z.wpos + 1) & windowMask
	z.pend++
	if z.hist < windowSize {
		z.hist++
	}
}

// peek finds the next code of h in the input, reading only the octets the
// code needs, and returns its symbol and length without consuming it. If
// ok is false, the input is missing (z.rerr or a stop) or corrupt (z.err).
func (z *reader) peek(h *huffman) (sym int, n uint, ok bool) {
	for {
		// Bits above nb are zero. A code found with them that is no longer
		// than nb is the code; one that is longer means the code is longer
		// than nb, since a shorter one would have been found.
		if e := h.fast[z.bit&fastMask]; e != 0 {
			if n := uint(e & 15); n <= z.nb {
				return int(e >> 4), n, true
			}
		} else {
			sym, n, found := h.slow(z.bit, z.nb)
			switch found {
			case codeFound:
				return sym, n, true
			case codeInvalid:
				z.corrupt("invalid Huffman code")
				return 0, 0, false
			}
		}
		if !z.need(z.nb + 1) {
			return 0, 0, false
		}
	}
}

// huffman decodes one canonical Huffman code (RFC 1951 §3.2.2).
type huffman struct {
	count  [maxCodeLen + 1]uint16 // codes of each length
	sym    [numLitLen]uint16      // symbols ordered by code
	fast   [1 << fastBits]uint16  // by the next fastBits input bits: sym<<4 | length, or 0
	maxLen uint
}

// build makes the code of the given lengths (0: symbol unused) or says why
// it cannot. Like zlib and compress/flate it accepts a complete code, a
// single code of length 1 (zlib's encoder emits one for a lone distance),
// and no code at all (a block without matches); decoding an unused bit
// pattern is then an error.
func (h *huffman) build(lens []uint8) string {
	h.count = [maxCodeLen + 1]uint16{}
	h.maxLen = 0
	for _, l := range lens {
		h.count[l]++
		h.maxLen = max(h.maxLen, uint(l))
	}
	h.count[0] = 0
	left := 1 // unused codes of the current length
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return "over-subscribed code lengths"
		}
	}
	if left > 0 && h.maxLen > 0 && !(h.maxLen == 1 && h.count[1] == 1) {
		return "incomplete code lengths"
	}
	var offs [maxCodeLen + 2]uint16
	for l := 1; l <= maxCodeLen; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for s, l := range lens {
		if l != 0 {
			h.sym[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	h.fast = [1 << fastBits]uint16{}
	code, i := 0, 0 // canonical codes go up by one, doubling at each length
	for l := uint(1); l <= min(h.maxLen, fastBits); l++ {
		for range h.count[l] {
			// Codes are sent most significant bit first: reverse them to
			// index by input bits, and fill every entry they prefix.
			rev := int(bits.Reverse16(uint16(code)) >> (16 - l))
			for j := rev; j < len(h.fast); j += 1 << l {
				h.fast[j] = h.sym[i]<<4 | uint16(l)
			}
			code++
			i++
		}
		code <<= 1
	}
	return ""
}

const (
	codeMore = iota
	codeFound
	codeInvalid
)

// slow decodes a code longer than fastBits (or an unused pattern) bit by
// bit from the nb bits in b: first is the first code of each length, and
// index the position of its symbol.
func (h *huffman) slow(b uint64, nb uint) (sym int, n uint, found int) {
	code, first, index := 0, 0, 0
	for l := uint(1); l <= h.maxLen; l++ {
		if l > nb {
			return 0, 0, codeMore
		}
		code |= int(b & 1)
		b >>= 1
		count := int(h.count[l])
		if code-first < count {
			return int(h.sym[index+code-first]), l, codeFound
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, 0, codeInvalid
}
