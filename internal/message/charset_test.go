package message

import "testing"

func TestDecodeCharset(t *testing.T) {
	tests := []struct {
		cs, in, want string
	}{
		{"utf-8", "caf\xc3\xa9", "café"},
		{"UTF-8", "bad \xff", "bad \uFFFD"},
		{"iso-8859-1", "caf\xe9 \x80", "café €"}, // WHATWG: windows-1252
		{"us-ascii", "caf\xe9", "café"},
		{"", "caf\xe9", "café"},
		{"", "caf\xc3\xa9", "café"},
		{"x-no-such-charset", "caf\xe9", "café"},
		{"\"koi8-r\"", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"},
		{"iso-8859-15", "\xa4", "€"},
		{"gb2312", "\xc4\xe3\xba\xc3", "你好"},
		{"big5", "\xa7\x41\xa6\x6e", "你好"},
		{"shift_jis", "\x93\xfa\x96\x7b", "日本"},
		{"euc-jp", "\xc6\xfc\xcb\xdc", "日本"},
		{"iso-2022-jp", "\x1b$BF|K\\\x1b(B", "日本"},
		{"ks_c_5601-1987", "\xc7\xd1\xb1\xb9", "한국"},
		{"utf-16le", "h\x00i\x00", "hi"},
		{"utf-16", "\x00h\x00i", "hi"},
		{"utf-16", "\xff\xfeh\x00i\x00", "hi"},
	}
	for _, tt := range tests {
		if got := decodeCharset(tt.cs, []byte(tt.in)); got != tt.want {
			t.Errorf("decodeCharset(%q, %q) = %q, want %q", tt.cs, tt.in, got, tt.want)
		}
	}
}
