package message

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"time"
)

// ReceivedInfo describes one SMTP (or LMTP) transaction for its Received
// trace field (RFC 5321 §4.4).
type ReceivedInfo struct {
	// Helo is the argument the client gave to EHLO/HELO/LHLO.
	Helo string
	// RemoteHost is the client's verified reverse DNS name, "" if none.
	RemoteHost string
	// RemoteIP is the client's address; the zero Addr omits the TCP-info.
	RemoteIP netip.Addr
	// By is our host name.
	By string
	// ESMTP is set when the client said EHLO (or LHLO) rather than HELO.
	ESMTP bool
	// LMTP is set for LMTP (RFC 2033) rather than SMTP.
	LMTP bool
	// SMTPUTF8 is set when the transaction used SMTPUTF8 (RFC 6531).
	SMTPUTF8 bool
	// Auth is set when the client authenticated (RFC 4954).
	Auth bool
	// TLSVersion and TLSCipher describe the TLS session (crypto/tls
	// constants); TLSVersion 0 means no TLS.
	TLSVersion, TLSCipher uint16
	// ID is the queue id of the message.
	ID string
	// Recipients are the envelope recipients. The "for" clause names the
	// recipient only when there is exactly one, so that a message to many
	// does not disclose the others (RFC 5321 §7.2).
	Recipients []string
	// Date is the time of receipt; zero means now.
	Date time.Time
}

// Protocol returns the "with" keyword for the transaction from the RFC 3848
// and RFC 6531 §3.7.3 registry: SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA,
// UTF8SMTP[S][A], LMTP[S][A].
func (r ReceivedInfo) Protocol() string {
	base := "ESMTP"
	switch {
	case r.LMTP:
		base = "LMTP"
	case r.SMTPUTF8:
		base = "UTF8SMTP"
	case !r.ESMTP:
		return "SMTP" // TLS and AUTH need EHLO, so no suffixes apply
	}
	if r.TLSVersion != 0 {
		base += "S"
	}
	if r.Auth {
		base += "A"
	}
	return base
}

// Received renders the Received field (RFC 5321 §4.4, RFC 5322 §3.6.7),
// folded at clause boundaries to 78 octets where possible, CRLF-terminated:
//
//	Received: from HELO (RDNS [IP])
//		by HOST (Posthorn) with ESMTPS
//		(TLS1.3 TLS_AES_128_GCM_SHA256) id QUEUEID
//		for <rcpt@example.org>; Mon, 02 Jan 2006 15:04:05 +0000
//
// Client-supplied text (HELO, recipient) is cleaned so that it cannot end
// the field or unbalance a comment.
func Received(r ReceivedInfo) string {
	var clauses []string
	from := "from " + traceWord(r.Helo, r.SMTPUTF8)
	if r.RemoteIP.IsValid() {
		host := "unknown"
		if r.RemoteHost != "" {
			host = traceWord(r.RemoteHost, false)
		}
		from += " (" + host + " " + addressLiteral(r.RemoteIP) + ")"
	}
	clauses = append(clauses, from, "by "+traceWord(r.By, false)+" (Posthorn)", "with "+r.Protocol())
	if r.TLSVersion != 0 {
		clauses = append(clauses, "("+tls.VersionName(r.TLSVersion)+" "+tls.CipherSuiteName(r.TLSCipher)+")")
	}
	if r.ID != "" {
		clauses = append(clauses, "id "+traceWord(r.ID, false))
	}
	if len(r.Recipients) == 1 {
		clauses = append(clauses, "for <"+traceAddr(r.Recipients[0])+">")
	}
	date := r.Date
	if date.IsZero() {
		date = time.Now()
	}
	clauses[len(clauses)-1] += ";"
	clauses = append(clauses, FormatDate(date))

	var b strings.Builder
	b.WriteString("Received: ")
	col := len("Received: ")
	for i, c := range clauses {
		switch {
		case i == 0:
		case col+1+len(c) > maxHeaderLine:
			b.WriteString("\r\n\t")
			col = 1
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(c)
		col += len(c)
	}
	b.WriteString("\r\n")
	return b.String()
}

// addressLiteral renders an IP as an RFC 5321 §4.1.3 address-literal.
func addressLiteral(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return "[" + ip.String() + "]"
	}
	return "[IPv6:" + ip.WithZone("").String() + "]"
}

// traceWord cleans a client-supplied domain-like word: letters, digits and
// ".-_:[]" stay (and non-ASCII when SMTPUTF8 allows it), anything else
// becomes "_"; empty becomes "unknown"; at most 255 octets.
func traceWord(s string, utf8OK bool) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 255; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte(".-_:[]", c) >= 0, c >= 0x80 && utf8OK:
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// traceAddr cleans an address for the "for" clause.
func traceAddr(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '<' || r == '>' || r == ' ' {
			return -1
		}
		return r
	}, s)
}
