package imapclient

import (
	"slices"
	"strconv"
	"strings"
)

// FormatSet renders UIDs as an RFC 3501 §9 sequence-set, sorted, with runs
// as ranges: 1,2,3,5 → "1:3,5". It returns "" for none.
func FormatSet(uids []uint32) string {
	s := slices.Clone(uids)
	slices.Sort(s)
	s = slices.Compact(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(s[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(s[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// ParseSet expands a sequence-set of explicit numbers and ranges ("1:3,5",
// as an ESEARCH ALL result holds, RFC 4731 §3.1) into sorted numbers. "*"
// is not allowed: a server's reply names real messages. At most max
// numbers are produced.
func ParseSet(s string, max int) ([]uint32, bool) {
	var out []uint32
	for item := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(item, ":")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 32)
		}
		if err1 != nil || err2 != nil || a == 0 || b == 0 {
			return nil, false
		}
		if a > b {
			a, b = b, a
		}
		if b-a >= uint64(max-len(out)) {
			return nil, false
		}
		for n := a; n <= b; n++ {
			out = append(out, uint32(n))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), true
}
