package imapd

import (
	"testing"
	"unicode/utf8"
)

func TestMUTF7(t *testing.T) {
	for utf, enc := range map[string]string{
		"INBOX":              "INBOX",
		"Zürich":             "Z&APw-rich",
		"~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		"A&B":                "A&-B",
		"&":                  "&-",
		"Ελληνικά":           "&A5UDuwO7A7cDvQO5A7oDrA-",
		"😀 smile":            "&2D3eAA- smile",
	} {
		if got := encodeMUTF7(utf); got != enc {
			t.Errorf("encode %q = %q, want %q", utf, got, enc)
		}
		if got, err := decodeMUTF7(enc); err != nil || got != utf {
			t.Errorf("decode %q = %q, %v; want %q", enc, got, err, utf)
		}
	}
}

func TestMUTF7Invalid(t *testing.T) {
	for _, s := range []string{
		"&APw",        // unterminated
		"&AGE-&AGE-",  // adjacent shifts must be one
		"&AEE-",       // "A" must not be encoded
		"&APw=-",      // padding
		"caf\xc3\xa9", // raw 8-bit
		"a\x01b",      // control
		"&2D0-",       // lone surrogate
		"&A-",         // not a whole UTF-16 unit
	} {
		if got, err := decodeMUTF7(s); err == nil {
			t.Errorf("decode %q = %q, want an error", s, got)
		}
	}
}

func FuzzMUTF7(f *testing.F) {
	for _, s := range []string{"INBOX", "Z&APw-rich", "&-", "&2D3eAA-", "&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := decodeMUTF7(s); err == nil {
			if !utf8.ValidString(dec) {
				t.Fatalf("decode %q gave invalid UTF-8", s)
			}
			if enc := encodeMUTF7(dec); enc != s {
				t.Fatalf("decode %q = %q, which encodes to %q", s, dec, enc)
			}
		}
		if utf8.ValidString(s) {
			if back, err := decodeMUTF7(encodeMUTF7(s)); err != nil || back != s {
				if !hasControl(s) {
					t.Fatalf("round trip of %q: %q %v", s, back, err)
				}
			}
		}
	})
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
