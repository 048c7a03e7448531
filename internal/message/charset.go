package message

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// Charset conversion to UTF-8 (RFC 2046 §4.1.2 charset parameter, RFC 2047
// §3 and RFC 2231 §4 charsets in header text).
//
// Names are looked up in the WHATWG Encoding Standard label table first
// (golang.org/x/text/encoding/htmlindex): it is what mail clients do in
// practice, and it maps the labels that real mail misuses onto the superset
// that was meant: "iso-8859-1" and "us-ascii" onto windows-1252, "gb2312"
// onto GBK, "ks_c_5601-1987" onto EUC-KR/CP949. IANA names not in that table
// fall back to ianaindex. go-message's charset package does the same lookups
// in the other order and registers itself in a package-level variable on
// import; we want neither. UTF-7 is not supported by x/text; such text is
// treated like an unknown charset.

// decodeCharset converts b from charset to UTF-8. An empty or unknown
// charset, or one that fails to decode, is handled like raw 8-bit text: kept
// if it is valid UTF-8, read as windows-1252 otherwise, so that the result
// is always valid UTF-8.
func decodeCharset(charset string, b []byte) string {
	enc, special := lookupEncoding(charset)
	if special == csUTF8 || (special == csNone && isASCIISafe(b)) {
		return validUTF8(b)
	}
	if enc == nil {
		return fallback8bit(b)
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return fallback8bit(b)
	}
	return validUTF8(out)
}

// isASCIISafe reports whether b can be taken as-is in any ASCII-compatible
// charset: no octet above 127 and no ESC (ISO-2022 shifts) or NUL (UTF-16).
func isASCIISafe(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x1b || c == 0 {
			return false
		}
	}
	return true
}

type charsetKind int

const (
	csNone charsetKind = iota // an ASCII-compatible single or multibyte charset
	csUTF8                    // UTF-8 or US-ASCII proper: no conversion
	csWide                    // UTF-16/32, ISO-2022: must always be converted
)

// lookupEncoding finds the decoder for a charset name.
func lookupEncoding(name string) (encoding.Encoding, charsetKind) {
	name = strings.ToLower(strings.Trim(name, " \t\"'"))
	switch name {
	case "utf-8", "utf8", "x-utf-8", "x-utf_8j":
		return nil, csUTF8
	case "utf-16":
		// RFC 2781 §4.3: big-endian unless a BOM says otherwise.
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), csWide
	case "cp1252", "cp-1252", "x-cp1252", "ansi", "ansi_x3.110-1983":
		return charmap.Windows1252, csNone
	case "", "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined":
		return nil, csNone
	}
	if enc, err := htmlindex.Get(name); err == nil && enc != nil {
		return enc, kindOf(name)
	}
	for _, n := range []string{name, "cs" + name, strings.TrimPrefix(name, "x-")} {
		if enc, err := ianaindex.MIME.Encoding(n); err == nil && enc != nil {
			return enc, kindOf(name)
		}
	}
	return nil, csNone
}

func kindOf(name string) charsetKind {
	if strings.HasPrefix(name, "utf-16") || strings.HasPrefix(name, "utf-32") ||
		strings.HasPrefix(name, "ucs-") || strings.HasPrefix(name, "iso-2022") ||
		strings.HasPrefix(name, "csiso2022") || strings.HasPrefix(name, "hz") {
		return csWide
	}
	return csNone
}

// fallback8bit reads unlabelled text: UTF-8 if it is valid, else
// windows-1252, the most common 8-bit charset of unlabelled Western mail.
func fallback8bit(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// validUTF8 returns b as a string with invalid sequences replaced by U+FFFD.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
