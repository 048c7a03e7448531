// Command pop3bench measures POP3 download speed: it fills a mailbox over
// SMTP with messages of a fixed size, and times the RETR of every message
// over one POP3 connection. bench/pop3.sh runs it against Posthorn and
// against Dovecot in the same run.
//
//	pop3bench fill  -smtp 127.0.0.1:2525 -to bench@bench.test -n 1000 -size 51200
//	pop3bench wait  -pop3 127.0.0.1:2110 -user U -pass P -n 1000
//	pop3bench retr  -pop3 127.0.0.1:2110 -user U -pass P [-pipeline] [-label L]
//	pop3bench clear -pop3 127.0.0.1:2110 -user U -pass P
//	pop3bench count -pop3 127.0.0.1:2110 -user U -pass P
//
// retr logs in with USER/PASS, then sends RETR 1 .. RETR n (n from STAT)
// and reads each response to its terminating line. Sequentially, as mail
// clients do, each RETR is sent after the previous response ended; with
// -pipeline (RFC 2449 §6.6) all are sent at once by a second goroutine. It
// prints one JSON line: messages, octets on the wire, seconds, messages
// and MiB per second. The time runs from the first RETR to the last
// terminating line; login and STAT are not counted.
//
// It connects only to loopback addresses.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/smtp"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "fill":
		err = cmdFill(os.Args[2:])
	case "wait":
		err = cmdWait(os.Args[2:])
	case "retr":
		err = cmdRetr(os.Args[2:], os.Stdout)
	case "clear":
		err = cmdClear(os.Args[2:])
	case "count":
		err = cmdCount(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pop3bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: pop3bench fill|wait|retr|clear|count [flags] (see the package doc)")
	os.Exit(2)
}

// loopback refuses any address that is not on 127.0.0.0/8 or ::1.
func loopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: only loopback addresses are allowed", addr)
	}
	return nil
}

// login is the POP3 server and login of a subcommand.
type login struct{ addr, user, pass string }

func popFlags(fs *flag.FlagSet) *login {
	a := &login{}
	fs.StringVar(&a.addr, "pop3", "127.0.0.1:2110", "POP3 server host:port")
	fs.StringVar(&a.user, "user", "bench@bench.test", "user name")
	fs.StringVar(&a.pass, "pass", "password", "password")
	return a
}

func cmdFill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	addr := fs.String("smtp", "127.0.0.1:2525", "SMTP server host:port (no authentication)")
	to := fs.String("to", "bench@bench.test", "recipient")
	n := fs.Int("n", 1000, "messages")
	size := fs.Int("size", 51200, "octets of body per message")
	fs.Parse(args)
	if err := loopback(*addr); err != nil {
		return err
	}
	c, err := smtp.Dial(*addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("pop3bench.localhost"); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range *n {
		if err := sendOne(c, *to, message(rng, i+1, *size)); err != nil {
			return fmt.Errorf("message %d: %w", i+1, err)
		}
	}
	return c.Quit()
}

func sendOne(c *smtp.Client, to string, msg []byte) error {
	if err := c.Mail("pop3bench@sender.test"); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close()
}

// message makes a text message with a body of size octets: lines of 72
// letters and spaces, one in 40 beginning with "." so that dot-stuffing is
// exercised as in real text mail.
func message(rng *rand.Rand, n, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: pop3bench@sender.test\r\nTo: bench\r\nSubject: pop3bench message %d\r\n", n)
	fmt.Fprintf(&b, "Message-ID: <%d.pop3bench@sender.test>\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n", n)
	b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
	const letters = "abcdefghijklmnopqrstuvwxyz     "
	body := 0
	line := make([]byte, 0, 74)
	for body < size {
		line = line[:0]
		if rng.IntN(40) == 0 {
			line = append(line, '.')
		}
		for len(line) < min(72, size-body-2) {
			line = append(line, letters[rng.IntN(len(letters))])
		}
		line = append(line, '\r', '\n')
		b.Write(line)
		body += len(line)
	}
	return b.Bytes()
}

