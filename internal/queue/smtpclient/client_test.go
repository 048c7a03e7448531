package smtpclient

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"

	"posthorn/internal/message"
	"posthorn/internal/queue/smtpsink"
	"posthorn/internal/tlsconf"
)

func startSink(t *testing.T, o smtpsink.Options) *smtpsink.Sink {
	t.Helper()
	s, err := smtpsink.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *smtpsink.Sink) *Client {
	t.Helper()
	c, err := Dial(context.Background(), nil, s.Addr(), Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("mx.example.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

func opener(s string) Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

const msg = "From: a@example.test\r\nTo: b@remote.test\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"

func TestSendChunkedAndPipelined(t *testing.T) {
	s := startSink(t, smtpsink.Options{})
	c := dial(t, s)
	res, err := c.Send(Envelope{From: "a@example.test", Rcpts: []Rcpt{{Addr: "b@remote.test"}, {Addr: "c@remote.test"}}}, opener(msg))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rcpts {
		if r.Code != 250 {
			t.Fatalf("replies %v", res.Rcpts)
		}
	}
	got := s.Messages()
	if len(got) != 1 || !got[0].Chunked || string(got[0].Data) != msg || len(got[0].Rcpts) != 2 {
		t.Fatalf("sink got %+v", got)
	}
	if !strings.Contains(got[0].MailArgs, "SIZE=") {
		t.Fatalf("MAIL args %q lack SIZE", got[0].MailArgs)
	}
}

func TestSendDataDotStuffedAndNormalized(t *testing.T) {
	s := startSink(t, smtpsink.Options{Extensions: []string{"PIPELINING", "8BITMIME"}})
	c := dial(t, s)
	// Bare CR and LF in the stored message must reach the wire as CRLF.
	in := "Subject: x\n\r\n.dot\rline\r\n..two\nend"
	if _, err := c.Send(Envelope{From: "a@example.test", Rcpts: []Rcpt{{Addr: "b@remote.test"}}}, opener(in)); err != nil {
		t.Fatal(err)
	}
	got := s.Messages()
	want := "Subject: x\r\n\r\n.dot\r\nline\r\n..two\r\nend\r\n"
	if len(got) != 1 || got[0].Chunked || string(got[0].Data) != want {
		t.Fatalf("sink got %q, want %q", got[0].Data, want)
	}
}

func TestPerRecipientReplies(t *testing.T) {
	s := startSink(t, smtpsink.Options{RcptReply: func(a string) string {
		switch {
		case strings.HasPrefix(a, "later"):
			return "451 4.3.0 try later"
		case strings.HasPrefix(a, "nobody"):
			return "550 5.1.1 no such user"
		}
		return ""
	}})
	c := dial(t, s)
	res, err := c.Send(Envelope{From: "a@example.test", Rcpts: []Rcpt{{Addr: "ok@r.test"}, {Addr: "later@r.test"}, {Addr: "nobody@r.test"}}}, opener(msg))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rcpts[0].Code != 250 || !res.Rcpts[1].Temporary() || res.Rcpts[1].Enhanced != "4.3.0" || !res.Rcpts[2].Permanent() || res.Rcpts[2].Status() != "5.1.1" {
		t.Fatalf("replies %+v", res.Rcpts)
	}
	if got := s.Messages(); len(got) != 1 || len(got[0].Rcpts) != 1 {
		t.Fatalf("sink got %+v", got)
	}
	// All refused: no data, and the connection stays usable.
	res, err = c.Send(Envelope{From: "a@example.test", Rcpts: []Rcpt{{Addr: "nobody@r.test"}}}, opener(msg))
	if err != nil || !res.Rcpts[0].Permanent() {
		t.Fatalf("all refused: %+v %v", res, err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(Envelope{From: "a@example.test", Rcpts: []Rcpt{{Addr: "ok@r.test"}}}, opener(msg)); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages()) != 2 || s.Connections() != 1 {
		t.Fatalf("%d messages over %d connections", len(s.Messages()), s.Connections())
	}
}

func TestAllRefusedWithPipelinedData(t *testing.T) {
	// Without CHUNKING, DATA is pipelined; a server that still says 354
	// gets an empty message end.
	s := startSink(t, smtpsink.Options{Extensions: []string{"PIPELINING"}, RcptReply: func(string) string { return "550 5.1.1 no" }})
	c := dial(t, s)
	res, err := c.Send(Envelope{From: "a@x.test", Rcpts: []Rcpt{{Addr: "n@r.test"}}}, opener(msg))
	if err != nil || res.Rcpts[0].Code != 550 {
		t.Fatalf("%+v %v", res, err)
	}
	if err := c.Reset(); err != nil {
		t.Fatalf("connection out of sync: %v", err)
	}
}

func TestDowngrade8Bit(t *testing.T) {
	s := startSink(t, smtpsink.Options{Extensions: []string{"PIPELINING"}})
	c := dial(t, s)
	in := "From: a@example.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n"
	res, err := c.Send(Envelope{From: "a@example.test", Rcpts: []Rcpt{{Addr: "b@r.test"}}}, opener(in))
	if err != nil || !res.Downgraded {
		t.Fatalf("%+v %v", res, err)
	}
	data := s.Messages()[0].Data
	if message.Is8Bit(data) {
		t.Fatalf("8-bit octets reached a server without 8BITMIME:\n%s", data)
	}
	meta, err := message.Analyze(bytes.NewReader(data))
	if err != nil || !strings.Contains(meta.Text, "Grüße aus Köln") {
		t.Fatalf("downgraded message decodes to %q (%v)", meta.Text, err)
	}
}

func TestEightBitPassesWith8BITMIME(t *testing.T) {
	s := startSink(t, smtpsink.Options{})
	c := dial(t, s)
	in := "Subject: x\r\n\r\nGrüße\r\n"
	res, err := c.Send(Envelope{From: "a@x.test", Rcpts: []Rcpt{{Addr: "b@r.test"}}}, opener(in))
	if err != nil || res.Downgraded {
		t.Fatalf("%+v %v", res, err)
	}
	m := s.Messages()[0]
	if string(m.Data) != in || !strings.Contains(m.MailArgs, "BODY=8BITMIME") {
		t.Fatalf("got %q args %q", m.Data, m.MailArgs)
	}
}

func TestSizeAndSMTPUTF8Refused(t *testing.T) {
	s := startSink(t, smtpsink.Options{Extensions: []string{"PIPELINING", "SIZE 10"}})
	c := dial(t, s)
	_, err := c.Send(Envelope{From: "a@x.test", Rcpts: []Rcpt{{Addr: "b@r.test"}}}, opener(msg))
	var e *Error
	if !errors.As(err, &e) || !e.Permanent() || e.Reply.Enhanced != "5.3.4" {
		t.Fatalf("oversize: %v", err)
	}
	_, err = c.Send(Envelope{From: "a@x.test", Rcpts: []Rcpt{{Addr: "b@r.test"}}, SMTPUTF8: true}, opener("x\r\n"))
	if !errors.As(err, &e) || !e.Permanent() || e.Reply.Enhanced != "5.6.7" {
		t.Fatalf("SMTPUTF8: %v", err)
	}
	if len(s.Messages()) != 0 {
		t.Fatal("refused messages were sent")
	}
}

func TestDSNParameters(t *testing.T) {
	s := startSink(t, smtpsink.Options{})
	c := dial(t, s)
	env := Envelope{From: "a@x.test", Ret: "HDRS", EnvID: "id+1=x", Rcpts: []Rcpt{{Addr: "b@r.test", Notify: "FAILURE,DELAY", ORcpt: "rfc822;b@r.test"}}}
	if _, err := c.Send(env, opener(msg)); err != nil {
		t.Fatal(err)
	}
	m := s.Messages()[0]
	if !strings.Contains(m.MailArgs, "RET=HDRS") || !strings.Contains(m.MailArgs, "ENVID=id+2B1+3Dx") {
		t.Fatalf("MAIL args %q", m.MailArgs)
	}
	if m.RcptArgs[0] != "NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@r.test" {
		t.Fatalf("RCPT args %q", m.RcptArgs[0])
	}
	// A server without DSN gets none of them.
	s2 := startSink(t, smtpsink.Options{Extensions: []string{"PIPELINING"}})
	c2 := dial(t, s2)
	if _, err := c2.Send(env, opener(msg)); err != nil {
		t.Fatal(err)
	}
	m = s2.Messages()[0]
	if m.MailArgs != "" || m.RcptArgs[0] != "" {
		t.Fatalf("DSN parameters sent to a server without DSN: %q %q", m.MailArgs, m.RcptArgs[0])
	}
}

func TestStartTLSDiscardsInjection(t *testing.T) {
	tc, err := tlsconf.Config(tlsconf.Options{SelfSigned: true, Dir: t.TempDir(), Hostname: "sink.test"})
	if err != nil {
		t.Fatal(err)
	}
	s := startSink(t, smtpsink.Options{TLS: tc, InjectAfterSTARTTLS: "250 injected\r\n"})
	c := dial(t, s)
	if _, ok := c.Ext("STARTTLS"); !ok {
		t.Fatal("no STARTTLS offered")
	}
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}, "mx.example.test"); err != nil {
		t.Fatal(err)
	}
	if c.Injected == 0 {
		t.Fatal("injected octets not noticed")
	}
	if _, err := c.Send(Envelope{From: "a@x.test", Rcpts: []Rcpt{{Addr: "b@r.test"}}}, opener(msg)); err != nil {
		t.Fatal(err)
	}
	if st, ok := c.TLS(); !ok || st.Version < tls.VersionTLS12 || !s.Messages()[0].TLS {
		t.Fatal("message not sent over TLS")
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestHELOFallback(t *testing.T) {
	s := startSink(t, smtpsink.Options{NoEHLO: true})
	c := dial(t, s)
	if _, ok := c.Ext("PIPELINING"); ok {
		t.Fatal("extensions after HELO")
	}
	if _, err := c.Send(Envelope{From: "a@x.test", Rcpts: []Rcpt{{Addr: "b@r.test"}}}, opener(msg)); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages()) != 1 {
		t.Fatal("not delivered after HELO")
	}
}

func TestReadReply(t *testing.T) {
	for in, want := range map[string]Reply{
		"250 ok\r\n":                               {Code: 250, Text: "ok"},
		"550 5.1.1 no such user\r\n":               {Code: 550, Enhanced: "5.1.1", Text: "no such user"},
		"250-first\r\n250-second\r\n250 third\r\n": {Code: 250, Text: "first; second; third"},
		"451-4.3.0 a\r\n451 4.3.0 b\r\n":           {Code: 451, Enhanced: "4.3.0", Text: "a; b"},
		"550 4.1.1 class mismatch keeps text\r\n":  {Code: 550, Text: "4.1.1 class mismatch keeps text"},
		"220\r\n": {Code: 220},
	} {
		got, _, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil || got != want {
			t.Errorf("readReply(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"abc\r\n", "250-a\r\n251 b\r\n", "99 x\r\n", "250x\r\n", strings.Repeat("250-x\r\n", 200)} {
		if _, _, err := readReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("readReply(%q) accepted", bad[:min(len(bad), 20)])
		}
	}
}
