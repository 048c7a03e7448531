package message

import (
	"strings"
)

// Address is one element of an address list in the shape IMAP ENVELOPE
// needs (RFC 3501 §7.4.2, RFC 9051 §7.5.2).
//
// A mailbox has Mailbox and Host set (Host is "" when the address had no
// domain; IMAP must not send NIL for it, since NIL marks a group, so
// renderers send "" or, like Dovecot, "MISSING_DOMAIN"). RFC 5322 §3.4 group
// syntax appears as a GroupStart element whose Mailbox is the group's
// display name, followed by the group's members and a GroupEnd element.
type Address struct {
	// Name is the display name as written: quotes and quoted-pairs
	// removed, white space between words reduced to one space, RFC 2047
	// encoded-words NOT decoded (IMAP sends them raw). When there is no
	// display name, the text of a comment after the address is used, as
	// in "mary@example.net (Mary Smith)".
	Name string `json:",omitempty"`
	// ADL is an obsolete source route (RFC 5322 §4.4) such as
	// "@a.example,@b.example", without the final colon.
	ADL string `json:",omitempty"`
	// Mailbox is the local part, quoted only when it is not a dot-atom.
	Mailbox string `json:",omitempty"`
	// Host is the domain as written, without white space or comments.
	Host string `json:",omitempty"`

	// GroupStart marks the start of an RFC 5322 group; Mailbox holds the
	// group's display name (IMAP: NIL NIL "name" NIL).
	GroupStart bool `json:",omitempty"`
	// GroupEnd marks the end of a group (IMAP: NIL NIL NIL NIL).
	GroupEnd bool `json:",omitempty"`
}

// Addr returns the addr-spec "mailbox@host" (just the mailbox when there is
// no host), or "" for group markers.
func (a Address) Addr() string {
	if a.GroupStart || a.GroupEnd {
		return ""
	}
	if a.Host == "" {
		return a.Mailbox
	}
	return a.Mailbox + "@" + a.Host
}

// DisplayName returns the display name with RFC 2047 encoded-words decoded.
func (a Address) DisplayName() string {
	return DecodeHeader(a.Name)
}

// String returns the address for display: `Name <mailbox@host>` with the
// name decoded, or just the addr-spec; always valid UTF-8.
func (a Address) String() string {
	return displayAddr(a, "")
}

// displayAddr renders one address for display, reading raw 8-bit text in
// the fallback charset.
func displayAddr(a Address, fallback string) string {
	switch {
	case a.GroupStart:
		return decodeWords(a.Mailbox, fallback) + ":"
	case a.GroupEnd:
		return ";"
	}
	addr := decodeRaw(a.Addr(), fallback)
	if n := trimWSP(decodeWords(a.Name, fallback)); n != "" {
		return n + " <" + addr + ">"
	}
	return addr
}

// DisplayList renders a list for display and search, decoded:
// "Name <a@b>, c@d, Group: e@f;".
func DisplayList(as []Address) string {
	return displayList(as, "")
}

func displayList(as []Address, fallback string) string {
	var b strings.Builder
	sep := ""
	for _, a := range as {
		switch {
		case a.GroupEnd:
			b.WriteString(";")
			sep = ", "
			continue
		case a.GroupStart:
			b.WriteString(sep)
			b.WriteString(displayAddr(a, fallback))
			sep = " "
			continue
		}
		b.WriteString(sep)
		b.WriteString(displayAddr(a, fallback))
		sep = ", "
	}
	return b.String()
}

// FormatAddressList renders a list in RFC 5322 §3.4 syntax for a header
// field: display names with non-ASCII characters become RFC 2047
// encoded-words (§5 (3)), other names are quoted when they are not a
// sequence of atoms. The result is one line; FormatField folds it.
func FormatAddressList(as []Address) string {
	var b strings.Builder
	sep := ""
	for _, a := range as {
		switch {
		case a.GroupEnd:
			b.WriteString(";")
			sep = ", "
			continue
		case a.GroupStart:
			b.WriteString(sep)
			b.WriteString(formatPhrase(a.Mailbox))
			b.WriteString(":")
			sep = " "
			continue
		}
		b.WriteString(sep)
		sep = ", "
		addr := a.Addr()
		if a.ADL != "" {
			addr = a.ADL + ":" + addr
		}
		if a.Name == "" && a.ADL == "" {
			b.WriteString(addr)
			continue
		}
		if a.Name != "" {
			b.WriteString(formatPhrase(a.Name))
			b.WriteString(" ")
		}
		b.WriteString("<" + addr + ">")
	}
	return b.String()
}

// formatPhrase renders a display name as an RFC 5322 phrase. Name is raw
// (encoded-words are kept); control characters, which no phrase may hold,
// become spaces, so a name can never break the field.
func formatPhrase(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if !isPrintableASCII(s) {
		return encodeWords(s, false, 0)
	}
	for _, w := range strings.Fields(s) {
		if !isAtom(w) && !looksEncoded(w) {
			return quoteString(s)
		}
	}
	return s
}

// isAtom reports whether s is an RFC 5322 §3.2.3 atom.
func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) {
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`()<>[]:;@\,."`, c) < 0
}

// isDotAtom reports whether s is an RFC 5322 §3.2.3 dot-atom-text.
func isDotAtom(s string) bool {
	for _, a := range strings.Split(s, ".") {
		if !isAtom(a) {
			return false
		}
	}
	return true
}

