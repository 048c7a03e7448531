// Command smtpload is an SMTP load generator: it drives N concurrent
// sessions that together send M messages of a fixed size to one server,
// and reports the rate (messages per second from the first connection to
// the last 250) and the time from the end of each message's data to the
// server's reply to it (the "250 after durable commit" latency), p50, p99
// and maximum.
//
// Each session connects once, says EHLO, and sends its share of messages
// one after another over that connection (as Postfix's smtp-source -d),
// with MAIL, RCPT and DATA pipelined when the server offers PIPELINING
// (RFC 2920). The client is lean on purpose: on a small machine it shares
// the CPUs with the server under test.
//
//	smtpload -addr 127.0.0.1:2525 -to bench@bench.test -sessions 20 -messages 20000 -size 4096
//
// With -starttls each session upgrades to TLS after its first EHLO (RFC
// 3207; the certificate is not verified: a load tool on loopback), and with
// -auth user:password it authenticates with AUTH PLAIN (RFC 4954, RFC 4616)
// before its first message, as a mail program on the submission port does:
//
//	smtpload -addr 127.0.0.1:2587 -auth bench@bench.test:password -to sink@sink.test
//
// It only ever connects to the address given, and refuses any that is not
// a loopback address unless -allow-remote is set.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config is the command line.
type config struct {
	addr        string
	from        string
	to          string
	helo        string
	sessions    int
	messages    int
	size        int
	pipelining  bool
	timeout     time.Duration
	label       string
	jsonOut     bool
	allowRemote bool
	starttls    bool
	auth        string // "user:password" for AUTH PLAIN; "" for none
}

