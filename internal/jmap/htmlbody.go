package jmap

import (
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"strings"

	"posthorn/internal/mailbox"
)

// HTMLBody gives the web UI's message viewer the HTML to sanitize and show:
// the Email's htmlBody (RFC 8621 §4.1.4) as one document, text parts in
// <pre>, and a function that returns the content of the inline parts that
// cid: URLs (RFC 2392) name, so the viewer can embed them as data: URLs.
//
// The request must carry a session cookie or Basic credentials (it is a
// safe GET, so no CSRF token is needed). Errors are fs.ErrPermission when
// it does not authenticate, fs.ErrNotExist when the Email is not the
// account's, or another error for a server failure.
func (s *Server) HTMLBody(r *http.Request, emailID string) (doc string, inline func(cid string) (contentType string, data []byte, ok bool), err error) {
	ai, _, _ := s.authenticate(r)
	if ai == nil {
		return "", nil, fmt.Errorf("jmap: not logged in: %w", fs.ErrPermission)
	}
	mid, ok := parseEmailID(emailID)
	if !ok {
		return "", nil, fmt.Errorf("jmap: email %q: %w", emailID, fs.ErrNotExist)
	}
	msgs, err := s.mbs.MessagesByID(r.Context(), ai.account, []mailbox.MessageID{mid})
	if err != nil {
		return "", nil, err
	}
	if len(msgs) == 0 {
		return "", nil, fmt.Errorf("jmap: email %q: %w", emailID, fs.ErrNotExist)
	}
	cc := &call{ctx: r.Context(), s: s, ai: ai, log: s.log.With("proto", "jmap", "req", newRequestID(), "account", ai.address)}
	le := &loadedEmail{cc: cc, m: msgs[0]}
	defer le.close()
	fb, err := le.getFlat()
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	for _, bp := range fb.html {
		if bp.p.Type != "text" {
			continue
		}
		v, err := le.textValue(bp, 0)
		if err != nil {
			return "", nil, err
		}
		if bp.p.Subtype == "html" {
			b.WriteString(v.Value)
		} else {
			b.WriteString("<pre>" + html.EscapeString(v.Value) + "</pre>")
		}
	}
	cids := map[string]*bodyPart{}
	var walk func(*bodyPart)
	walk = func(bp *bodyPart) {
		if id := strings.Trim(strings.TrimSpace(bp.p.ID), "<>"); id != "" && bp.id != "" {
			cids[id] = bp
		}
		for _, sub := range bp.subs {
			walk(sub)
		}
	}
	walk(le.parts)
	msg := msgs[0].ID
	inline = func(cid string) (string, []byte, bool) {
		bp := cids[cid]
		if bp == nil {
			return "", nil, false
		}
		rd, typ, err := s.openBlob(r.Context(), ai.account, partBlobID(msg, bp.id))
		if err != nil {
			return "", nil, false
		}
		defer rd.Close()
		data, err := readAllLimit(rd, maxInlineImage)
		if err != nil {
			return "", nil, false
		}
		return typ, data, true
	}
	return b.String(), inline, nil
}

// maxInlineImage bounds an inline image embedded in the viewer.
const maxInlineImage = 8 << 20
