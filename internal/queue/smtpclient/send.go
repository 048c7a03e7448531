package smtpclient

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"posthorn/internal/message"
)

// Envelope is what Send sends a message with.
type Envelope struct {
	From     string // "" is the null sender
	Rcpts    []Rcpt
	Ret      string // RFC 3461 RET (FULL, HDRS), passed on when the server offers DSN
	EnvID    string // RFC 3461 ENVID
	SMTPUTF8 bool   // the message needs SMTPUTF8 (RFC 6531)
}

// Rcpt is one recipient with its DSN parameters (RFC 3461).
type Rcpt struct {
	Addr   string
	Notify string // e.g. "FAILURE,DELAY"
	ORcpt  string // "rfc822;addr"
}

// Result holds the outcome of each recipient, in Envelope order: the RCPT
// reply when it was refused, else the reply to the message data.
type Result struct {
	Rcpts []Reply
	// Downgraded is set when 8-bit content was converted to 7-bit MIME
	// because the server lacks 8BITMIME (RFC 6152 §3).
	Downgraded bool
}

// Opener returns the message content from its start; Send may call it
// more than once.
type Opener func() (io.ReadCloser, error)

// Send transmits one message. A returned error applies to every recipient
// (MAIL refused, transport failure, SIZE or SMTPUTF8 refused up front); an
// *Error says whether it is permanent. Otherwise Result has a reply per
// recipient. The caller sends RSET before the next message.
func (c *Client) Send(env Envelope, open Opener) (Result, error) {
	res := Result{Rcpts: make([]Reply, len(env.Rcpts))}
	if env.SMTPUTF8 {
		if _, ok := c.Ext("SMTPUTF8"); !ok {
			return res, &Error{Command: "MAIL", Reply: Reply{Code: 553, Enhanced: "5.6.7", Text: "message needs SMTPUTF8, which the server does not offer"}}
		}
	}
	body, info, downgraded, err := c.prepare(open)
	if err != nil {
		return res, &Error{Command: "DATA", Err: err}
	}
	res.Downgraded = downgraded
	if max := c.MaxSize(); max > 0 && info.size > max {
		return res, &Error{Command: "MAIL", Reply: Reply{Code: 552, Enhanced: "5.3.4", Text: fmt.Sprintf("message size %d exceeds the server's limit %d", info.size, max)}}
	}
	_, pipelining := c.Ext("PIPELINING")
	_, chunking := c.Ext("CHUNKING")
	c.inTx = true
	c.readDeadline(c.timeouts.Command)
	c.w.WriteString(c.mailLine(env, info) + "\r\n")
	var mailRep Reply
	if !pipelining {
		if mailRep, err = c.flushReply("MAIL", c.timeouts.Command); err != nil {
			return res, err
		}
		if !mailRep.Positive() {
			return res, &Error{Command: "MAIL", Reply: mailRep}
		}
	}
	for i, r := range env.Rcpts {
		c.w.WriteString(c.rcptLine(r) + "\r\n")
		if !pipelining {
			if res.Rcpts[i], err = c.flushReply("RCPT", c.timeouts.Command); err != nil {
				return res, err
			}
		}
	}
	dataPipelined := pipelining && !chunking
	if dataPipelined {
		c.w.WriteString("DATA\r\n")
	}
	if pipelining {
		// RFC 2920 §3.1: read the replies in order once everything is sent.
		if mailRep, err = c.flushReply("MAIL", c.timeouts.Command); err != nil {
			return res, err
		}
		for i := range env.Rcpts {
			if res.Rcpts[i], err = c.flushReply("RCPT", c.timeouts.Command); err != nil {
				return res, err
			}
		}
	}
	accepted := 0
	for _, r := range res.Rcpts {
		if r.Positive() {
			accepted++
		}
	}
	final, done, err := c.sendData(body, info, chunking, dataPipelined, mailRep.Positive() && accepted > 0)
	if err != nil {
		return res, err
	}
	if done {
		// RFC 5321 §4.1.1.4: the end of the data ends the transaction,
		// whatever the reply; no RSET is needed before the next MAIL.
		c.inTx = false
	}
	if !mailRep.Positive() {
		return res, &Error{Command: "MAIL", Reply: mailRep}
	}
	for i, r := range res.Rcpts {
		if r.Positive() {
			res.Rcpts[i] = final
		}
	}
	return res, nil
}

