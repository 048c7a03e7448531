package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Timeouts of RFC 5321 §4.5.3.2 for a client; the zero value of Timeouts
// means these.
type Timeouts struct {
	Greeting time.Duration // initial 220: 5 min
	Command  time.Duration // EHLO, MAIL, RCPT, RSET...: 5 min
	DataInit time.Duration // DATA → 354: 2 min
	Block    time.Duration // each block of data written: 3 min
	DataEnd  time.Duration // final dot → reply: 10 min
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.Greeting, 5*time.Minute)
	def(&t.Command, 5*time.Minute)
	def(&t.DataInit, 2*time.Minute)
	def(&t.Block, 3*time.Minute)
	def(&t.DataEnd, 10*time.Minute)
	return t
}

// Client is one SMTP connection to a server.
type Client struct {
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	timeouts Timeouts
	ext      map[string]string // EHLO keywords (upper case) → parameters
	esmtp    bool
	tls      bool
	// Greeting is the server's 220 reply.
	Greeting Reply
	// Injected counts octets the server sent between its STARTTLS reply
	// and the TLS handshake; they were discarded unread.
	Injected int
	inTx     bool // a MAIL transaction is open (RSET needed before the next)
}

// NewClient reads the greeting from an open connection. On a non-220
// greeting it returns an *Error and closes conn.
func NewClient(conn net.Conn, t Timeouts) (*Client, error) {
	c := &Client{conn: conn, timeouts: t.withDefaults()}
	c.r = bufio.NewReaderSize(conn, 4096)
	c.w = bufio.NewWriterSize(conn, 32<<10)
	conn.SetReadDeadline(time.Now().Add(c.timeouts.Greeting))
	rep, _, err := readReply(c.r)
	if err != nil {
		conn.Close()
		return nil, &Error{Command: "greeting", Err: err}
	}
	c.Greeting = rep
	if rep.Code != 220 {
		conn.Close()
		return nil, &Error{Command: "greeting", Reply: rep}
	}
	return c, nil
}

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

// RemoteAddr is the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// TLS reports whether the connection is encrypted, and how.
func (c *Client) TLS() (tls.ConnectionState, bool) {
	if tc, ok := c.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// cmd sends one command and reads its reply.
func (c *Client) cmd(timeout time.Duration, name, line string) (Reply, []string, error) {
	c.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := c.w.WriteString(line + "\r\n"); err != nil {
		return Reply{}, nil, &Error{Command: name, Err: err}
	}
	if err := c.w.Flush(); err != nil {
		return Reply{}, nil, &Error{Command: name, Err: err}
	}
	rep, lines, err := readReply(c.r)
	if err != nil {
		return Reply{}, nil, &Error{Command: name, Err: err}
	}
	return rep, lines, nil
}

// Hello sends EHLO, falling back to HELO when the server refuses EHLO, and
// records the extensions offered.
func (c *Client) Hello(name string) error {
	rep, lines, err := c.cmd(c.timeouts.Command, "EHLO", "EHLO "+name)
	if err != nil {
		return err
	}
	if rep.Code == 250 {
		c.esmtp = true
		c.ext = map[string]string{}
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(l, " ")
			c.ext[strings.ToUpper(k)] = v
		}
		return nil
	}
	rep, _, err = c.cmd(c.timeouts.Command, "HELO", "HELO "+name)
	if err != nil {
		return err
	}
	if rep.Code != 250 {
		return &Error{Command: "HELO", Reply: rep}
	}
	c.esmtp, c.ext = false, map[string]string{}
	return nil
}

// Ext reports whether the server offered an extension, and its parameter.
func (c *Client) Ext(name string) (string, bool) {
	v, ok := c.ext[strings.ToUpper(name)]
	return v, ok
}

// MaxSize returns the server's SIZE limit, 0 when it gave none.
func (c *Client) MaxSize() int64 {
	v, ok := c.Ext("SIZE")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

// StartTLS upgrades the connection (RFC 3207). Anything the server sent
// after its 220 and before the handshake is a man in the middle's
// injection (CVE-2011-0411 and kin): it is discarded, never read as a
// reply, and counted in Injected. After the handshake EHLO is sent again,
// since what the server offered before TLS cannot be trusted (RFC 3207
// §4.2).
func (c *Client) StartTLS(cfg *tls.Config, helo string) error {
	rep, _, err := c.cmd(c.timeouts.Command, "STARTTLS", "STARTTLS")
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		return &Error{Command: "STARTTLS", Reply: rep}
	}
	if n := c.r.Buffered(); n > 0 {
		c.r.Discard(n)
		c.Injected += n
	}
	tc := tls.Client(c.conn, cfg)
	tc.SetDeadline(time.Now().Add(c.timeouts.Command))
	if err := tc.Handshake(); err != nil {
		return &Error{Command: "STARTTLS", Err: err}
	}
	c.conn, c.tls = tc, true
	c.r = bufio.NewReaderSize(tc, 4096)
	c.w = bufio.NewWriterSize(tc, 32<<10)
	return c.Hello(helo)
}

// InTransaction reports whether a transaction is still open on the server
// (MAIL sent, data not completed), so that RSET is due before the next
// message.
func (c *Client) InTransaction() bool { return c.inTx }

// Reset sends RSET (between messages on one connection).
func (c *Client) Reset() error {
	rep, _, err := c.cmd(c.timeouts.Command, "RSET", "RSET")
	if err != nil {
		return err
	}
	if rep.Code != 250 {
		return &Error{Command: "RSET", Reply: rep}
	}
	c.inTx = false
	return nil
}

// Quit sends QUIT and closes the connection.
func (c *Client) Quit() error {
	_, _, err := c.cmd(c.timeouts.Command, "QUIT", "QUIT")
	c.conn.Close()
	return err
}

// Dial connects to addr and reads the greeting.
func Dial(ctx context.Context, d *net.Dialer, addr string, t Timeouts) (*Client, error) {
	if d == nil {
		d = &net.Dialer{Timeout: time.Minute}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &Error{Command: "connect", Err: err}
	}
	return NewClient(conn, t)
}

func (c *Client) String() string { return fmt.Sprintf("smtp client to %s", c.conn.RemoteAddr()) }

// readDeadline sets a read deadline for the next reply.
func (c *Client) readDeadline(d time.Duration) { c.conn.SetDeadline(time.Now().Add(d)) }

// flushReply flushes what is buffered and reads one reply.
func (c *Client) flushReply(name string, d time.Duration) (Reply, error) {
	c.readDeadline(d)
	if err := c.w.Flush(); err != nil {
		return Reply{}, &Error{Command: name, Err: err}
	}
	rep, _, err := readReply(c.r)
	if err != nil {
		return Reply{}, &Error{Command: name, Err: err}
	}
	return rep, nil
}

var _ io.Closer = (*Client)(nil)
