package message

import "strings"

// BaseSubject returns the RFC 5256 §2.1 base subject of a decoded subject
// (Meta.Subject): white space collapsed, "Re:", "Fw:", "Fwd:" leaders,
// "[blob]" prefixes, "(fwd)" trailers and "[fwd: ...]" wrappers removed.
// Case is kept; SORT and THREAD compare base subjects case-insensitively.
func BaseSubject(subject string) string {
	// (1) Encoded-words are already decoded; tabs and continuations become
	// spaces and runs of spaces one space.
	s := strings.Join(strings.Fields(Unfold(subject)), " ")
	for {
		// (2) Remove subj-trailer: "(fwd)" / WSP, repeatedly.
		for {
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
			} else if hasSuffixFold(s, "(fwd)") {
				s = s[:len(s)-5]
			} else {
				break
			}
		}
		// (3)-(5) Remove subj-leader and subj-blob prefixes until none.
		for {
			changed := false
			if n := leaderLen(s); n > 0 {
				s, changed = s[n:], true
			}
			if n := blobLen(s); n > 0 && strings.TrimSpace(s[n:]) != "" {
				s, changed = s[n:], true
			}
			if !changed {
				break
			}
		}
		// (6) "[fwd:" ... "]" wrapper: remove and go again from (2).
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && strings.HasSuffix(s, "]") {
			s = s[5 : len(s)-1]
			continue
		}
		return s
	}
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// leaderLen returns the length of a subj-leader at the start of s:
// (*subj-blob subj-refwd) / WSP.
func leaderLen(s string) int {
	if s != "" && (s[0] == ' ' || s[0] == '\t') {
		return 1
	}
	i := 0
	for {
		n := blobLen(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	if n := refwdLen(s[i:]); n > 0 {
		return i + n
	}
	return 0
}

// refwdLen matches subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func refwdLen(s string) int {
	var i int
	switch {
	case len(s) >= 2 && strings.EqualFold(s[:2], "re"):
		i = 2
	case len(s) >= 3 && strings.EqualFold(s[:3], "fwd"):
		i = 3
	case len(s) >= 2 && strings.EqualFold(s[:2], "fw"):
		i = 2
	default:
		return 0
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	i += blobLen(s[i:])
	if i < len(s) && s[i] == ':' {
		return i + 1
	}
	return 0
}

// blobLen matches subj-blob = "[" *BLOBCHAR "]" *WSP.
func blobLen(s string) int {
	if s == "" || s[0] != '[' {
		return 0
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0
	}
	i := end + 2
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}
