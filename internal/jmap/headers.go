package jmap

import (
	"strings"
	"time"

	"posthorn/internal/message"
)

// Header field access in parsed forms (RFC 8621 §4.1.2, §4.1.3):
// "header:{name}[:as{Form}][:all]".

// headerForm is one of the parsed forms of RFC 8621 §4.1.2.
type headerForm uint8

const (
	formRaw headerForm = iota
	formText
	formAddresses
	formGroupedAddresses
	formMessageIDs
	formDate
	formURLs
)

var formNames = map[string]headerForm{
	"asRaw": formRaw, "asText": formText, "asAddresses": formAddresses, "asGroupedAddresses": formGroupedAddresses,
	"asMessageIds": formMessageIDs, "asDate": formDate, "asURLs": formURLs,
}

// knownForms lists, for the header fields RFC 5322 and RFC 2369 define,
// the forms RFC 8621 §4.1.2 allows besides asRaw; any other field may be
// fetched in every form.
var knownForms = func() map[string][]headerForm {
	m := map[string][]headerForm{}
	addr := []headerForm{formAddresses, formGroupedAddresses}
	for _, n := range []string{"from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender", "resent-reply-to", "resent-to", "resent-cc", "resent-bcc"} {
		m[n] = addr
	}
	for _, n := range []string{"message-id", "in-reply-to", "references", "resent-message-id"} {
		m[n] = []headerForm{formMessageIDs}
	}
	for _, n := range []string{"date", "resent-date"} {
		m[n] = []headerForm{formDate}
	}
	for _, n := range []string{"subject", "comments", "keywords", "list-id"} {
		m[n] = []headerForm{formText}
	}
	for _, n := range []string{"list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"} {
		m[n] = []headerForm{formURLs}
	}
	m["received"], m["return-path"] = nil, nil
	return m
}()

// headerProp is a parsed "header:" property name.
type headerProp struct {
	name string // the field name as asked
	form headerForm
	all  bool
}

// parseHeaderProp reads a "header:" property; anything else, or a form the
// field does not allow, is invalidArguments.
func parseHeaderProp(prop string) (headerProp, error) {
	rest, ok := strings.CutPrefix(prop, "header:")
	if !ok {
		return headerProp{}, invalidArgs("unknown property %q", prop)
	}
	parts := strings.Split(rest, ":")
	hp := headerProp{name: parts[0]}
	if hp.name == "" || !validFieldName(hp.name) {
		return headerProp{}, invalidArgs("invalid header field name in %q", prop)
	}
	parts = parts[1:]
	if n := len(parts); n > 0 && parts[n-1] == "all" {
		hp.all = true
		parts = parts[:n-1]
	}
	if len(parts) > 1 {
		return headerProp{}, invalidArgs("invalid header property %q", prop)
	}
	if len(parts) == 1 {
		f, ok := formNames[parts[0]]
		if !ok {
			return headerProp{}, invalidArgs("unknown header form in %q", prop)
		}
		hp.form = f
	}
	if allowed, known := knownForms[strings.ToLower(hp.name)]; known && hp.form != formRaw {
		ok := false
		for _, f := range allowed {
			ok = ok || f == hp.form
		}
		if !ok {
			return headerProp{}, invalidArgs("%s cannot be fetched in that form", hp.name)
		}
	}
	return hp, nil
}

// validFieldName checks RFC 5322 §3.6.8 ftext.
func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 || s[i] == ':' {
			return false
		}
	}
	return true
}

// value returns the property's value from a header section: the last
// instance of the field (or null), or with :all every instance in order.
func (hp headerProp) value(h message.Header) any {
	var vals []any
	for _, f := range h {
		if f.Name != "" && strings.EqualFold(f.Name, hp.name) {
			vals = append(vals, hp.form.parse(f.Value))
		}
	}
	if hp.all {
		if vals == nil {
			return []any{}
		}
		return vals
	}
	if len(vals) == 0 {
		return nil
	}
	return vals[len(vals)-1]
}

// parse renders a raw field value (after the colon, folding kept) in the
// form.
func (f headerForm) parse(raw string) any {
	switch f {
	case formText:
		return message.DecodeHeader(strings.TrimSpace(message.Unfold(raw)))
	case formAddresses:
		return emailAddresses(message.ParseAddressList(message.Unfold(raw)))
	case formGroupedAddresses:
		return groupedAddresses(message.ParseAddressList(message.Unfold(raw)))
	case formMessageIDs:
		ids := message.ParseMsgIDList(raw)
		if len(ids) == 0 {
			return nil
		}
		return stripAngles(ids)
	case formDate:
		t, ok := message.ParseDate(raw)
		if !ok {
			return nil
		}
		return t.Format(time.RFC3339)
	case formURLs:
		return parseURLs(raw)
	}
	return raw
}

// emailAddress is an EmailAddress (RFC 8621 §4.1.2.3).
type emailAddress struct {
	Name  *string `json:"name"`
	Email string  `json:"email"`
}

// addressGroup is an EmailAddressGroup (RFC 8621 §4.1.2.4).
type addressGroup struct {
	Name      *string        `json:"name"`
	Addresses []emailAddress `json:"addresses"`
}

func toEmailAddress(a message.Address) emailAddress {
	ea := emailAddress{Email: a.Addr()}
	if n := a.DisplayName(); n != "" {
		ea.Name = &n
	}
	return ea
}

// emailAddresses flattens groups into their members.
func emailAddresses(as []message.Address) []emailAddress {
	out := []emailAddress{}
	for _, a := range as {
		if !a.GroupStart && !a.GroupEnd {
			out = append(out, toEmailAddress(a))
		}
	}
	return out
}

// groupedAddresses keeps groups; addresses outside any group form groups
// with a null name.
func groupedAddresses(as []message.Address) []addressGroup {
	out := []addressGroup{}
	var cur *addressGroup
	for _, a := range as {
		switch {
		case a.GroupStart:
			name := message.DecodeHeader(a.Mailbox)
			out = append(out, addressGroup{Name: &name, Addresses: []emailAddress{}})
			cur = &out[len(out)-1]
		case a.GroupEnd:
			cur = nil
		case cur != nil:
			cur.Addresses = append(cur.Addresses, toEmailAddress(a))
		default:
			if n := len(out); n == 0 || out[n-1].Name != nil {
				out = append(out, addressGroup{Addresses: []emailAddress{}})
			}
			out[len(out)-1].Addresses = append(out[len(out)-1].Addresses, toEmailAddress(a))
		}
	}
	return out
}

// addressesOrNull renders an address list, null when empty.
func addressesOrNull(as []message.Address) any {
	ea := emailAddresses(as)
	if len(ea) == 0 {
		return nil
	}
	return ea
}

func stripAngles(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	}
	return out
}

// parseURLs reads a list of <URL>s (RFC 2369 §2), null when there is none.
func parseURLs(raw string) any {
	s := message.Unfold(raw)
	var out []string
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		if u := strings.Join(strings.Fields(s[i+1:i+j]), ""); u != "" {
			out = append(out, u)
		}
		s = s[i+j+1:]
	}
	if out == nil {
		return nil
	}
	return out
}

// rawHeaders renders the "headers" property: every field in order with
// its raw value (RFC 8621 §4.1.3 EmailHeader).
func rawHeaders(h message.Header) []map[string]string {
	out := []map[string]string{}
	for _, f := range h {
		if f.Name != "" {
			out = append(out, map[string]string{"name": f.Name, "value": f.Value})
		}
	}
	return out
}
