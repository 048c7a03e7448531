package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

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

type sinkSession struct{ s *sink }

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
