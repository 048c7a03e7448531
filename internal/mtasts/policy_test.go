package mtasts

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	good := []struct {
		in   string
		want Policy
	}{
		// The example of RFC 8461 §3.2.
		{"version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n",
			Policy{Enforce, []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, 604800 * time.Second}},
		{"version: STSv1\r\nmode: testing\r\nmx: MX.Example.COM.\r\nmax_age:86400", Policy{Testing, []string{"mx.example.com"}, 24 * time.Hour}},
		{"version: STSv1\nmode: none\nmax_age: 0\n", Policy{None, nil, 0}},
		{"version: STSv1\nmode: enforce\nmode: none\nmx: a.test\nmax_age: 31557600\nfuture: thing\n", Policy{Enforce, []string{"a.test"}, MaxMaxAge}},
	}
	for _, tt := range good {
		p, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if p.Mode != tt.want.Mode || p.MaxAge != tt.want.MaxAge || strings.Join(p.MX, ",") != strings.Join(tt.want.MX, ",") {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, *p, tt.want)
		}
	}
	for _, in := range []string{
		"",
		"mode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\nno colon here\n",
	} {
		if p, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, *p)
		}
	}
}

func TestMatches(t *testing.T) {
	p := &Policy{Mode: Enforce, MX: []string{"mail.example.com", "*.example.net"}}
	for host, want := range map[string]bool{
		"mail.example.com":      true,
		"MAIL.example.com.":     true,
		"mx1.example.net":       true,
		"example.net":           false,
		"a.b.example.net":       false,
		"other.example.com":     false,
		"mail.example.com.evil": false,
	} {
		if got := p.Matches(host); got != want {
			t.Errorf("Matches(%s) = %v, want %v", host, got, want)
		}
	}
}

func TestStringRoundTripAndID(t *testing.T) {
	p := &Policy{Mode: Enforce, MX: []string{"mx.example.test"}, MaxAge: 7 * 24 * time.Hour}
	want := "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 604800\r\n"
	if p.String() != want {
		t.Fatalf("String = %q", p.String())
	}
	back, err := Parse([]byte(p.String()))
	if err != nil || back.String() != want {
		t.Fatalf("round trip: %v", err)
	}
	id := p.ID()
	if len(id) != 20 {
		t.Fatalf("ID %q", id)
	}
	if _, err := ParseRecord("v=STSv1; id=" + id); err != nil {
		t.Fatalf("our id is not a valid record id: %v", err)
	}
	p.Mode = Testing
	if p.ID() == id {
		t.Fatal("the id did not change with the policy")
	}
}

func TestParseRecord(t *testing.T) {
	for in, want := range map[string]string{
		"v=STSv1; id=20160831085700Z;": "20160831085700Z",
		"v=STSv1;id=abc":               "abc",
		" v=STSv1 ; id=abc ; ext=1":    "abc",
	} {
		if got, err := ParseRecord(in); err != nil || got != want {
			t.Errorf("ParseRecord(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "v=STSv2; id=a", "id=a; v=STSv1", "v=STSv1", "v=STSv1; id=", "v=STSv1; id=a-b",
		"v=STSv1; id=" + strings.Repeat("a", 33), "v=STSv1; junk"} {
		if id, err := ParseRecord(in); err == nil {
			t.Errorf("ParseRecord(%q) = %q, want an error", in, id)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n"))
	f.Add([]byte("version: STSv1\r\nmode: none\r\nmax_age: 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		// What parses renders into text that parses to the same policy.
		again, err := Parse([]byte(p.String()))
		if err != nil || again.String() != p.String() {
			t.Fatalf("%q parsed, but its rendering %q does not round-trip: %v", b, p.String(), err)
		}
		if p.MaxAge < 0 || p.MaxAge > MaxMaxAge {
			t.Fatalf("max_age %v out of range", p.MaxAge)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1;id=a;x=y")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseRecord(s)
		if err == nil && (id == "" || len(id) > 32 || !isRecord(s)) {
			t.Fatalf("ParseRecord(%q) = %q", s, id)
		}
	})
}
