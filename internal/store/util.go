package store

import (
	"slices"
	"strings"
)

// NormalizeKeywords returns the keywords sorted and without duplicates
// (compared case-insensitively, as RFC 9051 §2.3.2 requires; the first
// spelling wins). Empty strings are dropped.
func NormalizeKeywords(kw []string) []string {
	if len(kw) == 0 {
		return nil
	}
	out := make([]string, 0, len(kw))
	seen := make(map[string]bool, len(kw))
	for _, k := range kw {
		if k == "" {
			continue
		}
		l := strings.ToLower(k)
		if seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// ApplyFlags computes the flags and keywords a message has after an update.
// Both keyword lists must be normalized; so is the result.
func ApplyFlags(op FlagOp, curFlags Flags, curKw []string, flags Flags, kw []string) (Flags, []string) {
	switch op {
	case FlagsAdd:
		return curFlags | flags, NormalizeKeywords(append(slices.Clone(curKw), kw...))
	case FlagsRemove:
		var out []string
		for _, k := range curKw {
			if !slices.ContainsFunc(kw, func(r string) bool { return strings.EqualFold(r, k) }) {
				out = append(out, k)
			}
		}
		return curFlags &^ flags, out
	default:
		return flags, kw
	}
}

// JoinKeywords encodes keywords for a text column: space-separated (IMAP
// keywords are atoms and cannot contain spaces).
func JoinKeywords(kw []string) string { return strings.Join(kw, " ") }

// SplitKeywords decodes JoinKeywords.
func SplitKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// ParentNames returns the names of the ancestors of a mailbox name,
// outermost first: "a/b/c" gives ["a", "a/b"].
func ParentNames(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == HierarchySeparator[0] {
			out = append(out, name[:i])
		}
	}
	return out
}

// CanonicalMailboxName spells INBOX (in any case) as "INBOX", also as the
// first level of a longer name, and leaves other names alone.
func CanonicalMailboxName(name string) string {
	if IsInbox(name) {
		return InboxName
	}
	if len(name) > len(InboxName) && name[len(InboxName)] == HierarchySeparator[0] && IsInbox(name[:len(InboxName)]) {
		return InboxName + name[len(InboxName):]
	}
	return name
}

// EqualFlags reports whether two flag states are the same.
func EqualFlags(f1 Flags, kw1 []string, f2 Flags, kw2 []string) bool {
	if f1 != f2 || len(kw1) != len(kw2) {
		return false
	}
	for i := range kw1 {
		if !strings.EqualFold(kw1[i], kw2[i]) {
			return false
		}
	}
	return true
}
