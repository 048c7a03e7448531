package autoconfig

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update, then review the diff):\n%s", name, got)
	}
}

// testServer serves a Handler on 127.0.0.1 with the usual six endpoints,
// STARTTLS ones listed first to show that implicit TLS is put first.
func testServer(t *testing.T, lookupErr error) *httptest.Server {
	t.Helper()
	h := New(Options{
		Hostname: "mail.example.org",
		Endpoints: []Endpoint{
			{IMAP, 143, StartTLS}, {IMAP, 993, ImplicitTLS}, {POP3, 110, StartTLS}, {POP3, 995, ImplicitTLS},
			{SMTP, 587, StartTLS}, {SMTP, 465, ImplicitTLS}, {SMTP, 0, ImplicitTLS},
		},
		IsLocalDomain: func(_ context.Context, d string) (bool, error) {
			return d == "example.org" || d == "xn--bcher-kva.example", lookupErr
		},
	})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, u, host, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestThunderbird(t *testing.T) {
	srv := testServer(t, nil)
	q := "?emailaddress=" + url.QueryEscape("alice@Example.ORG")
	code, hdr, body := do(t, "GET", srv.URL+PathWellKnown+q, "", "")
	if code != 200 || hdr.Get("Content-Type") != "application/xml; charset=utf-8" {
		t.Fatalf("%d %v\n%s", code, hdr, body)
	}
	checkGolden(t, "config-v1.1.xml", body)
	var cc clientConfig
	if err := xml.Unmarshal(body, &cc); err != nil {
		t.Fatal(err)
	}
	if cc.Provider.Domain != "example.org" || len(cc.Provider.Incoming) != 4 || len(cc.Provider.Outgoing) != 2 ||
		cc.Provider.Incoming[0].Port != 993 || cc.Provider.Outgoing[0].SocketType != "SSL" || cc.Provider.Outgoing[1].Port != 587 {
		t.Errorf("parsed %+v", cc)
	}
	// The same from autoconfig.DOMAIN without a parameter.
	if code, _, b2 := do(t, "GET", srv.URL+PathMail, "autoconfig.example.org:8080", ""); code != 200 || !bytes.Equal(b2, body) {
		t.Errorf("by Host: %d\n%s", code, b2)
	}
	if code, _, b3 := do(t, "GET", srv.URL+PathMail+"?emailaddress="+url.QueryEscape("x@bücher.example"), "", ""); code != 200 || !bytes.Contains(b3, []byte("<domain>xn--bcher-kva.example</domain>")) {
		t.Errorf("IDN: %d\n%s", code, b3)
	}
	if code, _, _ := do(t, "HEAD", srv.URL+PathWellKnown+q, "", ""); code != 200 {
		t.Errorf("HEAD: %d", code)
	}
}

func TestAutodiscover(t *testing.T) {
	srv := testServer(t, nil)
	req := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.org</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
	code, hdr, body := do(t, "POST", srv.URL+PathAutodiscover, "", req)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/xml") {
		t.Fatalf("%d\n%s", code, body)
	}
	checkGolden(t, "autodiscover.xml", body)
	var resp autodiscoverResponse
	if err := xml.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	ps := resp.Response.Account.Protocol
	if len(ps) != 6 || ps[0].Type != "IMAP" || ps[0].Encryption != "SSL" || ps[1].Encryption != "TLS" || ps[5].Port != 587 || ps[5].LoginName != "alice@example.org" {
		t.Errorf("parsed %+v", ps)
	}
	if code, _, b2 := do(t, "POST", srv.URL+"/Autodiscover/Autodiscover.xml", "", req); code != 200 || !bytes.Equal(b2, body) {
		t.Errorf("capitalized path: %d", code)
	}
}

// TestAutodiscoverEscapes: what the client sends comes back escaped and
// parses to the same text.
func TestAutodiscoverEscapes(t *testing.T) {
	srv := testServer(t, nil)
	addr := `"a&<b>'c\""@example.org`
	var esc bytes.Buffer
	xml.EscapeText(&esc, []byte(addr))
	code, _, body := do(t, "POST", srv.URL+PathAutodiscover, "", "<Autodiscover><Request><EMailAddress>"+esc.String()+"</EMailAddress></Request></Autodiscover>")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if bytes.Contains(body, []byte("<b>")) {
		t.Errorf("unescaped markup in\n%s", body)
	}
	var resp autodiscoverResponse
	if err := xml.Unmarshal(body, &resp); err != nil || resp.Response.Account.Protocol[0].LoginName != addr {
		t.Errorf("round trip: %v %+v", err, resp.Response.Account.Protocol)
	}
}

