package imapclient

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// RFC 3501 §5.1.3: mailbox names are "modified UTF-7": printable US-ASCII
// stands for itself except "&", which is written "&-"; anything else is
// UTF-16BE in modified base64 (RFC 2152 with "," for "/", no padding)
// between "&" and "-".
var b64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding).Strict()

// EncodeMailbox converts a UTF-8 mailbox name to modified UTF-7.
func EncodeMailbox(name string) string {
	var b strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		buf := make([]byte, 2*len(run))
		for i, u := range run {
			buf[2*i], buf[2*i+1] = byte(u>>8), byte(u)
		}
		b.WriteByte('&')
		b.WriteString(b64.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range name {
		if r >= 0x20 && r <= 0x7e {
			flush()
			b.WriteRune(r)
			if r == '&' {
				b.WriteByte('-')
			}
			continue
		}
		run = utf16.AppendRune(run, r)
	}
	flush()
	return b.String()
}

var errUTF7 = errors.New("imap: malformed modified UTF-7 mailbox name")

// DecodeMailbox converts a modified UTF-7 mailbox name to UTF-8. It
// rejects what RFC 3501 §5.1.3 forbids: 8-bit octets, an unterminated or
// empty shift, a shifted run of printable ASCII, adjacent shifts.
func DecodeMailbox(name string) (string, error) {
	var b strings.Builder
	lastShiftEnd := -1
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c > 0x7e {
			return "", errUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(name[i+1:], '-')
		if end < 0 {
			return "", errUTF7
		}
		enc := name[i+1 : i+1+end]
		if enc == "" {
			b.WriteByte('&')
			i += 1 + end
			continue
		}
		if lastShiftEnd == i {
			return "", errUTF7 // "&AKM-&AKM-" must have been one shift
		}
		s, err := decodeShift(enc)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		i += 1 + end
		lastShiftEnd = i + 1
	}
	return b.String(), nil
}

func decodeShift(enc string) (string, error) {
	buf, err := b64.DecodeString(enc)
	if err != nil || len(buf)%2 != 0 {
		return "", errUTF7
	}
	u := make([]uint16, len(buf)/2)
	for i := range u {
		u[i] = uint16(buf[2*i])<<8 | uint16(buf[2*i+1])
	}
	rs := utf16.Decode(u)
	var b strings.Builder
	for _, r := range rs {
		if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
			return "", errUTF7
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}
