package useragent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"posthorn/internal/useragent/imapclient"
)

// Account says where the mail is and who reads it.
type Account struct {
	// Server is the host name (or address) of both IMAP and submission.
	Server string
	// SMTPPort is the submission port (STARTTLS); 0 means 587.
	SMTPPort int
	// IMAPPort is the IMAP port (STARTTLS); 0 means 143.
	IMAPPort int
	// User is the login name, usually the address.
	User string
	// Password is the user's password; it is sent only over TLS.
	Password string
	// Insecure accepts any server certificate (a self-signed one on a
	// test server). Without it the certificate must verify for Server.
	Insecure bool
}

// Options are the parts of an Agent that tests and embedders may replace.
// The zero value works.
type Options struct {
	// Now is the clock for the Date field; nil means time.Now.
	Now func() time.Time
	// Timeout bounds each network exchange; 0 means 2 minutes.
	Timeout time.Duration
	// RootCAs verifies server certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// IMAP passes options to the IMAP client (its TLS and Dial fields are
	// set by the Agent).
	IMAP imapclient.Options
}

// Agent runs mail operations for one account. It holds no connections
// between calls and may be used by one goroutine at a time.
type Agent struct {
	acct Account
	opts Options
}

// ErrNoMessage is returned when a message ID names no message in the
// folder.
var ErrNoMessage = errors.New("no such message")

// New returns an Agent for the account, checking that it is complete.
func New(acct Account, opts Options) (*Agent, error) {
	if acct.Server == "" {
		return nil, errors.New("no server: give --server or set server in mail.toml")
	}
	if acct.User == "" {
		return nil, errors.New("no user: give --user or set user in mail.toml")
	}
	if acct.SMTPPort == 0 {
		acct.SMTPPort = DefaultSMTPPort
	}
	if acct.IMAPPort == 0 {
		acct.IMAPPort = DefaultIMAPPort
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	return &Agent{acct: acct, opts: opts}, nil
}

// tlsConfig verifies the server's certificate for its name unless the
// account is marked insecure.
func (a *Agent) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         a.acct.Server,
		InsecureSkipVerify: a.acct.Insecure,
		MinVersion:         tls.VersionTLS12,
		RootCAs:            a.opts.RootCAs,
	}
}

// connect opens an IMAP session: STARTTLS, then login.
func (a *Agent) connect(ctx context.Context) (*imapclient.Client, error) {
	o := a.opts.IMAP
	o.TLS = a.tlsConfig()
	o.Security = imapclient.StartTLS
	if o.Timeout == 0 {
		o.Timeout = a.opts.Timeout
	}
	addr := net.JoinHostPort(a.acct.Server, strconv.Itoa(a.acct.IMAPPort))
	c, err := imapclient.Dial(ctx, addr, o)
	if err != nil {
		return nil, fmt.Errorf("IMAP %s: %w", addr, err)
	}
	if err := c.Login(ctx, a.acct.User, a.acct.Password); err != nil {
		c.Close()
		return nil, fmt.Errorf("IMAP login as %s: %w", a.acct.User, err)
	}
	return c, nil
}

// session runs fn on a fresh IMAP session and logs out afterwards. A
// failed LOGOUT is ignored: the work is done, and closing ends the session
// just as well.
func (a *Agent) session(ctx context.Context, fn func(c *imapclient.Client) error) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	c.Logout(ctx)
	return err
}

// findSpecial returns the mailbox with a special-use attribute (RFC 6154),
// else one whose name is a common name for that use, else "".
func findSpecial(boxes []imapclient.Mailbox, use string, names ...string) string {
	for _, m := range boxes {
		if m.HasAttr(use) && m.Selectable() {
			return m.Name
		}
	}
	for _, n := range names {
		for _, m := range boxes {
			if strings.EqualFold(m.Name, n) && m.Selectable() {
				return m.Name
			}
		}
	}
	return ""
}

// sameMailbox compares mailbox names; INBOX is case-insensitive (RFC 3501
// §5.1).
func sameMailbox(a, b string) bool {
	if strings.EqualFold(a, "INBOX") {
		return strings.EqualFold(b, "INBOX")
	}
	return a == b
}

// requireMessage fails with ErrNoMessage unless the selected folder has a
// message with the UID: STORE, MOVE and EXPUNGE on a missing UID succeed
// silently (RFC 3501 §6.4.8), which would hide a typo.
func requireMessage(ctx context.Context, c *imapclient.Client, folder string, uid uint32) error {
	found := false
	err := c.UIDFetch(ctx, []uint32{uid}, []string{"UID"}, func(*imapclient.Message) error {
		found = true
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: ID %d in %s", ErrNoMessage, uid, folder)
	}
	return nil
}
