package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"
)

// DSNAction is the Action of one recipient in a delivery status
// notification (RFC 3464 §2.3.3).
type DSNAction string

// The actions of RFC 3464 §2.3.3.
const (
	ActionFailed    DSNAction = "failed"
	ActionDelayed   DSNAction = "delayed"
	ActionDelivered DSNAction = "delivered"
	ActionRelayed   DSNAction = "relayed"
	ActionExpanded  DSNAction = "expanded"
)

// DSNRecipient is the per-recipient part of a DSN (RFC 3464 §2.3).
type DSNRecipient struct {
	// FinalRecipient is the recipient address the MTA worked on.
	FinalRecipient string
	// OriginalRecipient is the ORCPT parameter (RFC 3461 §4.2) as
	// "addr-type;address", or a bare address; "" if there was none.
	OriginalRecipient string
	// Action is what happened to the recipient.
	Action DSNAction
	// Status is the enhanced status code, "5.1.1" (RFC 3463).
	Status string
	// RemoteMTA is the host name of the MTA that gave the diagnostic.
	RemoteMTA string
	// DiagnosticCode is that MTA's SMTP reply ("550 5.1.1 No such user").
	DiagnosticCode string
	// LastAttempt is the time of the last delivery attempt.
	LastAttempt time.Time
	// WillRetryUntil is when a delayed message will be given up.
	WillRetryUntil time.Time
}

// DSN is what BuildDSN needs to write a delivery status notification.
type DSN struct {
	// ReportingMTA is our host name; the DSN comes from
	// MAILER-DAEMON@ReportingMTA.
	ReportingMTA string
	// To is the envelope sender of the original message. A null sender
	// never gets a DSN (RFC 3461 §6.2, RFC 5321 §4.5.5).
	To string
	// Date is when the DSN is made; zero means now.
	Date time.Time
	// MessageID is the DSN's Message-ID ("<...>"); one is derived from
	// the content when it is "".
	MessageID string
	// EnvelopeID is the ENVID parameter of the original (RFC 3461 §4.4).
	EnvelopeID string
	// ArrivalDate is when the original message arrived.
	ArrivalDate time.Time
	// Recipients are the recipients the DSN reports on, at least one.
	Recipients []DSNRecipient
	// Original is the original message.
	Original []byte
	// HeadersOnly returns only the original's header (RET=HDRS, RFC 3461
	// §4.3), as text/rfc822-headers.
	HeadersOnly bool
	// MaxOriginal is the largest original returned whole; a larger one is
	// returned as headers only. 0 means DefaultMaxOriginal.
	MaxOriginal int
}

// DefaultMaxOriginal is the size above which a DSN carries only the
// original's header.
const DefaultMaxOriginal = 1 << 20

// BuildDSN writes a delivery status notification (RFC 3464): a
// multipart/report; report-type=delivery-status (RFC 6522) with a
// human-readable explanation, a message/delivery-status part, and the
// original message (message/rfc822) or its header (text/rfc822-headers).
// An original with a UTF-8 header is returned as message/global or
// message/global-headers, and non-ASCII addresses use the "utf-8" address
// type in a message/global-delivery-status part (RFC 6533). The DSN is
// auto-replied (RFC 3834 §5) and has CRLF line ends.
func BuildDSN(d DSN) ([]byte, error) {
	if d.To == "" {
		return nil, errors.New("message: no DSN for a null sender")
	}
	if len(d.Recipients) == 0 {
		return nil, errors.New("message: DSN without recipients")
	}
	if d.ReportingMTA == "" {
		return nil, errors.New("message: DSN without ReportingMTA")
	}
	if d.Date.IsZero() {
		d.Date = time.Now()
	}
	orig := toCRLF(d.Original)
	sum := sha256.Sum256(append([]byte(fmt.Sprint(d.Date.UnixNano(), d.To, d.Recipients)), orig...))
	tag := hex.EncodeToString(sum[:10])
	if d.MessageID == "" {
		d.MessageID = "<" + tag + ".dsn@" + d.ReportingMTA + ">"
	}
	bnd := "=_posthorn_dsn_" + tag
	for bytes.Contains(orig, []byte("--"+bnd)) {
		bnd += "_"
	}
	utf8Addrs := !isPrintableASCII(d.To)
	for _, r := range d.Recipients {
		utf8Addrs = utf8Addrs || !isPrintableASCII(r.FinalRecipient) || !isPrintableASCII(r.OriginalRecipient)
	}

	var b bytes.Buffer
	writeDSNHeader(&b, d, bnd)
	b.WriteString("This is a MIME-encapsulated message.\r\n")

	b.WriteString("\r\n--" + bnd + "\r\n")
	writeDSNText(&b, d)

	b.WriteString("\r\n--" + bnd + "\r\n")
	statusType := "message/delivery-status"
	if utf8Addrs {
		statusType = "message/global-delivery-status"
	}
	b.WriteString("Content-Description: Delivery report\r\n")
	b.WriteString("Content-Type: " + statusType + "\r\n\r\n")
	writeDSNStatus(&b, d)

	if len(orig) > 0 {
		b.WriteString("\r\n--" + bnd + "\r\n")
		writeDSNOriginal(&b, d, orig)
	}
	b.WriteString("\r\n--" + bnd + "--\r\n")
	return b.Bytes(), nil
}

