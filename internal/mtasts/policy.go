package mtasts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is a policy's mode (RFC 8461 §5).
type Mode string

// Modes.
const (
	Enforce Mode = "enforce" // deliver only to matching MX hosts over verified TLS
	Testing Mode = "testing" // deliver as usual, report failures
	None    Mode = "none"    // no policy (used to withdraw one)
)

// MaxMaxAge is the largest max_age allowed: 31557600 seconds, about a
// year (RFC 8461 §3.2).
const MaxMaxAge = 31557600 * time.Second

// Policy is an MTA-STS policy (RFC 8461 §3.2).
type Policy struct {
	Mode   Mode
	MX     []string // host name patterns; "*.example.com" matches one label
	MaxAge time.Duration
}

// Parse reads a policy body. Lines end in LF or CRLF; each is "key: value".
// version must be STSv1, mode one of the three, max_age a number of
// seconds up to MaxMaxAge, and at least one mx is needed unless the mode
// is none. Unknown keys are ignored (§3.2); of a repeated key other than
// mx the first counts.
func Parse(body []byte) (*Policy, error) {
	var p Policy
	seen := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mtasts: policy line %q has no colon", line)
		}
		value = strings.Trim(value, " \t")
		if key != "mx" && seen[key] {
			continue
		}
		seen[key] = true
		switch key {
		case "version":
			if value != "STSv1" {
				return nil, fmt.Errorf("mtasts: unsupported policy version %q", value)
			}
		case "mode":
			switch m := Mode(value); m {
			case Enforce, Testing, None:
				p.Mode = m
			default:
				return nil, fmt.Errorf("mtasts: unknown mode %q", value)
			}
		case "max_age":
			n, err := strconv.ParseUint(value, 10, 64)
			if err != nil || len(value) > 10 || time.Duration(n)*time.Second > MaxMaxAge {
				return nil, fmt.Errorf("mtasts: bad max_age %q", value)
			}
			p.MaxAge = time.Duration(n) * time.Second
		case "mx":
			if !validPattern(value) {
				return nil, fmt.Errorf("mtasts: bad mx pattern %q", value)
			}
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(value, ".")))
		}
	}
	switch {
	case !seen["version"]:
		return nil, errors.New("mtasts: policy has no version")
	case p.Mode == "":
		return nil, errors.New("mtasts: policy has no mode")
	case !seen["max_age"]:
		return nil, errors.New("mtasts: policy has no max_age")
	case len(p.MX) == 0 && p.Mode != None:
		return nil, errors.New("mtasts: policy names no mx")
	}
	return &p, nil
}

// validPattern accepts a host name, or "*." and a host name (§3.2: the
// wildcard may only be the whole leftmost label).
func validPattern(s string) bool {
	s = strings.TrimPrefix(strings.TrimSuffix(s, "."), "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Matches reports whether an MX host name matches one of the policy's
// patterns (§4.1): exactly, or "*.example.com" for a name with exactly one
// more label than example.com. Case and a final dot do not matter.
func (p *Policy) Matches(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			label, parent, found := strings.Cut(h, ".")
			if found && label != "" && parent == rest {
				return true
			}
			continue
		}
		if h == pat {
			return true
		}
	}
	return false
}

// String renders the policy as it is served: CRLF-terminated lines,
// version first.
func (p *Policy) String() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + string(p.Mode) + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\r\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(int64(p.MaxAge/time.Second), 10) + "\r\n")
	return b.String()
}

// ID is an id for the policy's TXT record (§3.1: 1 to 32 letters and
// digits that change whenever the policy does): the start of the SHA-256
// of its text.
func (p *Policy) ID() string {
	sum := sha256.Sum256([]byte(p.String()))
	return hex.EncodeToString(sum[:10])
}
