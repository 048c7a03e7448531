package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func TestMessageBodySize(t *testing.T) {
	for i, size := range []int{256, 257, 258, 300, 301, 302, 303, 1000, 4096, 4097, 65536} {
		// Header lengths vary with the addresses, so lines start at
		// different places of the filler text.
		c := config{from: strings.Repeat("f", i) + "@sender.example", to: "bench@bench.test", helo: "loadgen.test", size: size}
		b, err := messageBody(c, 7)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		full := append([]byte("X-Seq: 00000001\r\n"), b...)
		if len(full) != size {
			t.Errorf("size %d: built %d octets", size, len(full))
		}
		if bytes.Count(full, []byte("\n")) != bytes.Count(full, []byte("\r\n")) || bytes.Count(full, []byte("\r")) != bytes.Count(full, []byte("\r\n")) {
			t.Errorf("size %d: a bare CR or LF", size)
		}
		if !bytes.HasSuffix(full, []byte("\r\n")) || bytes.Contains(full, []byte("\r\n.")) {
			t.Errorf("size %d: must end in CRLF and need no dot-stuffing", size)
		}
		for _, l := range strings.Split(string(full), "\r\n") {
			if len(l) > 998 {
				t.Errorf("size %d: line of %d octets", size, len(l))
			}
		}
	}
	c := config{from: strings.Repeat("a", 300) + "@x.test", to: "b@x.test", helo: "h", size: 256}
	if _, err := messageBody(c, 0); err == nil {
		t.Error("a header larger than -size was accepted")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{0.5: 50, 0.99: 99, 1: 100, 0: 1} {
		if got := percentile(d, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if got := percentile(d[:1], 0.99); got != 1 {
		t.Errorf("one sample: %v", got)
	}
}

func TestConfigRefusesRemote(t *testing.T) {
	c := config{addr: "192.0.2.1:25", to: "x@y", sessions: 1, messages: 1, size: 4096}
	if c.check() == nil {
		t.Error("a non-loopback address was accepted")
	}
	c.addr = "127.0.0.1:25"
	if err := c.check(); err != nil {
		t.Error(err)
	}
	c.addr = "[::1]:25"
	if err := c.check(); err != nil {
		t.Error(err)
	}
}

// sink is a go-smtp backend that keeps the size of every message.
type sink struct {
	mu     sync.Mutex
	sizes  []int
	refuse bool // refuse every recipient
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s    *sink
	user string // authenticated as
}

func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }
func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
	}
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.sizes = append(ss.s.sizes, len(b))
	ss.s.mu.Unlock()
	return nil
}

func TestRunAgainstServer(t *testing.T) {
	be := &sink{}
	srv := smtp.NewServer(be)
	srv.Domain = "sink.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	for _, pipe := range []bool{true, false} {
		be.sizes = nil
		c := config{addr: ln.Addr().String(), from: "a@b.test", to: "c@d.test", helo: "h.test", sessions: 3, messages: 10,
			size: 4096, pipelining: pipe, timeout: time.Minute}
		r := run(c)
		if r.Accepted != 10 || r.Failed != 0 || r.Rate <= 0 || r.P99ms < r.P50ms || r.MaxMs < r.P99ms {
			t.Fatalf("pipelining %v: %+v", pipe, r)
		}
		be.mu.Lock()
		if len(be.sizes) != 10 {
			t.Fatalf("server got %d messages", len(be.sizes))
		}
		for _, n := range be.sizes {
			if n != 4096 {
				t.Fatalf("server got a message of %d octets", n)
			}
		}
		be.mu.Unlock()
	}
	// A server that refuses: the failures are counted, not hidden.
	be.mu.Lock()
	be.refuse = true
	be.mu.Unlock()
	r := run(config{addr: ln.Addr().String(), from: "a@b.test", to: "c@d.test", helo: "h", sessions: 2, messages: 6, size: 4096,
		pipelining: true, timeout: time.Minute})
	if r.Accepted != 0 || r.Failed != 6 || !strings.Contains(r.FirstFail, "550") {
		t.Fatalf("refusing server: %+v", r)
	}
}

// authSink is a sink whose sessions offer AUTH PLAIN for user "u",
// password "p", and record who sent each message.
type authSink struct {
	sink
	users []string
}

func (s *authSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &authSession{sinkSession: sinkSession{s: &s.sink}, a: s}, nil
}

type authSession struct {
	sinkSession
	a *authSink
}

func (*authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (as *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "u" || pass != "p" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		as.user = user
		return nil
	}), nil
}

func (as *authSession) Data(r io.Reader) error {
	as.a.mu.Lock()
	as.a.users = append(as.a.users, as.user)
	as.a.mu.Unlock()
	return as.sinkSession.Data(r)
}

// selfSigned makes a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestRunWithSTARTTLSAndAuth(t *testing.T) {
	be := &authSink{}
	srv := smtp.NewServer(be)
	srv.Domain = "sink.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	base := config{addr: ln.Addr().String(), from: "a@b.test", to: "c@d.test", helo: "h.test", sessions: 2, messages: 6,
		size: 1024, pipelining: true, timeout: time.Minute}

	// STARTTLS, then AUTH PLAIN (the server allows AUTH only over TLS).
	c := base
	c.starttls, c.auth = true, "u:p"
	if r := run(c); r.Accepted != 6 || r.Failed != 0 {
		t.Fatalf("STARTTLS and AUTH: %+v", r)
	}
	be.mu.Lock()
	if len(be.users) != 6 || be.users[0] != "u" || be.users[5] != "u" || len(be.sizes) != 6 || be.sizes[0] != 1024 {
		t.Fatalf("server saw users %q, sizes %v", be.users, be.sizes)
	}
	be.mu.Unlock()

	// A wrong password fails every message of every session, visibly.
	c.auth = "u:wrong"
	if r := run(c); r.Accepted != 0 || r.Failed != 6 || !strings.Contains(r.FirstFail, "AUTH") || !strings.Contains(r.FirstFail, "535") {
		t.Fatalf("wrong password: %+v", r)
	}
	// Without TLS this server offers no AUTH: refused, not skipped.
	c = base
	c.auth = "u:p"
	if r := run(c); r.Accepted != 0 || r.Failed != 6 || !strings.Contains(r.FirstFail, "AUTH") {
		t.Fatalf("AUTH without TLS: %+v", r)
	}
	if err := (config{addr: "127.0.0.1:25", to: "x@y", sessions: 1, messages: 1, size: 4096, auth: "nocolon"}).check(); err == nil {
		t.Error("-auth without a colon was accepted")
	}
}
