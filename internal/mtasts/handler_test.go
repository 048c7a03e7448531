package mtasts

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func newHandler(allowHTTP bool) *Handler {
	return NewHandler(HandlerOptions{
		Policy: Policy{Mode: Enforce, MX: []string{"mx.example.test"}, MaxAge: 7 * 24 * time.Hour},
		IsLocal: func(_ context.Context, d string) (bool, error) {
			if d == "broken.test" {
				return false, errors.New("store down")
			}
			return d == "example.test", nil
		},
		AllowHTTP: allowHTTP,
	})
}

func serve(h http.Handler, method, host, path string, overTLS bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://"+host+path, nil)
	if overTLS {
		r.TLS = &tls.ConnectionState{}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := newHandler(false)
	w := serve(h, "GET", "MTA-STS.Example.test:443", Path, true)
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" ||
		string(body) != "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 604800\r\n" {
		t.Fatalf("%d %q %q", w.Code, w.Header().Get("Content-Type"), body)
	}
	if _, err := Parse(body); err != nil {
		t.Fatalf("served policy does not parse: %v", err)
	}
	for _, tt := range []struct {
		name, method, host, path string
		tls                      bool
		code                     int
	}{
		{"HEAD", "HEAD", "mta-sts.example.test", Path, true, 200},
		{"not local", "GET", "mta-sts.other.test", Path, true, 404},
		{"not the policy host", "GET", "example.test", Path, true, 404},
		{"other path", "GET", "mta-sts.example.test", "/", true, 404},
		{"plain HTTP", "GET", "mta-sts.example.test", Path, false, 404},
		{"POST", "POST", "mta-sts.example.test", Path, true, 405},
		{"store failure", "GET", "mta-sts.broken.test", Path, true, 503},
	} {
		if w := serve(h, tt.method, tt.host, tt.path, tt.tls); w.Code != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.code)
		}
	}
	if w := serve(newHandler(true), "GET", "mta-sts.example.test", Path, false); w.Code != 200 {
		t.Fatalf("AllowHTTP: %d", w.Code)
	}
}

// TestHandlerServesClient: our handler behind real HTTPS is what our own
// client fetches and caches.
func TestHandlerServesClient(t *testing.T) {
	f := newClientFixture(t)
	f.host.setReply(newHandler(false).ServeHTTP)
	f.zone.SetTXT("_mta-sts.example.test", "v=STSv1; id="+newHandler(false).o.Policy.ID())
	p := f.lookup(t, "example.test")
	if p == nil || p.Mode != Enforce || !p.Matches("mx.example.test") || p.MaxAge != 7*24*time.Hour {
		t.Fatalf("policy = %+v", p)
	}
}