func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ParseAddressList parses an unfolded address-list header value (From, To,
// Cc, ...) per RFC 5322 §3.4, including group syntax and the obsolete forms
// of §4.4 (source routes, empty list elements, comments and white space
// around dots). It never fails: what cannot be read as an address is
// skipped, and an address without a domain comes back with Host "".
// net/mail rejects whole lists for one obsolete element, which a mail
// server cannot afford.
func ParseAddressList(s string) []Address {
	p := addrParser{lx: lexer{s: s}}
	for !p.lx.atEnd() {
		p.parseItem()
	}
	if p.inGroup {
		p.out = append(p.out, Address{GroupEnd: true})
	}
	return p.out
}

type addrParser struct {
	lx      lexer
	out     []Address
	inGroup bool
}

// parseItem reads one mailbox, group start or group end.
func (p *addrParser) parseItem() {
	var words []token
	p.lx.comment = ""
	for {
		t := p.lx.next()
		switch {
		case t.kind == tEOF:
			p.bareLocal(words)
			return
		case t.kind == tAtom || t.kind == tQuoted || t.kind == tLiteral || t.is('.'):
			words = append(words, t)
		case t.is('<'):
			a := p.angleAddr()
			a.Name = phraseText(words)
			p.add(a)
			p.skipRest()
			return
		case t.is('@'):
			local := localText(words)
			host := p.domain()
			p.add(Address{Mailbox: local, Host: host, Name: commentName(p.lx.comment)})
			p.skipRest()
			return
		case t.is(':'):
			if p.inGroup {
				continue // nested groups are not allowed; ignore the colon
			}
			p.out = append(p.out, Address{GroupStart: true, Mailbox: phraseText(words)})
			p.inGroup = true
			return
		case t.is(','):
			p.bareLocal(words)
			return
		case t.is(';'):
			p.bareLocal(words)
			if p.inGroup {
				p.out = append(p.out, Address{GroupEnd: true})
				p.inGroup = false
			}
			return
		}
		// '>' and other stray specials are ignored.
	}
}

func (p *addrParser) add(a Address) {
	p.out = append(p.out, a)
}

// bareLocal records words without "@" as an address with no domain.
func (p *addrParser) bareLocal(words []token) {
	if len(words) == 0 {
		return
	}
	p.add(Address{Mailbox: localText(words), Name: commentName(p.lx.comment)})
}

// skipRest skips to the end of the current list element, leaving a ";" that
// closes a group in place.
func (p *addrParser) skipRest() {
	for {
		save := p.lx.i
		t := p.lx.next()
		switch {
		case t.kind == tEOF || t.is(','):
			return
		case t.is(';') && p.inGroup:
			p.lx.i = save
			return
		}
	}
}

// angleAddr reads "[route ':'] addr-spec '>'" after "<" (RFC 5322 §3.4,
// §4.4 obs-angle-addr).
func (p *addrParser) angleAddr() Address {
	var a Address
	var words []token
	var route []string
	for {
		save := p.lx.i
		t := p.lx.next()
		switch {
		case t.kind == tEOF || t.is('>'):
			a.Mailbox = localText(words)
			a.ADL = strings.Join(route, ",")
			return a
		case t.is('@'):
			if len(words) == 0 && a.Host == "" {
				// obs-route: "@domain" entries up to ":".
				route = append(route, "@"+p.domain())
				continue
			}
			a.Mailbox = localText(words)
			a.Host = p.domain()
			a.ADL = strings.Join(route, ",")
			p.skipTo('>')
			return a
		case t.is(':') || t.is(','):
			continue // route separators
		case t.is(';') || t.is('<'):
			p.lx.i = save
			a.Mailbox = localText(words)
			return a
		default:
			words = append(words, t)
		}
	}
}

func (p *addrParser) skipTo(c byte) {
	for {
		save := p.lx.i
		t := p.lx.next()
		if t.kind == tEOF || t.is(c) {
			return
		}
		if t.is(',') || t.is(';') {
			p.lx.i = save
			return
		}
	}
}

// domain reads a dot-atom or domain-literal, allowing CFWS around dots
// (RFC 5322 §4.4 obs-domain).
func (p *addrParser) domain() string {
	var b strings.Builder
	wantAtom := true
	for {
		save := p.lx.i
		t := p.lx.next()
		switch {
		case (t.kind == tAtom || t.kind == tLiteral || t.kind == tQuoted) && wantAtom:
			b.WriteString(t.text)
			wantAtom = false
		case t.is('.'):
			b.WriteByte('.')
			wantAtom = true
		default:
			p.lx.i = save
			return b.String()
		}
	}
}

// phraseText joins display-name words: one space where the source had
// white space, none elsewhere ("Q." stays "Q.").
func phraseText(words []token) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 && w.spaceBefore {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}

// localText joins local-part words, dropping obsolete white space around
// dots, and quotes the result when it is not a dot-atom.
func localText(words []token) string {
	var b strings.Builder
	quoted := false
	for i, w := range words {
		if i > 0 && w.spaceBefore && w.kind != tSpecial && words[i-1].kind != tSpecial {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
		quoted = quoted || w.kind == tQuoted
	}
	s := b.String()
	if s != "" && (quoted || strings.Contains(s, " ")) && !isDotAtom(s) {
		return quoteString(s)
	}
	return s
}

func commentName(c string) string {
	return trimWSP(c)
}
