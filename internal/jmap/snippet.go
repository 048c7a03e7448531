package jmap

import (
	"encoding/json"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"posthorn/internal/mailbox"
)

// SearchSnippet/get (RFC 8621 §5.1): the subject and a stretch of the body
// text with the search terms marked, as HTML ("<mark>term</mark>").

type snippetArgs struct {
	AccountID string          `json:"accountId"`
	Filter    json.RawMessage `json:"filter"`
	EmailIDs  []string        `json:"emailIds"`
}

type snippet struct {
	EmailID string  `json:"emailId"`
	Subject *string `json:"subject"`
	Preview *string `json:"preview"`
}

type snippetResponse struct {
	AccountID string    `json:"accountId"`
	List      []snippet `json:"list"`
	NotFound  []string  `json:"notFound"`
}

// snippetLen is the most characters of a preview snippet (RFC 8621 §5.1:
// "up to 255 octets of plain text" before marking).
const snippetLen = 200

func (cc *call) snippetGet(raw json.RawMessage) (any, error) {
	var a snippetArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	if len(a.EmailIDs) > cc.s.o.MaxObjectsInGet {
		return nil, mErr(errRequestTooLarge, "at most %d emailIds", cc.s.o.MaxObjectsInGet)
	}
	f, err := parseFilter(a.Filter)
	if err != nil {
		return nil, err
	}
	terms := searchTerms(f)
	res := snippetResponse{AccountID: a.AccountID, List: []snippet{}, NotFound: []string{}}
	var want []mailbox.MessageID
	for _, raw := range a.EmailIDs {
		id, _ := cc.resolve(raw)
		if m, ok := parseEmailID(id); ok {
			want = append(want, m)
		}
	}
	msgs, err := cc.s.mbs.MessagesByID(cc.ctx, cc.ai.account, want)
	if err != nil {
		return nil, err
	}
	byID := map[string]mailbox.Message{}
	for _, m := range msgs {
		byID[emailID(m.ID)] = m
	}
	for _, raw := range a.EmailIDs {
		id, _ := cc.resolve(raw)
		m, ok := byID[id]
		if !ok {
			res.NotFound = append(res.NotFound, raw)
			continue
		}
		sn := snippet{EmailID: raw, Subject: markTerms(m.Index.Subject, terms, 0)}
		text, err := cc.plainText(m)
		if err != nil {
			return nil, err
		}
		sn.Preview = markTerms(text, terms, snippetLen)
		res.List = append(res.List, sn)
	}
	return res, nil
}

// searchTerms collects the words of the text, body and subject conditions
// of a filter, except under NOT.
func searchTerms(f *filterNode) []string {
	if f == nil || f.op == "NOT" {
		return nil
	}
	if f.op != "" {
		var out []string
		for _, c := range f.children {
			out = append(out, searchTerms(c)...)
		}
		return out
	}
	var c struct {
		Text, Body, Subject string
	}
	json.Unmarshal(f.cond, &c)
	return mailbox.FullTextWords(c.Text + " " + c.Body + " " + c.Subject)
}

// plainText returns the text body of a message for snippets.
func (cc *call) plainText(m mailbox.Message) (string, error) {
	le := &loadedEmail{cc: cc, m: m}
	defer le.close()
	vals, err := le.bodyValues(emailOpts{fetchText: true, maxBytes: 256 << 10})
	if err != nil {
		return "", err
	}
	fb, _ := le.getFlat()
	var b strings.Builder
	for _, bp := range fb.text {
		if v, ok := vals[bp.id]; ok {
			b.WriteString(v.Value)
			b.WriteByte(' ')
		}
	}
	s := b.String()
	for _, bp := range fb.text {
		if bp.p.Subtype == "html" {
			s = htmlText(s)
			break
		}
	}
	return strings.Join(strings.Fields(s), " "), nil
}

// htmlText strips tags from HTML for a snippet.
func htmlText(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return html.UnescapeString(b.String())
}

// markTerms finds the terms (as word prefixes, case-insensitively) in s
// and returns it HTML-escaped with the matches in <mark>; with window > 0
// only about window octets around the first match. nil when no term
// matches.
func markTerms(s string, terms []string, window int) *string {
	if len(terms) == 0 || s == "" {
		return nil
	}
	type span struct{ start, end int }
	var spans []span
	prevWord := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !prevWord && isWordRune(r) {
			if m := matchAt(s[i:], terms); m > 0 {
				spans = append(spans, span{i, i + m})
				i, prevWord = i+m, true
				continue
			}
		}
		prevWord = isWordRune(r)
		i += n
	}
	if len(spans) == 0 {
		return nil
	}
	from, to := 0, len(s)
	if window > 0 && len(s) > window {
		from = max(spans[0].start-window/4, 0)
		for from > 0 && !utf8.RuneStart(s[from]) {
			from--
		}
		to = min(from+window, len(s))
		for to < len(s) && !utf8.RuneStart(s[to]) {
			to++
		}
	}
	var b strings.Builder
	pos := from
	for _, sp := range spans {
		if sp.start < from || sp.end > to {
			continue
		}
		b.WriteString(html.EscapeString(s[pos:sp.start]))
		b.WriteString("<mark>" + html.EscapeString(s[sp.start:sp.end]) + "</mark>")
		pos = sp.end
	}
	b.WriteString(html.EscapeString(s[pos:to]))
	out := b.String()
	return &out
}

// matchAt returns the length of the longest term that s starts with,
// compared case-insensitively rune by rune, or 0.
func matchAt(s string, terms []string) int {
	best := 0
	for _, t := range terms {
		k := 0
		for j := utf8.RuneCountInString(t); j > 0 && k < len(s); j-- {
			_, n := utf8.DecodeRuneInString(s[k:])
			k += n
		}
		if k > best && strings.EqualFold(s[:k], t) {
			best = k
		}
	}
	return best
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
