package mailauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Action is what to do with a checked message.
type Action string

// Actions, as the dis= of an Authentication-Results comment.
const (
	Deliver Action = "none"       // deliver to the inbox
	Junk    Action = "quarantine" // deliver to the Junk mailbox
	Reject  Action = "reject"     // refuse at the end of DATA (550 5.7.1)
)

// Errors for the SMTP layer to map to replies.
var (
	// ErrDMARCReject: the sender's domain publishes p=reject and the
	// message failed DMARC; reply 550 5.7.1 (RFC 7489 §10.3).
	ErrDMARCReject = errors.New("mailauth: rejected by the DMARC policy of the sender's domain")
	// ErrSPFReject: SPF failed for MAIL FROM with enforcement on; reply
	// 550 5.7.23 (RFC 7372 §3.2).
	ErrSPFReject = errors.New("mailauth: SPF validation failed")
)

// Options configure a Checker. Resolver and Hostname are required.
type Options struct {
	Resolver Resolver
	// Hostname is our authserv-id in Authentication-Results (RFC 8601
	// §2.5: the host name of the MTA that did the checks).
	Hostname string
	// DMARCEnforce rejects messages that fail DMARC under p=reject;
	// without it they go to Junk, like quarantine.
	DMARCEnforce bool
	// SPFEnforce rejects a MAIL FROM whose SPF result is fail.
	SPFEnforce bool
	// Timeout bounds the DNS work of each check (default 20 s): SPF, DKIM
	// and DMARC each get this much.
	Timeout time.Duration
	// Rand returns a number in [0, n) for pct= sampling (RFC 7489
	// §6.6.4); math/rand/v2 by default.
	Rand   func(n int) int
	Logger *slog.Logger
}

// Checker runs the inbound checks of the MX. It is safe for concurrent use.
type Checker struct{ o Options }

// NewChecker returns a Checker.
func NewChecker(o Options) *Checker {
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.IntN
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Checker{o: o}
}

// Input is one received message and its SMTP context.
type Input struct {
	RemoteIP netip.Addr
	Helo     string
	MailFrom string // "" for the null sender
	// SPF is the result of CheckSPF made at MAIL FROM; nil to check here.
	SPF *SPFResult
	// Message is the whole message as received, header and body.
	Message io.Reader
}

// Verdict is the outcome of the checks.
type Verdict struct {
	SPF    SPFResult
	DKIM   []DKIMCheck // one per signature, in header order
	DMARC  DMARCResult
	Action Action
	// Err is ErrDMARCReject or ErrSPFReject when Action is Reject.
	Err error
	// Header is the Authentication-Results field to add at delivery,
	// CRLF-terminated, folded one result per line.
	Header string
}

// Check authenticates a received message: SPF (unless given), every DKIM
// signature, DMARC for the From domain. DNS trouble becomes temperror or
// permerror results; only an error reading Message is returned.
func (c *Checker) Check(ctx context.Context, in Input) (Verdict, error) {
	var v Verdict
	if in.SPF != nil {
		v.SPF = *in.SPF
	} else {
		v.SPF = c.CheckSPF(ctx, in.RemoteIP, in.Helo, in.MailFrom)
	}
	br := bufio.NewReaderSize(in.Message, 32<<10)
	head, err := readHeaderSection(br, maxSignHeader)
	if err != nil && !errors.Is(err, ErrHeaderTooLong) {
		return v, err
	}
	if err == nil {
		v.DKIM, err = c.verifyDKIM(ctx, io.MultiReader(bytes.NewReader(head), br))
		if err != nil {
			return v, err
		}
	} else {
		v.DKIM = []DKIMCheck{{Result: DKIMPermError, Detail: "header section too long"}}
	}
	from, why := fromDomain(head)
	if from == "" {
		// RFC 7489 §6.6.1: without exactly one author domain DMARC cannot
		// be applied; such mail is not trusted with the inbox.
		v.DMARC = DMARCResult{Result: DMARCPermError, Detail: why}
	} else {
		v.DMARC = c.evalDMARC(ctx, from, v.SPF, v.DKIM)
	}
	v.Action, v.Err = c.decide(v)
	v.Header = renderResults(c.o.Hostname, v)
	return v, nil
}

// decide maps the results to a disposition.
func (c *Checker) decide(v Verdict) (Action, error) {
	if v.SPF.Reject {
		return Reject, ErrSPFReject
	}
	switch {
	case v.DMARC.Result == DMARCPermError && v.DMARC.From == "":
		return Junk, nil
	case v.DMARC.Result != DMARCFail:
		return Deliver, nil
	case v.DMARC.Applied == PolicyReject && c.o.DMARCEnforce:
		return Reject, ErrDMARCReject
	case v.DMARC.Applied == PolicyReject, v.DMARC.Applied == PolicyQuarantine:
		return Junk, nil
	}
	return Deliver, nil
}