func TestRefusals(t *testing.T) {
	srv := testServer(t, nil)
	ad := func(addr string) string {
		return "<Autodiscover><Request><EMailAddress>" + addr + "</EMailAddress></Request></Autodiscover>"
	}
	for _, tc := range []struct {
		method, path, host, body string
		code                     int
	}{
		{"GET", PathWellKnown + "?emailaddress=bob%40other.example", "", "", 404},
		{"GET", PathWellKnown + "?emailaddress=nobody", "", "", 400},
		{"GET", PathWellKnown + "?emailaddress=a%40b%40", "", "", 400},
		{"GET", PathWellKnown + "?emailaddress=a%40-bad-.example", "", "", 400},
		{"GET", PathMail, "other.example", "", 404},
		{"GET", PathMail, "localhost", "", 400},
		{"POST", PathWellKnown, "", "", 405},
		{"GET", PathAutodiscover, "", "", 405},
		{"POST", PathAutodiscover, "", ad("bob@other.example"), 404},
		{"POST", PathAutodiscover, "", ad("no-domain"), 400},
		{"POST", PathAutodiscover, "", "not xml", 400},
		{"POST", PathAutodiscover, "", "<Autodiscover><Request/></Autodiscover>", 400},
		{"POST", PathAutodiscover, "", "<Autodiscover><Request><EMailAddress>a@example.org</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>", 400},
		{"POST", PathAutodiscover, "", ad(strings.Repeat("a", MaxRequestBytes) + "@example.org"), 413},
	} {
		code, _, body := do(t, tc.method, srv.URL+tc.path, tc.host, tc.body)
		if code != tc.code {
			t.Errorf("%s %s (Host %q): %d, want %d: %s", tc.method, tc.path, tc.host, code, tc.code, body)
		}
		if bytes.Contains(body, []byte("<?xml")) {
			t.Errorf("%s %s: a refusal carries settings", tc.method, tc.path)
		}
	}
	failing := testServer(t, errors.New("database down"))
	if code, _, body := do(t, "GET", failing.URL+PathWellKnown+"?emailaddress=a%40example.org", "", ""); code != 503 || bytes.Contains(body, []byte("database")) {
		t.Errorf("lookup failure: %d %s", code, body)
	}
}

func TestDomainOf(t *testing.T) {
	for in, want := range map[string]string{
		"a@Example.Org":           "example.org",
		"a@b@example.org.":        "example.org",
		"jürgen@bücher.example":   "xn--bcher-kva.example",
		"a@xn--bcher-kva.example": "xn--bcher-kva.example",
	} {
		if got, err := DomainOf(in); err != nil || got != want {
			t.Errorf("DomainOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "@example.org", "a@", "a@localhost", "a@exa mple.org", "a@-x.example", "a@" + strings.Repeat("a", 254) + ".org", "a@ex_ample.org"} {
		if got, err := DomainOf(bad); err == nil {
			t.Errorf("DomainOf(%q) = %q", bad, got)
		}
	}
}

// FuzzAutodiscoverRequest: no request body makes the parser or the
// domain check panic, and whatever address is accepted comes back from
// the response document unchanged.
func FuzzAutodiscoverRequest(f *testing.F) {
	f.Add([]byte("<Autodiscover><Request><EMailAddress>a@example.org</EMailAddress></Request></Autodiscover>"))
	f.Add([]byte(`<?xml version="1.0"?><Autodiscover xmlns="x"><Request><EMailAddress>&lt;a&gt;@b.example</EMailAddress><AcceptableResponseSchema/></Request></Autodiscover>`))
	f.Add([]byte("<Autodiscover><Request><EMailAddress>x</EMailAddress>"))
	h := New(Options{Hostname: "mail.example.org", Endpoints: []Endpoint{{IMAP, 993, ImplicitTLS}}})
	f.Fuzz(func(t *testing.T, body []byte) {
		addr, err := ParseAutodiscoverRequest(body)
		if err != nil {
			return
		}
		if _, err := DomainOf(addr); err != nil {
			return
		}
		var b bytes.Buffer
		enc := xml.NewEncoder(&b)
		if err := enc.Encode(h.autodiscover(addr)); err != nil {
			t.Fatalf("encoding the response for %q: %v", addr, err)
		}
		var resp autodiscoverResponse
		if err := xml.Unmarshal(b.Bytes(), &resp); err != nil {
			t.Fatalf("response for %q does not parse: %v\n%s", addr, err, b.Bytes())
		}
		if got := resp.Response.Account.Protocol[0].LoginName; got != addr && strings.ToValidUTF8(addr, "\uFFFD") == addr {
			t.Fatalf("LoginName %q, want %q", got, addr)
		}
	})
}