// dsnKind sums up the recipients: "failed", "delayed" or "delivered".
func dsnKind(rs []DSNRecipient) string {
	kind := "delivered"
	for _, r := range rs {
		switch r.Action {
		case ActionFailed:
			return "failed"
		case ActionDelayed:
			kind = "delayed"
		}
	}
	return kind
}

func writeDSNHeader(b *bytes.Buffer, d DSN, bnd string) {
	subject := map[string]string{
		"failed":    "Undelivered Mail Returned to Sender",
		"delayed":   "Delayed Mail (still being retried)",
		"delivered": "Successful Mail Delivery Report",
	}[dsnKind(d.Recipients)]
	b.WriteString("From: Mail Delivery System <MAILER-DAEMON@" + d.ReportingMTA + ">\r\n")
	b.WriteString("To: <" + strings.Map(noCTL, d.To) + ">\r\n")
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("Date: " + FormatDate(d.Date) + "\r\n")
	b.WriteString("Message-ID: " + d.MessageID + "\r\n")
	// RFC 3834 §5: "auto-replied" for responses generated automatically.
	b.WriteString("Auto-Submitted: auto-replied\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/report; report-type=delivery-status;\r\n")
	b.WriteString("\tboundary=\"" + bnd + "\"\r\n")
	b.WriteString("\r\n")
}

// writeDSNText writes the human-readable part (RFC 3464 §2.1, RFC 6522
// §3: the first body part).
func writeDSNText(b *bytes.Buffer, d DSN) {
	var t strings.Builder
	fmt.Fprintf(&t, "This is the mail system at host %s.\r\n\r\n", sanitizeText(d.ReportingMTA))
	switch dsnKind(d.Recipients) {
	case "failed":
		t.WriteString("I'm sorry to have to inform you that your message could not\r\n" +
			"be delivered to one or more recipients. It's attached below.\r\n")
	case "delayed":
		t.WriteString("Your message could not be delivered yet to one or more recipients.\r\n" +
			"It will be retried until it is too old; you do not need to resend it.\r\n")
	default:
		t.WriteString("Your message was successfully delivered to the destination(s)\r\n" +
			"listed below.\r\n")
	}
	for _, r := range d.Recipients {
		fmt.Fprintf(&t, "\r\n<%s>: %s", strings.Map(noCTL, r.FinalRecipient), r.Action)
		switch {
		case r.RemoteMTA != "" && r.DiagnosticCode != "":
			fmt.Fprintf(&t, "; host %s said:", sanitizeText(r.RemoteMTA))
		case r.RemoteMTA != "":
			fmt.Fprintf(&t, " (host %s)", sanitizeText(r.RemoteMTA))
		}
		if r.DiagnosticCode != "" {
			var w strings.Builder
			foldWords(&w, sanitizeText(r.DiagnosticCode), 3)
			t.WriteString("\r\n   " + strings.ReplaceAll(w.String(), "\r\n", "\r\n   "))
		}
		if r.Action == ActionDelayed && !r.WillRetryUntil.IsZero() {
			t.WriteString("\r\n    Will retry until " + FormatDate(r.WillRetryUntil))
		}
		t.WriteString("\r\n")
	}
	b.WriteString("Content-Description: Notification\r\n")
	text := t.String()
	if isPrintableASCII(text) {
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
		b.WriteString(text)
		return
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(text))
	qp.Close()
}