// pop3 is a lean POP3 client.
type pop3 struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dial(a *login) (*pop3, error) {
	if err := loopback(a.addr); err != nil {
		return nil, err
	}
	c, err := net.DialTimeout("tcp", a.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	p := &pop3{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriter(c)}
	if _, err := p.status(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	for _, cmd := range []string{"USER " + a.user, "PASS " + a.pass} {
		if _, err := p.cmd(cmd); err != nil {
			c.Close()
			return nil, fmt.Errorf("login: %w", err)
		}
	}
	return p, nil
}

// status reads a status line; -ERR is an error.
func (p *pop3) status() (string, error) {
	p.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	l, err := p.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	l = strings.TrimRight(l, "\r\n")
	if !strings.HasPrefix(l, "+OK") {
		return "", errors.New(l)
	}
	return l, nil
}

func (p *pop3) cmd(line string) (string, error) {
	if _, err := p.w.WriteString(line + "\r\n"); err != nil {
		return "", err
	}
	if err := p.w.Flush(); err != nil {
		return "", err
	}
	return p.status()
}

// body reads a multi-line response body through its terminating line and
// returns the octets read, terminator included.
func (p *pop3) body() (int64, error) {
	var n int64
	for {
		l, err := p.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			n += int64(len(l))
			continue
		}
		if err != nil {
			return n, err
		}
		n += int64(len(l))
		if len(l) == 3 && l[0] == '.' {
			return n, nil
		}
	}
}

func (p *pop3) stat() (int, error) {
	l, err := p.cmd("STAT")
	if err != nil {
		return 0, err
	}
	var n, size int
	if _, err := fmt.Sscanf(l, "+OK %d %d", &n, &size); err != nil {
		return 0, fmt.Errorf("STAT: %q", l)
	}
	return n, nil
}

func (p *pop3) quit() error {
	_, err := p.cmd("QUIT")
	p.c.Close()
	return err
}

func cmdWait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	a := popFlags(fs)
	n := fs.Int("n", 1000, "messages to wait for")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after")
	fs.Parse(args)
	deadline := time.Now().Add(*timeout)
	for {
		p, err := dial(a)
		got := 0
		if err == nil {
			got, err = p.stat()
			p.quit()
		}
		if err == nil && got >= *n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d messages after %s (last error: %v)", got, *n, *timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// result is one timed download.
type result struct {
	Label    string  `json:"label"`
	Mode     string  `json:"mode"`
	Messages int     `json:"messages"`
	Octets   int64   `json:"octets"`
	Seconds  float64 `json:"seconds"`
	MsgsPerS float64 `json:"msgs_per_s"`
	MiBPerS  float64 `json:"mib_per_s"`
}

func cmdRetr(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("retr", flag.ExitOnError)
	a := popFlags(fs)
	pipeline := fs.Bool("pipeline", false, "send all RETR commands at once")
	label := fs.String("label", "", "label for the JSON line")
	fs.Parse(args)
	p, err := dial(a)
	if err != nil {
		return err
	}
	n, err := p.stat()
	if err != nil {
		return err
	}
	start := time.Now()
	var octets int64
	if *pipeline {
		octets, err = p.retrPipelined(n)
	} else {
		octets, err = p.retrSequential(n)
	}
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if err := p.quit(); err != nil {
		return err
	}
	mode := "sequential"
	if *pipeline {
		mode = "pipelined"
	}
	return json.NewEncoder(out).Encode(result{
		Label: *label, Mode: mode, Messages: n, Octets: octets, Seconds: secs,
		MsgsPerS: float64(n) / secs, MiBPerS: float64(octets) / secs / (1 << 20),
	})
}

func (p *pop3) retrSequential(n int) (int64, error) {
	var total int64
	for i := 1; i <= n; i++ {
		if _, err := p.cmd(fmt.Sprintf("RETR %d", i)); err != nil {
			return total, fmt.Errorf("RETR %d: %w", i, err)
		}
		m, err := p.body()
		total += m
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (p *pop3) retrPipelined(n int) (int64, error) {
	sent := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(p.c)
		for i := 1; i <= n; i++ {
			fmt.Fprintf(w, "RETR %d\r\n", i)
		}
		sent <- w.Flush()
	}()
	var total int64
	for i := 1; i <= n; i++ {
		if _, err := p.status(); err != nil {
			return total, fmt.Errorf("RETR %d: %w", i, err)
		}
		m, err := p.body()
		total += m
		if err != nil {
			return total, err
		}
	}
	return total, <-sent
}

func cmdClear(args []string) error {
	fs := flag.NewFlagSet("clear", flag.ExitOnError)
	a := popFlags(fs)
	fs.Parse(args)
	p, err := dial(a)
	if err != nil {
		return err
	}
	n, err := p.stat()
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		if _, err := p.cmd(fmt.Sprintf("DELE %d", i)); err != nil {
			return err
		}
	}
	return p.quit()
}

func cmdCount(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("count", flag.ExitOnError)
	a := popFlags(fs)
	fs.Parse(args)
	p, err := dial(a)
	if err != nil {
		return err
	}
	n, err := p.stat()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, n)
	return p.quit()
}