// result is what one run measured.
type result struct {
	Label     string  `json:"label"`
	Addr      string  `json:"addr"`
	Sessions  int     `json:"sessions"`
	Messages  int     `json:"messages"`
	Accepted  int     `json:"accepted"`
	Failed    int     `json:"failed"`
	Size      int     `json:"size"`
	Seconds   float64 `json:"seconds"`
	Rate      float64 `json:"rate"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	FirstFail string  `json:"first_failure,omitempty"`
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:2525", "server host:port")
	flag.StringVar(&c.from, "from", "loadgen@sender.example", "envelope sender")
	flag.StringVar(&c.to, "to", "", "envelope recipient (required)")
	flag.StringVar(&c.helo, "helo", "loadgen.peer.test", "EHLO name")
	flag.IntVar(&c.sessions, "sessions", 20, "concurrent sessions")
	flag.IntVar(&c.messages, "messages", 10000, "messages in all, shared among the sessions")
	flag.IntVar(&c.size, "size", 4096, "octets of message data per message (header and body)")
	flag.BoolVar(&c.pipelining, "pipelining", true, "pipeline MAIL, RCPT and DATA when the server offers PIPELINING")
	flag.DurationVar(&c.timeout, "timeout", time.Minute, "longest wait for any reply")
	flag.StringVar(&c.label, "label", "", "name of this run in the report")
	flag.BoolVar(&c.jsonOut, "json", false, "print the result as one JSON object")
	flag.BoolVar(&c.allowRemote, "allow-remote", false, "allow a server address that is not loopback")
	flag.BoolVar(&c.starttls, "starttls", false, "STARTTLS after EHLO (the certificate is not verified)")
	flag.StringVar(&c.auth, "auth", "", "user:password to authenticate with (AUTH PLAIN) once per session")
	flag.Parse()
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "smtpload:", err)
		flag.Usage()
		os.Exit(2)
	}
	res := run(c)
	if c.jsonOut {
		json.NewEncoder(os.Stdout).Encode(res)
	} else {
		fmt.Println(res.String())
	}
	if res.Failed > 0 {
		os.Exit(1)
	}
}

func (c config) check() error {
	switch {
	case c.to == "":
		return errors.New("-to is required")
	case c.sessions < 1 || c.messages < c.sessions:
		return errors.New("need -sessions >= 1 and -messages >= -sessions")
	case c.size < 256:
		return errors.New("-size must be at least 256")
	case c.auth != "" && !strings.Contains(c.auth, ":"):
		return errors.New("-auth wants user:password")
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); !c.allowRemote && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address (use -allow-remote)", host)
	}
	return nil
}

// String formats a result as one line.
func (r result) String() string {
	s := fmt.Sprintf("%s addr=%s sessions=%d messages=%d accepted=%d failed=%d size=%d time=%.2fs rate=%.0f/s eod-to-250 p50=%.2fms p99=%.2fms max=%.2fms",
		r.Label, r.Addr, r.Sessions, r.Messages, r.Accepted, r.Failed, r.Size, r.Seconds, r.Rate, r.P50ms, r.P99ms, r.MaxMs)
	if r.FirstFail != "" {
		s += " first-failure=" + strconv.Quote(r.FirstFail)
	}
	return s
}

// run starts the sessions and gathers their measurements.
func run(c config) result {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		lat      []time.Duration
		failed   atomic.Int64
		firstErr atomic.Value
	)
	start := time.Now()
	for i := range c.sessions {
		n := c.messages / c.sessions
		if i < c.messages%c.sessions {
			n++
		}
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			l, err := session(c, id, n)
			if err != nil {
				failed.Add(int64(n - len(l)))
				firstErr.CompareAndSwap(nil, err.Error())
			}
			mu.Lock()
			lat = append(lat, l...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{Label: c.label, Addr: c.addr, Sessions: c.sessions, Messages: c.messages, Accepted: len(lat),
		Failed: int(failed.Load()), Size: c.size, Seconds: elapsed.Seconds(), Rate: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.P50ms, r.P99ms, r.MaxMs = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1])
	}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstFail = e
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// client is one SMTP connection.
type client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
}

// session sends n messages over one connection and returns the
// end-of-data-to-reply time of each accepted one.
func session(c config, id, n int) ([]time.Duration, error) {
	conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	cl := &client{timeout: c.timeout}
	cl.setConn(conn)
	if _, err := cl.reply(220); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	ehlo, err := cl.hello(c)
	if err != nil {
		return nil, err
	}
	pipe := c.pipelining && strings.Contains(ehlo, "PIPELINING")
	body, err := messageBody(c, id)
	if err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		d, err := cl.send(c, body, i, pipe)
		if err != nil {
			return lat, fmt.Errorf("message %d of session %d: %w", i+1, id, err)
		}
		lat = append(lat, d)
	}
	cl.w.WriteString("QUIT\r\n")
	cl.flushReply(221)
	return lat, nil
}

// setConn starts reading and writing on conn (again after STARTTLS).
func (cl *client) setConn(conn net.Conn) {
	cl.conn = conn
	cl.r = bufio.NewReaderSize(conn, 4096)
	cl.w = bufio.NewWriterSize(conn, 16<<10)
}

// hello says EHLO, then STARTTLS and EHLO again when asked to, then
// AUTH PLAIN when asked to; it returns the last EHLO reply.
func (cl *client) hello(c config) (string, error) {
	cl.w.WriteString("EHLO " + c.helo + "\r\n")
	ehlo, err := cl.flushReply(250)
	if err != nil {
		return "", fmt.Errorf("EHLO: %w", err)
	}
	if c.starttls {
		if !strings.Contains(ehlo, "STARTTLS") {
			return "", errors.New("the server does not offer STARTTLS")
		}
		cl.w.WriteString("STARTTLS\r\n")
		if _, err := cl.flushReply(220); err != nil {
			return "", fmt.Errorf("STARTTLS: %w", err)
		}
		host, _, _ := net.SplitHostPort(c.addr)
		tc := tls.Client(cl.conn, &tls.Config{ServerName: host, InsecureSkipVerify: true})
		tc.SetDeadline(time.Now().Add(c.timeout))
		if err := tc.Handshake(); err != nil {
			return "", fmt.Errorf("TLS: %w", err)
		}
		tc.SetDeadline(time.Time{})
		cl.setConn(tc)
		// RFC 3207 §4.2: the client forgets what it knew and asks again.
		cl.w.WriteString("EHLO " + c.helo + "\r\n")
		if ehlo, err = cl.flushReply(250); err != nil {
			return "", fmt.Errorf("EHLO after STARTTLS: %w", err)
		}
	}
	if c.auth != "" {
		user, pass, _ := strings.Cut(c.auth, ":")
		// RFC 4616: authzid NUL authcid NUL passwd, sent as the initial response.
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		cl.w.WriteString("AUTH PLAIN " + ir + "\r\n")
		if _, err := cl.flushReply(235); err != nil {
			return "", fmt.Errorf("AUTH: %w", err)
		}
	}
	return ehlo, nil
}

// send runs one transaction and returns the time from the flush of the
// end-of-data line to the reply.
func (cl *client) send(c config, body []byte, seq int, pipe bool) (time.Duration, error) {
	mail := "MAIL FROM:<" + c.from + ">\r\n"
	rcpt := "RCPT TO:<" + c.to + ">\r\n"
	if pipe {
		cl.w.WriteString(mail + rcpt + "DATA\r\n")
		if err := cl.w.Flush(); err != nil {
			return 0, err
		}
		for _, want := range []int{250, 250, 354} {
			if _, err := cl.reply(want); err != nil {
				return 0, err
			}
		}
	} else {
		for _, step := range []struct {
			cmd  string
			want int
		}{{mail, 250}, {rcpt, 250}, {"DATA\r\n", 354}} {
			cl.w.WriteString(step.cmd)
			if _, err := cl.flushReply(step.want); err != nil {
				return 0, err
			}
		}
	}
	// A per-message header line keeps the messages distinct.
	fmt.Fprintf(cl.w, "X-Seq: %08d\r\n", seq)
	cl.w.Write(body)
	cl.w.WriteString(".\r\n")
	if err := cl.w.Flush(); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if _, err := cl.reply(250); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func (cl *client) flushReply(want int) (string, error) {
	if err := cl.w.Flush(); err != nil {
		return "", err
	}
	return cl.reply(want)
}

// reply reads one (possibly multi-line) reply and checks its code.
func (cl *client) reply(want int) (string, error) {
	cl.conn.SetReadDeadline(time.Now().Add(cl.timeout))
	var text strings.Builder
	for {
		line, err := cl.r.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return text.String(), err
		}
		text.WriteString(line)
		if len(line) < 4 {
			return text.String(), fmt.Errorf("malformed reply %q", line)
		}
		if line[3] == '-' {
			continue
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code != want {
			return text.String(), fmt.Errorf("want %d, got %q", want, strings.TrimSpace(line))
		}
		return text.String(), nil
	}
}

// messageBody builds the message data (without the X-Seq line and the
// end-of-data line): headers, then text lines up to c.size octets in all,
// X-Seq included. No line starts with a dot, so no stuffing is needed.
func messageBody(c config, session int) ([]byte, error) {
	head := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: smtpload %d\r\nDate: %s\r\nMessage-ID: <smtpload.%d.%d@%s>\r\n\r\n",
		c.from, c.to, session, time.Now().Format(time.RFC1123Z), session, time.Now().UnixNano(), c.helo)
	const seqLine = len("X-Seq: 00000000\r\n")
	need := c.size - seqLine - len(head)
	if need < 3 {
		return nil, fmt.Errorf("-size %d is too small for the header (%d octets)", c.size, seqLine+len(head))
	}
	var b strings.Builder
	b.WriteString(head)
	const text = "The quick brown fox jumps over the lazy dog, pack my box with five dozen liquor jugs; " // no dots: no line may start with one
	for need > 0 {
		n := min(need, 78) // lines of at most 78 octets with their CRLF
		if r := need - n; r > 0 && r < 3 {
			n -= 3 // leave room for a last line of at least one character
		}
		line := strings.Repeat(text, 2)[need%len(text):][:n-2]
		b.WriteString(line + "\r\n")
		need -= n
	}
	return []byte(b.String()), nil
}