// writeDSNStatus writes the message/delivery-status body (RFC 3464 §2.2,
// §2.3): per-message fields, a blank line, then per-recipient fields.
func writeDSNStatus(b *bytes.Buffer, d DSN) {
	b.WriteString("Reporting-MTA: dns; " + sanitizeText(d.ReportingMTA) + "\r\n")
	if d.EnvelopeID != "" {
		b.WriteString(refold("Original-Envelope-Id", sanitizeText(d.EnvelopeID)))
	}
	if !d.ArrivalDate.IsZero() {
		b.WriteString("Arrival-Date: " + FormatDate(d.ArrivalDate) + "\r\n")
	}
	for _, r := range d.Recipients {
		b.WriteString("\r\n")
		b.WriteString("Final-Recipient: " + dsnAddress(r.FinalRecipient) + "\r\n")
		if r.OriginalRecipient != "" {
			or := r.OriginalRecipient
			if !strings.Contains(or, ";") {
				or = dsnAddress(or)
			}
			b.WriteString(refold("Original-Recipient", strings.Map(noCTL, or)))
		}
		b.WriteString("Action: " + string(r.Action) + "\r\n")
		b.WriteString("Status: " + sanitizeText(r.Status) + "\r\n")
		if r.RemoteMTA != "" {
			b.WriteString("Remote-MTA: dns; " + sanitizeText(r.RemoteMTA) + "\r\n")
		}
		if r.DiagnosticCode != "" {
			b.WriteString(refold("Diagnostic-Code", "smtp; "+sanitizeText(r.DiagnosticCode)))
		}
		if !r.LastAttempt.IsZero() {
			b.WriteString("Last-Attempt-Date: " + FormatDate(r.LastAttempt) + "\r\n")
		}
		if r.Action == ActionDelayed && !r.WillRetryUntil.IsZero() {
			b.WriteString("Will-Retry-Until: " + FormatDate(r.WillRetryUntil) + "\r\n")
		}
	}
}

// dsnAddress renders an address with its RFC 3464 §2.3.2 address type:
// "rfc822" for ASCII, "utf-8" (RFC 6533 §3) otherwise.
func dsnAddress(addr string) string {
	addr = strings.Map(noCTL, addr)
	if isPrintableASCII(addr) {
		return "rfc822; " + addr
	}
	return "utf-8; " + addr
}

func noCTL(r rune) rune {
	if r < ' ' || r == 0x7f {
		return -1
	}
	return r
}

// writeDSNOriginal writes the returned message or its header (RFC 3464
// §2.1, RFC 3462 text/rfc822-headers, RFC 6532 §3.7 message/global).
func writeDSNOriginal(b *bytes.Buffer, d DSN, orig []byte) {
	h, bodyOff := ParseHeader(orig)
	global := Is8Bit(orig[:bodyOff]) || NeedsSMTPUTF8(h)
	limit := d.MaxOriginal
	if limit == 0 {
		limit = DefaultMaxOriginal
	}
	if d.HeadersOnly || len(orig) > limit {
		hdr := bytes.TrimRight(orig[:bodyOff], "\r\n")
		ctype := "text/rfc822-headers"
		if global {
			ctype = "message/global-headers"
		}
		b.WriteString("Content-Description: Undelivered Message Headers\r\n")
		b.WriteString("Content-Type: " + ctype + "\r\n")
		if Is8Bit(hdr) {
			b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
		}
		b.WriteString("\r\n")
		b.Write(hdr)
		b.WriteString("\r\n")
		return
	}
	ctype := "message/rfc822"
	if global {
		ctype = "message/global"
	}
	if dsnKind(d.Recipients) == "delivered" {
		b.WriteString("Content-Description: Returned Message\r\n")
	} else {
		b.WriteString("Content-Description: Undelivered Message\r\n")
	}
	b.WriteString("Content-Type: " + ctype + "\r\n")
	if Is8Bit(orig) || bytes.IndexByte(orig, 0) >= 0 {
		// RFC 2046 §5.2.1: message/rfc822 is never encoded; it is marked
		// 8bit, and the queue downgrades it for peers without 8BITMIME.
		b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	}
	b.WriteString("\r\n")
	b.Write(bytes.TrimSuffix(orig, []byte("\r\n")))
	b.WriteString("\r\n")
}

// toCRLF returns b with every line ending in CRLF.
func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/50+2)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			out = append(out, '\r', '\n')
			break
		}
		ln := bytes.TrimSuffix(b[:i], []byte("\r"))
		out = append(out, ln...)
		out = append(out, '\r', '\n')
		b = b[i+1:]
	}
	return out
}
