package imapd

import (
	"testing"
)

func TestFilterHeader(t *testing.T) {
	hdr := []byte("From: a\r\nX-Long: one\r\n two\r\nTo: b\r\nfrom: again\r\n\r\n")
	if got := string(filterHeader(hdr, []string{"FROM", "x-long"}, false)); got != "From: a\r\nX-Long: one\r\n two\r\nfrom: again\r\n\r\n" {
		t.Errorf("FIELDS: %q", got)
	}
	if got := string(filterHeader(hdr, []string{"from", "X-Long"}, true)); got != "To: b\r\n\r\n" {
		t.Errorf("FIELDS.NOT: %q", got)
	}
	if got := string(filterHeader(hdr, []string{"Nothing"}, false)); got != "\r\n" {
		t.Errorf("no match: %q", got)
	}
}

func TestDecodeCTE(t *testing.T) {
	for _, c := range []struct{ enc, in, want string }{
		{"base64", "aGVs\r\nbG8=\r\n", "hello"},
		{"BASE64", "aGVsbG8", "hello"},
		{"base64", "aGVsbG8x!!", "hello1"},
		{"quoted-printable", "caf=E9=\r\n au lait", "caf\xe9 au lait"},
		{"7bit", "as is", "as is"},
	} {
		got, ok := decodeCTE(c.enc, []byte(c.in))
		if !ok || string(got) != c.want {
			t.Errorf("%s %q: %q %v", c.enc, c.in, got, ok)
		}
	}
	if _, ok := decodeCTE("x-uuencode", nil); ok {
		t.Error("unknown encoding accepted")
	}
}