// sendData sends the message data when go is set, else closes a pipelined
// DATA that the server may have accepted anyway (RFC 2920 §3.1). done
// reports that the data phase ended (so the transaction did too).
func (c *Client) sendData(body Opener, info bodyInfo, chunking, dataPipelined, goAhead bool) (rep Reply, done bool, err error) {
	if dataPipelined {
		rep, err := c.flushReply("DATA", c.timeouts.DataInit)
		if err != nil {
			return Reply{}, false, err
		}
		if rep.Code != 354 {
			if goAhead {
				return rep, false, nil // DATA refused: that is every recipient's reply
			}
			return Reply{}, false, nil
		}
		if !goAhead {
			// No valid recipient, yet the server wants data: end it empty.
			c.w.WriteString(".\r\n")
			_, err := c.flushReply("DATA", c.timeouts.DataEnd)
			return Reply{}, err == nil, err
		}
	}
	if !goAhead {
		return Reply{}, false, nil
	}
	r, err := body()
	if err != nil {
		return Reply{}, false, &Error{Command: "DATA", Err: err}
	}
	defer r.Close()
	if chunking {
		// RFC 3030: one BDAT LAST chunk with the exact octet count; no
		// dot-stuffing.
		c.readDeadline(c.timeouts.Block)
		c.w.WriteString("BDAT " + strconv.FormatInt(info.size, 10) + " LAST\r\n")
		if _, err := io.Copy(&deadlineWriter{c: c}, r); err != nil {
			return Reply{}, false, &Error{Command: "BDAT", Err: err}
		}
		rep, err := c.flushReply("BDAT", c.timeouts.DataEnd)
		return rep, err == nil, err
	}
	if !dataPipelined {
		c.w.WriteString("DATA\r\n")
		rep, err := c.flushReply("DATA", c.timeouts.DataInit)
		if err == nil && rep.Code != 354 {
			return rep, false, nil
		}
		if err != nil {
			return Reply{}, false, err
		}
	}
	if err := writeDotStuffed(c.w, &deadlineReader{c: c, r: r}); err != nil {
		return Reply{}, false, &Error{Command: "DATA", Err: err}
	}
	rep, err = c.flushReply("DATA", c.timeouts.DataEnd)
	return rep, err == nil, err
}

// prepare normalises line ends and, for a server without 8BITMIME,
// downgrades 8-bit content to 7-bit MIME; it returns an Opener for the
// bytes to send and their description.
func (c *Client) prepare(open Opener) (Opener, bodyInfo, bool, error) {
	normalized := func() (io.ReadCloser, error) {
		r, err := open()
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{message.NewCRLFReader(r), r}, nil
	}
	r, err := normalized()
	if err != nil {
		return nil, bodyInfo{}, false, err
	}
	info, err := scan(r)
	r.Close()
	if err != nil {
		return nil, bodyInfo{}, false, err
	}
	if _, ok := c.Ext("8BITMIME"); ok || !info.eightBit {
		return normalized, info, false, nil
	}
	// RFC 6152 §3: without 8BITMIME the content must be 7-bit.
	r, err = normalized()
	if err != nil {
		return nil, bodyInfo{}, false, err
	}
	defer r.Close()
	var buf bytes.Buffer
	if err := message.ToSevenBit(&buf, r); err != nil {
		return nil, bodyInfo{}, false, err
	}
	data := buf.Bytes()
	info, _ = scan(bytes.NewReader(data))
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, info, true, nil
}

// mailLine renders MAIL FROM with the parameters the server understands.
func (c *Client) mailLine(env Envelope, info bodyInfo) string {
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + env.From + ">")
	if _, ok := c.Ext("SIZE"); ok {
		b.WriteString(" SIZE=" + strconv.FormatInt(info.size, 10))
	}
	if _, ok := c.Ext("8BITMIME"); ok && info.eightBit {
		b.WriteString(" BODY=8BITMIME")
	}
	if _, ok := c.Ext("SMTPUTF8"); ok && env.SMTPUTF8 {
		b.WriteString(" SMTPUTF8")
	}
	if _, ok := c.Ext("DSN"); ok {
		if env.Ret != "" {
			b.WriteString(" RET=" + env.Ret)
		}
		if env.EnvID != "" {
			b.WriteString(" ENVID=" + xtext(env.EnvID))
		}
	}
	return b.String()
}

func (c *Client) rcptLine(r Rcpt) string {
	line := "RCPT TO:<" + r.Addr + ">"
	if _, ok := c.Ext("DSN"); ok {
		if r.Notify != "" {
			line += " NOTIFY=" + r.Notify
		}
		if r.ORcpt != "" {
			typ, addr, _ := strings.Cut(r.ORcpt, ";")
			line += " ORCPT=" + typ + ";" + xtext(addr)
		}
	}
	return line
}

// xtext encodes a DSN parameter value (RFC 3461 §4): "+", "=", controls,
// space and non-ASCII as "+XX".
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 33 || ch > 126 || ch == '+' || ch == '=' {
			fmt.Fprintf(&b, "+%02X", ch)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// deadlineWriter and deadlineReader keep the data timeout per block (RFC
// 5321 §4.5.3.2.5: 3 minutes for each block written).
type deadlineWriter struct{ c *Client }

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.c.conn.SetWriteDeadline(time.Now().Add(d.c.timeouts.Block))
	return d.c.w.Write(p)
}

type deadlineReader struct {
	c *Client
	r io.Reader
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.c.conn.SetWriteDeadline(time.Now().Add(d.c.timeouts.Block))
	return d.r.Read(p)
}
