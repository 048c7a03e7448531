package imapclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Security is how a connection is encrypted. There is no plaintext mode:
// the client sends passwords.
type Security int

const (
	// StartTLS connects in plaintext and upgrades with STARTTLS (RFC 3501
	// §6.2.1) before anything else; the usual mode on port 143.
	StartTLS Security = iota
	// ImplicitTLS starts TLS at once (RFC 8314 §3.3), port 993.
	ImplicitTLS
)

// Options configure a Client. The zero value works, verifying the server's
// certificate for the host part of the dialled address.
type Options struct {
	// TLS is the TLS configuration; nil means the defaults. An empty
	// ServerName is set to the dialled host.
	TLS *tls.Config
	// Security selects STARTTLS (the default) or implicit TLS.
	Security Security
	// Timeout bounds each command when the context has no earlier
	// deadline; default 5 minutes.
	Timeout time.Duration
	// Limits bound what the server's responses may cost.
	Limits Limits
	// IgnoreCapabilities are capabilities to act as if the server had not
	// announced (e.g. "MOVE" for a server whose MOVE is broken).
	IgnoreCapabilities []string
	// Dial opens the TCP connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Error is a NO or BAD completion of a command (RFC 3501 §7.1.2, §7.1.3).
type Error struct {
	// Command is the command that failed ("UID MOVE").
	Command string
	// Status is "NO" or "BAD".
	Status string
	// Code is the response code's name ("TRYCREATE"), "" if none.
	Code string
	// Text is the server's human-readable text.
	Text string
}

// Error renders the failure as the server put it.
func (e *Error) Error() string {
	s := "imap: " + e.Command + ": " + e.Status
	if e.Code != "" {
		s += " [" + e.Code + "]"
	}
	return s + " " + e.Text
}

// Client is one IMAP connection. It runs one command at a time and is not
// safe for concurrent use.
type Client struct {
	conn   net.Conn
	r      *Reader
	w      *bufio.Writer
	opts   Options
	caps   map[string]bool
	tag    int
	broken error // set when the connection can no longer be used
}

// Dial connects to addr ("host:port"), reads the greeting, secures the
// connection (STARTTLS or implicit TLS, per opts) and learns the server's
// capabilities. The client is not logged in yet.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{}
	if opts.TLS != nil {
		tlsConf = opts.TLS.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = host
	}
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: opts.Timeout}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Client{opts: opts}
	if opts.Security == ImplicitTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	c.setConn(conn)
	if err := c.greet(ctx); err != nil {
		c.conn.Close()
		return nil, err
	}
	if opts.Security == StartTLS {
		if err := c.startTLS(ctx, tlsConf); err != nil {
			c.conn.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	c.r = NewReader(conn, c.opts.Limits)
	c.w = bufio.NewWriter(conn)
}

// greet reads the server greeting (RFC 3501 §7.1.1, §7.1.4, §7.1.5).
func (c *Client) greet(ctx context.Context) error {
	stop := c.deadline(ctx)
	defer stop()
	resp, err := c.r.ReadResponse()
	if err != nil {
		return fmt.Errorf("imap: reading greeting: %w", err)
	}
	switch {
	case resp.Tag != "*" || (resp.Status != "OK" && resp.Status != "PREAUTH"):
		return fmt.Errorf("imap: server refused the connection: %s %s", resp.Status, resp.Text)
	case resp.Code == "CAPABILITY":
		c.setCaps(strings.Fields(resp.CodeText))
		return nil
	}
	return c.Capability(ctx)
}

// startTLS runs STARTTLS and the handshake, then asks for capabilities
// again (RFC 3501 §6.2.1).
func (c *Client) startTLS(ctx context.Context, conf *tls.Config) error {
	if !c.Has("STARTTLS") {
		return errors.New("imap: the server does not offer STARTTLS")
	}
	if _, err := c.execute(ctx, "STARTTLS", nil, nil); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		// Anything sent before the handshake could be injected by a man in
		// the middle and would be read as if it came over TLS.
		return errors.New("imap: data after the STARTTLS reply (injection attempt?)")
	}
	tc := tls.Client(c.conn, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	c.setConn(tc)
	c.caps = nil
	return c.Capability(ctx)
}

// Capability asks for the server's capabilities (RFC 3501 §6.1.1).
func (c *Client) Capability(ctx context.Context) error {
	_, err := c.execute(ctx, "CAPABILITY", nil, nil)
	return err
}

// Has reports whether the server announced a capability (case-insensitive),
// unless Options.IgnoreCapabilities names it.
func (c *Client) Has(capability string) bool {
	return c.caps[strings.ToUpper(capability)]
}

// Capabilities returns the capabilities the client acts on, upper-cased.
func (c *Client) Capabilities() []string {
	out := make([]string, 0, len(c.caps))
	for k := range c.caps {
		out = append(out, k)
	}
	return out
}

func (c *Client) setCaps(list []string) {
	c.caps = map[string]bool{}
	for _, s := range list {
		c.caps[strings.ToUpper(s)] = true
	}
	for _, s := range c.opts.IgnoreCapabilities {
		delete(c.caps, strings.ToUpper(s))
	}
}

// TLSConnectionState returns the state of the connection's TLS.
func (c *Client) TLSConnectionState() tls.ConnectionState {
	if tc, ok := c.conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// Close closes the connection without LOGOUT.
func (c *Client) Close() error { return c.conn.Close() }

// deadline bounds the next exchange by the context's deadline or
// Options.Timeout, and unblocks it when the context is cancelled.
func (c *Client) deadline(ctx context.Context) (stop func() bool) {
	d := time.Now().Add(c.opts.Timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	c.conn.SetDeadline(d)
	return context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
}

// qstr is a command argument sent as an IMAP string: quoted when it can
// be, else as a literal (RFC 3501 §4.3).
type qstr string

// lit is a command argument sent as a literal.
type lit []byte

// execute runs one command: name, then args, each preceded by a space.
// A string arg is sent as it is (atoms, numbers, sets, lists); qstr and lit
// as strings. Untagged responses go to handle (which may be nil); the
// tagged completion is returned, or an *Error for NO and BAD.
func (c *Client) execute(ctx context.Context, name string, args []any, handle func(*Response) error) (*Response, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := c.deadline(ctx)
	defer stop()
	c.tag++
	tag := "T" + strconv.Itoa(c.tag)
	resp, err := c.run(tag, name, args, handle)
	if err != nil {
		var ie *Error
		if !errors.As(err, &ie) && !errors.Is(err, errHandler) {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			c.broken = fmt.Errorf("imap: connection unusable after %s: %w", name, err)
			c.conn.Close()
		}
		return nil, unwrapHandler(err)
	}
	return resp, nil
}

// run sends the command and reads to its completion.
func (c *Client) run(tag, name string, args []any, handle func(*Response) error) (*Response, error) {
	c.w.WriteString(tag + " " + name)
	for _, a := range args {
		if s, ok := a.(saslResp); ok {
			c.w.WriteString("\r\n")
			if err := c.w.Flush(); err != nil {
				return nil, err
			}
			if err := c.waitContinuation(tag, name, handle); err != nil {
				return nil, err
			}
			c.w.WriteString(string(s))
			continue
		}
		c.w.WriteByte(' ')
		var data []byte
		switch a := a.(type) {
		case string:
			c.w.WriteString(a)
			continue
		case qstr:
			if quotable(string(a)) {
				var b strings.Builder
				writeQuoted(&b, string(a))
				c.w.WriteString(b.String())
				continue
			}
			data = []byte(a)
		case lit:
			data = a
		default:
			return nil, fmt.Errorf("imapclient: bad argument type %T", a) // a bug in this package
		}
		if err := c.sendLiteral(tag, name, data, handle); err != nil {
			return nil, err
		}
	}
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c.wait(tag, name, handle)
}

// sendLiteral writes a literal: at once with LITERAL+ (or LITERAL- up to
// 4096 octets, RFC 7888 §4), else after the server's continuation request.
func (c *Client) sendLiteral(tag, name string, data []byte, handle func(*Response) error) error {
	n := strconv.Itoa(len(data))
	if c.Has("LITERAL+") || (c.Has("LITERAL-") && len(data) <= 4096) {
		c.w.WriteString("{" + n + "+}\r\n")
		_, err := c.w.Write(data)
		return err
	}
	c.w.WriteString("{" + n + "}\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	if err := c.waitContinuation(tag, name, handle); err != nil {
		return err
	}
	_, err := c.w.Write(data)
	return err
}

// waitContinuation reads until a "+" response; a tagged reply first means
// the server refused the command.
func (c *Client) waitContinuation(tag, name string, handle func(*Response) error) error {
	for {
		resp, err := c.r.ReadResponse()
		if err != nil {
			return err
		}
		switch resp.Tag {
		case "+":
			return nil
		case "*":
			if err := c.untagged(resp, handle); err != nil {
				return err
			}
		case tag:
			if err := c.completion(resp, name); err != nil {
				return err
			}
			return protoErr("%s completed before its literal was sent", name)
		default:
			return protoErr("response with unknown tag %q", resp.Tag)
		}
	}
}

// errHandler marks an error returned by a response handler: the command
// still ran to completion, so the connection stays usable.
var errHandler = errors.New("handler")

type handlerError struct{ err error }

func (e *handlerError) Error() string   { return e.err.Error() }
func (e *handlerError) Is(t error) bool { return t == errHandler }
func (e *handlerError) Unwrap() error   { return e.err }

func unwrapHandler(err error) error {
	var he *handlerError
	if errors.As(err, &he) {
		return he.err
	}
	return err
}

// wait reads responses until the tagged completion of tag.
func (c *Client) wait(tag, name string, handle func(*Response) error) (*Response, error) {
	var herr error
	for {
		resp, err := c.r.ReadResponse()
		if err != nil {
			return nil, err
		}
		switch resp.Tag {
		case "*":
			if err := c.untagged(resp, handle); err != nil && herr == nil {
				herr = err
			}
		case tag:
			if err := c.completion(resp, name); err != nil {
				return nil, err
			}
			if herr != nil {
				return nil, &handlerError{herr}
			}
			return resp, nil
		case "+":
			return nil, protoErr("unexpected continuation request during %s", name)
		default:
			return nil, protoErr("response with unknown tag %q", resp.Tag)
		}
	}
}

// untagged files what every command must notice (capabilities, BYE) and
// passes the response on.
func (c *Client) untagged(resp *Response, handle func(*Response) error) error {
	switch {
	case resp.Name == "CAPABILITY":
		caps := make([]string, 0, len(resp.Fields))
		for _, f := range resp.Fields {
			if s, ok := f.AString(); ok {
				caps = append(caps, s)
			}
		}
		c.setCaps(caps)
	case resp.Code == "CAPABILITY":
		c.setCaps(strings.Fields(resp.CodeText))
	}
	if handle != nil {
		return handle(resp)
	}
	return nil
}

// completion turns a tagged reply into nil (OK) or an *Error.
func (c *Client) completion(resp *Response, name string) error {
	if resp.Code == "CAPABILITY" {
		c.setCaps(strings.Fields(resp.CodeText))
	}
	switch resp.Status {
	case "OK":
		return nil
	case "NO", "BAD":
		return &Error{Command: name, Status: resp.Status, Code: resp.Code, Text: resp.Text}
	}
	return protoErr("tagged %s reply to %s", resp.Status, name)
}
