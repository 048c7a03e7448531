package jmap_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"posthorn/internal/config"
	"posthorn/internal/servertest"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, standing in for the UI's fetches.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the test's self-signed certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) req(method, path, body string, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func (b *browser) login(user, pass string, hdr map[string]string) *http.Response {
	b.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range hdr {
		h[k] = v
	}
	resp, _ := b.req("POST", "/jmap/login", url.Values{"username": {user}, "password": {pass}}.Encode(), h)
	return resp
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

const echo = `{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"ok":true},"c"]]}`

func TestBasicAuth(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, e.base)
	resp, _ := b.req("GET", "/.well-known/jmap", "", nil)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = b.req("GET", "/.well-known/jmap", "", map[string]string{"Sec-Fetch-Mode": "cors"})
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("a script's request must get no challenge: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest("GET", e.base+"/.well-known/jmap", nil)
	req.SetBasicAuth("alice@example.test", "wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("wrong password: %v %v", resp.StatusCode, err)
	}
	// Cached Basic credentials must not work cross-site.
	resp2 := e.do("POST", "/jmap/api", strings.NewReader(echo), map[string]string{"Origin": "https://evil.example"})
	resp2.Body.Close()
	if resp2.StatusCode != 403 {
		t.Errorf("cross-origin Basic request: %d, want 403", resp2.StatusCode)
	}
	resp2 = e.do("POST", "/jmap/api", strings.NewReader(echo), map[string]string{"Origin": e.base})
	resp2.Body.Close()
	if resp2.StatusCode != 200 {
		t.Errorf("same-origin Basic request: %d", resp2.StatusCode)
	}
}

func TestLoginSessionAndCSRF(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, e.base)
	if resp := b.login("alice@example.test", "nope", nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/?login=failed" {
		t.Errorf("failed login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := b.login("alice@example.test", servertest.Password, map[string]string{"Origin": "http://evil.example"}); resp.StatusCode != 403 {
		t.Errorf("cross-origin login: %d, want 403", resp.StatusCode)
	}
	if b.cookie("posthorn_session") != nil {
		t.Fatal("a failed login set a session cookie")
	}
	resp := b.login("alice@example.test", servertest.Password, map[string]string{"Origin": e.base})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "posthorn_session" {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure {
		t.Errorf("session cookie = %+v; want HttpOnly, SameSite=Strict, not Secure over plain HTTP", sc)
	}
	csrf := b.cookie("posthorn_csrf")
	if csrf == nil || csrf.Value == "" {
		t.Fatal("no CSRF cookie")
	}
	if resp, body := b.req("GET", "/.well-known/jmap", "", nil); resp.StatusCode != 200 || !strings.Contains(body, "alice@example.test") {
		t.Errorf("session with the cookie: %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no token", map[string]string{}, 403},
		{"wrong token", map[string]string{"X-CSRF-Token": "x" + csrf.Value}, 403},
		{"token, other origin", map[string]string{"X-CSRF-Token": csrf.Value, "Origin": "http://evil.example"}, 403},
		{"token, cross-site fetch", map[string]string{"X-CSRF-Token": csrf.Value, "Sec-Fetch-Site": "cross-site"}, 403},
		{"token, same origin", map[string]string{"X-CSRF-Token": csrf.Value, "Origin": e.base}, 200},
		{"token alone", map[string]string{"X-CSRF-Token": csrf.Value}, 200},
	} {
		if resp, body := b.req("POST", "/jmap/api", echo, c.hdr); resp.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, body, c.want)
		}
	}
	// Logout needs the token too, then the cookie is dead.
	if resp, _ := b.req("POST", "/jmap/logout", "", nil); resp.StatusCode != 403 {
		t.Errorf("logout without token: %d", resp.StatusCode)
	}
	old := b.cookie("posthorn_session").Value
	if resp, _ := b.req("POST", "/jmap/logout", "csrf="+url.QueryEscape(csrf.Value), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); resp.StatusCode != 303 {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if b.cookie("posthorn_session") != nil {
		t.Error("session cookie survives logout")
	}
	stale := newBrowser(t, e.base)
	u, _ := url.Parse(e.base)
	stale.c.Jar.SetCookies(u, []*http.Cookie{{Name: "posthorn_session", Value: old}})
	if resp, _ := stale.req("GET", "/.well-known/jmap", "", nil); resp.StatusCode != 401 {
		t.Errorf("old session after logout: %d", resp.StatusCode)
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, e.base)
	var last string
	for i := 0; i < 12; i++ {
		last = b.login("alice@example.test", "wrong", nil).Header.Get("Location")
	}
	if last != "/?login=throttled" {
		t.Errorf("after 12 failures: %q, want throttled", last)
	}
	if loc := b.login("alice@example.test", servertest.Password, nil).Header.Get("Location"); loc != "/?login=throttled" {
		t.Errorf("right password while throttled: %q", loc)
	}
}

func TestPasswordsNeedTLS(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *config.Config) { c.Auth.AllowPlaintextOnLoopback = false }))
	plain := newBrowser(t, "http://"+srv.Addr("http"))
	if loc := plain.login("alice@example.test", servertest.Password, nil).Header.Get("Location"); loc != "/?login=insecure" {
		t.Errorf("login over plain HTTP: %q", loc)
	}
	req, _ := http.NewRequest("GET", "http://"+srv.Addr("http")+"/.well-known/jmap", nil)
	req.SetBasicAuth("alice@example.test", servertest.Password)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("Basic over plain HTTP: %v %v", resp, err)
	}
	tb := newBrowser(t, "https://"+srv.Addr("https"))
	resp := tb.login("alice@example.test", servertest.Password, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("login over TLS: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s not Secure under TLS", c.Name)
		}
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Error("no HSTS under TLS")
	}
}
