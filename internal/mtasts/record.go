package mtasts

import (
	"errors"
	"strings"
)

// ParseRecord reads an _mta-sts TXT record (RFC 8461 §3.1):
// "v=STSv1; id=..." with the id 1 to 32 letters and digits; other fields
// are extensions and ignored. It returns the id.
func ParseRecord(txt string) (string, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return "", errors.New("mtasts: record does not start with v=STSv1")
	}
	id := ""
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			if strings.TrimSpace(f) == "" {
				continue
			}
			return "", errors.New("mtasts: malformed record field " + f)
		}
		if k == "id" && id == "" {
			id = v
		}
	}
	if id == "" || len(id) > 32 {
		return "", errors.New("mtasts: record has no valid id")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", errors.New("mtasts: record has no valid id")
		}
	}
	return id, nil
}

// isRecord reports whether a TXT record claims to be an MTA-STS record, so
// that several such records can be told apart from other TXT records at
// the same name (§3.1: those are ignored).
func isRecord(txt string) bool {
	return strings.HasPrefix(strings.TrimSpace(txt), "v=STSv1")
}
