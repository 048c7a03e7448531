// Package smtpsink is a small, scriptable SMTP server for tests and
// benchmarks of the outbound queue: it advertises exactly the extensions it
// is told to, answers each RCPT and each message as told, records what it
// received, and counts connections. It implements enough of RFC 5321 for
// a client (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, BDAT, RSET,
// NOOP, QUIT, STARTTLS) and nothing of a real server's policy.
package smtpsink

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Options script the sink. The zero value accepts everything and offers
// PIPELINING, 8BITMIME, SMTPUTF8, CHUNKING, DSN, ENHANCEDSTATUSCODES and
// SIZE (and STARTTLS when TLS is set).
type Options struct {
	// Extensions, when not nil, is the exact EHLO list (STARTTLS is added
	// when TLS is set and the connection is not yet encrypted).
	Extensions []string
	TLS        *tls.Config
	// Greeting replaces "220 sink.test ESMTP".
	Greeting string
	// RcptReply returns the reply line for a recipient ("" for 250).
	RcptReply func(addr string) string
	// DataReply returns the reply line after a message ("" for 250).
	DataReply func(m Message) string
	// InjectAfterSTARTTLS is written right after the STARTTLS reply, in
	// clear, as a man in the middle would.
	InjectAfterSTARTTLS string
	// NoEHLO refuses EHLO (an RFC 821 server).
	NoEHLO bool
}

// Message is what the sink received in one transaction.
type Message struct {
	From      string
	MailArgs  string // parameters after MAIL FROM:<...>
	Rcpts     []string
	RcptArgs  []string
	Data      []byte
	TLS       bool
	Chunked   bool
	ConnIndex int // which connection (1-based) carried it
}

// Sink is a running sink.
type Sink struct {
	opts  Options
	ln    net.Listener
	conns atomic.Int64
	rsets atomic.Int64
	mu    sync.Mutex
	msgs  []Message
	wg    sync.WaitGroup
}

// Start listens on 127.0.0.1:0.
func Start(opts Options) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{opts: opts, ln: ln}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is "127.0.0.1:port".
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink and waits for its sessions.
func (s *Sink) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Connections counts the connections accepted so far.
func (s *Sink) Connections() int { return int(s.conns.Load()) }

// Resets counts the RSET commands received so far.
func (s *Sink) Resets() int { return int(s.rsets.Load()) }

// Messages returns what was received so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Sink) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		n := int(s.conns.Add(1))
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c, n)
		}()
	}
}

type conn struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	tls bool
}

func (c *conn) reply(line string) {
	c.w.WriteString(line + "\r\n")
	c.w.Flush()
}

func (s *Sink) extensions(tlsOn bool) []string {
	ext := s.opts.Extensions
	if ext == nil {
		ext = []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "SIZE 104857600"}
	}
	if s.opts.TLS != nil && !tlsOn {
		ext = append(append([]string(nil), ext...), "STARTTLS")
	}
	return ext
}

func (s *Sink) session(raw net.Conn, index int) {
	c := &conn{c: raw, r: bufio.NewReader(raw), w: bufio.NewWriter(raw)}
	greeting := s.opts.Greeting
	if greeting == "" {
		greeting = "220 sink.test ESMTP"
	}
	c.reply(greeting)
	var cur *Message
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if s.opts.NoEHLO {
				c.reply("500 5.5.1 EHLO not understood")
				continue
			}
			ext := s.extensions(c.tls)
			c.w.WriteString("250-sink.test\r\n")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				c.w.WriteString("250" + sep + e + "\r\n")
			}
			if len(ext) == 0 {
				c.w.WriteString("250 sink.test\r\n")
			}
			c.w.Flush()
		case "HELO":
			c.reply("250 sink.test")
		case "STARTTLS":
			if s.opts.TLS == nil || c.tls {
				c.reply("502 5.5.1 no TLS")
				continue
			}
			c.w.WriteString("220 2.0.0 go ahead\r\n" + s.opts.InjectAfterSTARTTLS)
			c.w.Flush()
			tc := tls.Server(raw, s.opts.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = &conn{c: tc, r: bufio.NewReader(tc), w: bufio.NewWriter(tc), tls: true}
			cur = nil
		case "MAIL":
			from, args := parsePath(arg, "FROM:")
			cur = &Message{From: from, MailArgs: args, TLS: c.tls, ConnIndex: index}
			c.reply("250 2.1.0 ok")
		case "RCPT":
			if cur == nil {
				c.reply("503 5.5.1 MAIL first")
				continue
			}
			to, args := parsePath(arg, "TO:")
			rep := ""
			if s.opts.RcptReply != nil {
				rep = s.opts.RcptReply(to)
			}
			if rep == "" || rep[0] == '2' {
				cur.Rcpts = append(cur.Rcpts, to)
				cur.RcptArgs = append(cur.RcptArgs, args)
			}
			if rep == "" {
				rep = "250 2.1.5 ok"
			}
			c.reply(rep)
		case "DATA":
			if cur == nil || len(cur.Rcpts) == 0 {
				c.reply("554 5.5.1 no valid recipients")
				continue
			}
			c.reply("354 go ahead")
			data, err := readDotted(c.r)
			if err != nil {
				return
			}
			cur.Data = data
			s.finish(c, cur)
			cur = nil
		case "BDAT":
			fields := strings.Fields(arg)
			n, _ := strconv.ParseInt(fields[0], 10, 64)
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				return
			}
			if cur == nil || len(cur.Rcpts) == 0 {
				c.reply("554 5.5.1 no valid recipients")
				continue
			}
			cur.Data = append(cur.Data, buf...)
			cur.Chunked = true
			if len(fields) > 1 && strings.EqualFold(fields[1], "LAST") {
				s.finish(c, cur)
				cur = nil
			} else {
				c.reply("250 2.0.0 chunk ok")
			}
		case "RSET":
			s.rsets.Add(1)
			cur = nil
			c.reply("250 2.0.0 ok")
		case "NOOP":
			c.reply("250 2.0.0 ok")
		case "QUIT":
			c.reply("221 2.0.0 bye")
			return
		default:
			c.reply("500 5.5.1 unknown command")
		}
	}
}

func (s *Sink) finish(c *conn, m *Message) {
	rep := ""
	if s.opts.DataReply != nil {
		rep = s.opts.DataReply(*m)
	}
	if rep == "" || rep[0] == '2' {
		s.mu.Lock()
		s.msgs = append(s.msgs, *m)
		s.mu.Unlock()
	}
	if rep == "" {
		rep = fmt.Sprintf("250 2.0.0 ok queued as %d", len(s.Messages()))
	}
	c.reply(rep)
}

// parsePath splits "FROM:<a@b> ARGS" into the address and the arguments.
func parsePath(arg, prefix string) (string, string) {
	arg = strings.TrimSpace(arg)
	if len(arg) >= len(prefix) && strings.EqualFold(arg[:len(prefix)], prefix) {
		arg = strings.TrimSpace(arg[len(prefix):])
	}
	path, rest, _ := strings.Cut(arg, " ")
	return strings.Trim(path, "<>"), strings.TrimSpace(rest)
}

// readDotted reads DATA up to CRLF.CRLF, undoing dot-stuffing, keeping
// every other octet as sent (so a test can see a bare CR that slipped by).
func readDotted(r *bufio.Reader) ([]byte, error) {
	var out bytes.Buffer
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if bytes.Equal(line, []byte(".\r\n")) {
			return out.Bytes(), nil
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		out.Write(line)
	}
}
