package server

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"posthorn/internal/config"
)

// startForAutoconfig boots a server with every mail listener on
// 127.0.0.1:0 and the local domain example.test.
func startForAutoconfig(t *testing.T) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Hostname = "mx.example.test"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	loopback := "127.0.0.1:0"
	cfg.Listen = config.Listen{Submission: loopback, Submissions: loopback, IMAP: loopback, IMAPS: loopback, POP3: loopback, POP3S: loopback}
	cfg.TLS = config.TLS{SelfSigned: true}
	ctx := context.Background()
	s, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	})
	if _, err := s.Accounts.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAutoconfigWiring checks that the autoconfig handler names the bound
// ports, the configured host name, and only local domains.
func TestAutoconfigWiring(t *testing.T) {
	s := startForAutoconfig(t)
	mux := http.NewServeMux()
	s.registerAutoconfig(mux)
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)

	resp, err := http.Get(web.URL + "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var cc struct {
		Provider struct {
			Servers []struct {
				Type     string `xml:"type,attr"`
				Hostname string `xml:"hostname"`
				Port     int    `xml:"port"`
				Socket   string `xml:"socketType"`
			} `xml:",any"`
		} `xml:"emailProvider"`
	}
	if err := xml.Unmarshal(body, &cc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, srv := range cc.Provider.Servers {
		if srv.Hostname != "" {
			if srv.Hostname != "mx.example.test" {
				t.Errorf("hostname %q", srv.Hostname)
			}
			got = append(got, srv.Type+" "+strconv.Itoa(srv.Port)+" "+srv.Socket)
		}
	}
	var want []string
	for _, l := range []struct{ name, typ, sock string }{
		{"imaps", "imap", "SSL"}, {"imap", "imap", "STARTTLS"}, {"pop3s", "pop3", "SSL"}, {"pop3", "pop3", "STARTTLS"},
		{"submissions", "smtp", "SSL"}, {"submission", "smtp", "STARTTLS"},
	} {
		_, port, _ := net.SplitHostPort(s.Addr(l.name).String())
		want = append(want, l.typ+" "+port+" "+l.sock)
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("endpoints\n got %v\nwant %v", got, want)
	}

	for _, u := range []string{"/mail/config-v1.1.xml?emailaddress=bob%40elsewhere.example", "/autodiscover/autodiscover.xml"} {
		resp, err := http.Get(web.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 405 {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}
}
