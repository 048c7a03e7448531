package message

import (
	"bytes"
	"io"
)

// Line reading shared by Analyze and ToSevenBit.
//
// Lines end at LF (RFC 5322 §2.1 says CRLF; bare LF is accepted as the same
// thing, a lone CR is an ordinary octet). A line longer than maxLine octets is
// returned in pieces; only the first piece has startOfLine set, so a piece can
// never be mistaken for a header field or a MIME delimiter. This keeps memory
// per reader at O(maxLine) whatever the message looks like.

const (
	initialLineBuf = 16 << 10
	// maxLine bounds one piece of a line. It is also the longest MIME
	// boundary that can be recognised (RFC 2046 §5.1.1 allows 70 octets; the
	// mime4j corpus has one of ~7,000).
	maxLine = 64 << 10
)

// mark is a position in the message with the counters needed to turn a
// range of raw octets into RFC 3501 sizes: the number of LF octets before
// off, and how many of those were not preceded by CR (bare LF). A range's
// CRLF-normalised size is (b.off-a.off)+(b.bare-a.bare); its line count is
// b.lfs-a.lfs.
type mark struct {
	off, lfs, bare int64
}

// sizeTo reports the CRLF-normalised octet count and the line count of the
// range from m to end.
func (m mark) sizeTo(end mark) (size, lines int64) {
	return end.off - m.off + end.bare - m.bare, end.lfs - m.lfs
}

// before returns the mark just before a line terminator of termLen octets
// (2 for CRLF, 1 for bare LF) that ends right at m.
func (m mark) before(termLen int) mark {
	switch termLen {
	case 2:
		return mark{m.off - 2, m.lfs - 1, m.bare}
	case 1:
		return mark{m.off - 1, m.lfs - 1, m.bare - 1}
	}
	return m
}

type lineReader struct {
	r      io.Reader
	buf    []byte
	rd, wr int   // unread data is buf[rd:wr]
	scan   int   // buf[rd:scan] is known to hold no LF
	pos    mark  // position of buf[rd]
	err    error // sticky; io.EOF at the end
	lastCR bool  // the octet before pos was CR
	midLn  bool  // pos is inside a line (a previous piece had no LF)
	zeros  int   // consecutive empty reads
}

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{r: r}
	// A reader that knows its length (bytes.Reader, strings.Reader) gets a
	// buffer that holds it whole when it is small: no copying, no growth.
	if l, ok := r.(interface{ Len() int }); ok {
		if n := l.Len(); n > 0 && n < 4*initialLineBuf {
			lr.buf = make([]byte, max(n+1, 256))
		}
	}
	return lr
}

// line is one line (or one piece of an over-long line) of input.
type line struct {
	b     []byte // valid until the next call to next
	start mark   // position of b[0]
	first bool   // b starts a line (false for the later pieces of a long one)
	term  int    // length of the terminator at the end of b: 0, 1 (LF) or 2 (CRLF)
}

// next returns the next line. ok is false at the end of input. A read error
// other than io.EOF ends input as well; it is kept in lr.err.
func (lr *lineReader) next() (ln line, ok bool) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.scan:lr.wr], '\n'); i >= 0 {
			return lr.take(lr.scan + i + 1 - lr.rd), true
		}
		lr.scan = lr.wr
		if lr.wr-lr.rd >= maxLine {
			return lr.take(maxLine), true
		}
		if lr.err != nil {
			if lr.wr > lr.rd {
				return lr.take(lr.wr - lr.rd), true
			}
			return line{start: lr.pos, first: !lr.midLn}, false
		}
		lr.fill()
	}
}

func (lr *lineReader) take(n int) line {
	b := lr.buf[lr.rd : lr.rd+n]
	ln := line{b: b, start: lr.pos, first: !lr.midLn}
	lr.rd += n
	if lr.scan < lr.rd {
		lr.scan = lr.rd
	}
	lr.pos.off += int64(n)
	if b[n-1] == '\n' {
		lr.pos.lfs++
		cr := (n >= 2 && b[n-2] == '\r') || (n == 1 && lr.lastCR)
		if cr {
			ln.term = 2 // the CR may be the last octet of the previous piece
		} else {
			lr.pos.bare++
			ln.term = 1
		}
		lr.midLn = false
	} else {
		lr.midLn = true
	}
	lr.lastCR = b[n-1] == '\r'
	return ln
}

func (lr *lineReader) fill() {
	if lr.rd > 0 {
		n := copy(lr.buf, lr.buf[lr.rd:lr.wr])
		lr.scan -= lr.rd
		lr.wr = n
		lr.rd = 0
	}
	if lr.wr == len(lr.buf) {
		size := 2 * len(lr.buf)
		if size == 0 {
			size = initialLineBuf
		}
		if size > maxLine+1 {
			size = maxLine + 1
		}
		nb := make([]byte, size)
		copy(nb, lr.buf[:lr.wr])
		lr.buf = nb
	}
	n, err := lr.r.Read(lr.buf[lr.wr:])
	if n < 0 || n > len(lr.buf)-lr.wr {
		n = 0
		err = io.ErrNoProgress
	}
	lr.wr += n
	if n == 0 && err == nil {
		// io.Reader allows (0, nil) but discourages it; do not spin on it.
		if lr.zeros++; lr.zeros > 100 {
			err = io.ErrNoProgress
		}
	} else {
		lr.zeros = 0
	}
	if err != nil {
		lr.err = err
	}
}

// trimEOL returns b without its final LF or CRLF.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n > 1 && b[n-2] == '\r' {
			b = b[:n-2]
		}
	}
	return b
}

// isBlankLine reports whether a line is empty apart from its terminator,
// which ends a header section (RFC 5322 §2.1).
func isBlankLine(b []byte) bool {
	return len(b) > 0 && len(trimEOL(b)) == 0
}
