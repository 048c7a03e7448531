package message

import (
	"strings"
	"testing"
)

func TestDecodeBase64Lenient(t *testing.T) {
	for in, want := range map[string]string{
		"SGVsbG8gV29ybGQh":        "Hello World!",
		"SGVs\r\nbG8g\nV29y bGQh": "Hello World!",
		"SGVsbG8gV29ybGQ":         "Hello World",  // missing padding
		"SGVsbG8gV29ybGQhx":       "Hello World!", // 4n+1: dangling sextet dropped
		"PGh0*bWw+Cg==":           "<html>\n",     // stray character ignored
		"SGk=SGk=":                "HiHi",         // concatenated encodings
		"":                        "",
		"====":                    "",
		"SGVsbG8-_w":              "Hello>\xff", // URL alphabet
	} {
		if got := string(decodeBase64Lenient(nil, []byte(in))); got != want {
			t.Errorf("decodeBase64Lenient(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeQP(t *testing.T) {
	for in, want := range map[string]string{
		"caf=C3=A9":            "café",
		"soft=\r\nbreak":       "softbreak",
		"soft=  \nbreak":       "softbreak",
		"trailing   \r\nspace": "trailing\r\nspace",
		"bad=ZZ and = alone":   "bad=ZZ and = alone",
		"lower=c3=a9":          "loweré",
		"end=":                 "end",
		"keep\nbare LF":        "keep\nbare LF",
		"=3D=20\r\n":           "= \r\n",
	} {
		if got := string(decodeQP(nil, []byte(in))); got != want {
			t.Errorf("decodeQP(%q) = %q, want %q", in, got, want)
		}
	}
	if got := normalizeCTE(" Quoted-Printable (comment) "); got != "quoted-printable" {
		t.Errorf("normalizeCTE = %q", got)
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	in := "a\r\nb\n" + long + "\r\n\rc"
	lr := newLineReader(strings.NewReader(in))
	var got []string
	var firsts []bool
	for {
		ln, ok := lr.next()
		if !ok {
			break
		}
		got = append(got, string(ln.b))
		firsts = append(firsts, ln.first)
	}
	if len(got) != 5 || got[0] != "a\r\n" || got[1] != "b\n" || len(got[2]) != maxLine || got[3] != "xxxxxxxxxx\r\n" || got[4] != "\rc" {
		t.Fatalf("lines = %q", got)
	}
	if !firsts[2] || firsts[3] || !firsts[4] {
		t.Errorf("first flags = %v", firsts)
	}
	if lr.pos.off != int64(len(in)) || lr.pos.lfs != 3 || lr.pos.bare != 1 {
		t.Errorf("end mark = %+v", lr.pos)
	}
}
