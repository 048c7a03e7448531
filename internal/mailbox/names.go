package mailbox

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"posthorn/internal/store"
)

// Limits on mailbox names.
const (
	MaxNameLength  = 1000 // octets, whole name
	MaxLevelLength = 255  // octets, one level
	MaxDepth       = 32   // levels
)

// ValidateName checks a mailbox name (UTF-8, "/" between levels) and
// returns it canonical (INBOX spelled so). It refuses: invalid UTF-8,
// control characters, the IMAP wildcards '*' and '%', empty levels
// (a leading, trailing or doubled "/"), "." and ".." levels, levels with
// leading or trailing white space, and names over the length limits.
func ValidateName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%q: %s: %w", name, why, ErrInvalidName)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > MaxNameLength {
		return bad("too long")
	}
	if !utf8.ValidString(name) {
		return bad("not UTF-8")
	}
	levels := strings.Split(name, store.HierarchySeparator)
	if len(levels) > MaxDepth {
		return bad("too deep")
	}
	for _, l := range levels {
		switch {
		case l == "":
			return bad("empty level")
		case l == "." || l == "..":
			return bad("dot level")
		case len(l) > MaxLevelLength:
			return bad("level too long")
		case strings.TrimSpace(l) != l:
			return bad("white space around a level")
		}
		for _, r := range l {
			if unicode.IsControl(r) || r == '*' || r == '%' || r == utf8.RuneError {
				return bad("forbidden character")
			}
		}
	}
	return store.CanonicalMailboxName(name), nil
}
