package pop3d

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line, kw, args string
		ok             bool
	}{
		{"STAT", "STAT", "", true},
		{"list 3", "LIST", "3", true},
		{"TOP 1 10", "TOP", "1 10", true},
		{"PASS a b\tc", "PASS", "a b\tc", true},
		{"USER a\tb", "", "", false},
		{"QUIT ", "QUIT", "", true},
		{"ST", "", "", false},
		{"STAT1", "", "", false},
		{" STAT", "", "", false},
		{"", "", "", false},
		{"ABCDEFGHI", "", "", false},
		{"AUTH PLAIN\x00", "", "", false},
	} {
		kw, args, ok := parseCommand([]byte(tc.line))
		if kw != tc.kw || args != tc.args || ok != tc.ok {
			t.Errorf("parseCommand(%q) = %q, %q, %v; want %q, %q, %v", tc.line, kw, args, ok, tc.kw, tc.args, tc.ok)
		}
	}
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"1": 1, "007": 7, "999999999": 999999999} {
		if n, ok := parseNumber(in); !ok || n != want {
			t.Errorf("parseNumber(%q) = %d, %v", in, n, ok)
		}
	}
	for _, in := range []string{"", "-1", "+1", "1 ", "1x", "1000000000", "٣"} {
		if n, ok := parseNumber(in); ok {
			t.Errorf("parseNumber(%q) = %d, true", in, n)
		}
	}
}

func TestParsePlain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in               string
		authz, user, pwd string
		ok               bool
	}{
		{"\x00u\x00p", "", "u", "p", true},
		{"z\x00u\x00p w", "z", "u", "p w", true},
		{"u\x00p", "", "", "", false},
		{"\x00\x00p", "", "", "", false},
		{"\x00u\x00", "", "", "", false},
		{"\x00u\x00p\x00x", "", "", "", false},
		{"\x00u\x00\xff", "", "", "", false},
	} {
		a, u, p, ok := parsePlain([]byte(tc.in))
		if a != tc.authz || u != tc.user || p != tc.pwd || ok != tc.ok {
			t.Errorf("parsePlain(%q) = %q %q %q %v", tc.in, a, u, p, ok)
		}
	}
}

func TestLooksLikeHTTP(t *testing.T) {
	t.Parallel()
	if !looksLikeHTTP([]byte("GET / HTTP/1.1")) || !looksLikeHTTP([]byte("POST /x HTTP/1.0")) {
		t.Fatal("HTTP request line not recognised")
	}
	if looksLikeHTTP([]byte("USER GET")) || looksLikeHTTP([]byte("GET")) || looksLikeHTTP([]byte("LIST 1")) {
		t.Fatal("POP3 command taken for HTTP")
	}
}

// FuzzParseCommand: a parsed command has a plain upper-case keyword and
// gives back the line it came from.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "TOP 1 2", "PASS x y", "AUTH PLAIN AGEAYg==", "\x00", "USER  a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		kw, args, ok := parseCommand(line)
		if !ok {
			return
		}
		if len(kw) < 3 || len(kw) > maxKeyword || strings.ToUpper(kw) != kw || strings.Trim(kw, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Fatalf("bad keyword %q from %q", kw, line)
		}
		back := kw
		if bytes.IndexByte(line, ' ') >= 0 {
			back += " " + args
		}
		if !strings.EqualFold(back, string(line)) {
			t.Fatalf("%q parsed as %q %q", line, kw, args)
		}
	})
}

// FuzzParsePlain: an accepted PLAIN message is exactly its three parts.
func FuzzParsePlain(f *testing.F) {
	f.Add([]byte("\x00alice@example.test\x00password"))
	f.Add([]byte("a\x00b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, u, p, ok := parsePlain(b)
		if !ok {
			return
		}
		if u == "" || p == "" || a+"\x00"+u+"\x00"+p != string(b) {
			t.Fatalf("parsePlain(%q) = %q %q %q", b, a, u, p)
		}
	})
}
