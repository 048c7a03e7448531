package delivery

import "strings"

// returnPath renders the Return-Path field that final delivery adds
// (RFC 5321 §4.4): "Return-Path: <" addr-spec ">" CRLF, "<>" for the null
// sender. The address is written as it is, UTF-8 included (RFC 6532 §3.2
// allows it with SMTPUTF8); an RFC 2047 encoded-word is not allowed in an
// addr-spec (RFC 2047 §5), so the field is never encoded. A local part
// that is not a dot-string (go-smtp hands over quoted local parts
// unquoted) is quoted again (RFC 5321 §4.1.2). Control characters, which
// no valid address has, are dropped so the field cannot be broken.
func returnPath(from string) []byte {
	from = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, from)
	if from == "" {
		return []byte("Return-Path: <>\r\n")
	}
	at := strings.LastIndexByte(from, '@')
	local, domain := from, ""
	if at >= 0 {
		local, domain = from[:at], from[at:]
	}
	if !isDotString(local) {
		local = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"`
	}
	return []byte("Return-Path: <" + local + domain + ">\r\n")
}

// isDotString reports whether s is an RFC 5321 §4.1.2 Dot-string (with
// UTF-8 allowed, RFC 6531 §3.3).
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r >= 0x80:
		case strings.ContainsRune(".!#$%&'*+-/=?^_`{|}~", r):
		default:
			return false
		}
	}
	return true
}
