package webmail_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"posthorn/internal/servertest"
)

// fetch GETs a URL and returns the response and its body, gunzipped
// when the server compressed it (the client asks for gzip only when hdr
// says so: compression is what is under test).
func fetch(t *testing.T, c *http.Client, u string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, _ := io.ReadAll(r)
	return resp, string(b)
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	srv := servertest.Start(t)
	base := "http://" + srv.Addr("http")
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, path := range []string{"/", "/assets/app.js", "/assets/style.css", "/assets/nope.js", "/view/E1", "/.well-known/jmap", "/nowhere"} {
		resp, _ := fetch(t, c, base+path, nil)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	resp, body := fetch(t, c, base+"/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `<script type="module" src="/assets/app.js">`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("index: %d %v", resp.StatusCode, resp.Header)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, " onclick=") {
		t.Error("the page has inline script or style, which its CSP forbids")
	}
}

func TestAssetsCompressedAndCached(t *testing.T) {
	srv := servertest.Start(t)
	base := "http://" + srv.Addr("http")
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	plainResp, plain := fetch(t, c, base+"/assets/app.js", nil)
	gzResp, unzipped := fetch(t, c, base+"/assets/app.js", map[string]string{"Accept-Encoding": "gzip, br"})
	if gzResp.Header.Get("Content-Encoding") != "gzip" || unzipped != plain || plainResp.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip: %q, same content %v", gzResp.Header.Get("Content-Encoding"), unzipped == plain)
	}
	if ct := plainResp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type = %q", ct)
	}
	etag := plainResp.Header.Get("ETag")
	again, _ := fetch(t, c, base+"/assets/app.js", map[string]string{"If-None-Match": etag})
	if etag == "" || again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: ETag %q, status %d", etag, again.StatusCode)
	}
}

func TestViewer(t *testing.T) {
	srv := servertest.Start(t)
	base := "http://" + srv.Addr("http")
	sendSMTP(t, srv, "bob@example.test", "alice@example.test", "From: bob@example.test\nSubject: html\nContent-Type: text/html\n\n"+
		`<p onclick="x()">Hi <img src="http://images.example/a.png"><script>alert(1)</script></p>`+"\n")
	plain := &http.Client{}
	if resp, _ := fetch(t, plain, base+"/view/E1", nil); resp.StatusCode != 401 {
		t.Errorf("viewer without login: %d", resp.StatusCode)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{DisableCompression: true}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/jmap/login", url.Values{"username": {"alice@example.test"}, "password": {servertest.Password}})
	if err != nil || resp.StatusCode != 303 {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	waitUntil(t, "delivery", func() bool {
		r, err := c.Get(base + "/view/E1")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	r, err := c.Get(base + "/view/E1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	body := string(b)
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"sandbox", "default-src 'none'", "frame-ancestors 'self'", "img-src data:;"} {
		if !strings.Contains(csp, want) {
			t.Errorf("viewer CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") {
		t.Errorf("viewer CSP lets something run: %q", csp)
	}
	if r.Header.Get("X-Frame-Options") != "SAMEORIGIN" || r.Header.Get("X-Remote-Images") != "1" {
		t.Errorf("viewer headers %v", r.Header)
	}
	if strings.Contains(body, "onclick") || strings.Contains(body, "<script") || !strings.Contains(body, "Hi ") {
		t.Errorf("viewer body %s", body)
	}
	r2, err := c.Get(base + "/view/E1?images=1")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if csp := r2.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data: https: http:") {
		t.Errorf("images allowed: CSP %q", csp)
	}
	for _, id := range []string{"E2", "bogus"} {
		r, _ := c.Get(base + "/view/" + id)
		r.Body.Close()
		if r.StatusCode != 404 {
			t.Errorf("/view/%s: %d", id, r.StatusCode)
		}
	}
}
