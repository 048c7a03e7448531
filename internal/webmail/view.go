package webmail

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"strings"
)

// The message viewer: /view/{emailId}[?images=1] returns the sanitized
// HTML body of a message as a document for a sandboxed iframe of the UI.

// viewCSP is the viewer document's policy: nothing runs (no script-src,
// and the sandbox directive without allow-scripts), nothing is fetched but
// data: images, styles only inline; links may open a new, unsandboxed tab.
// Only the UI may frame it.
const viewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:%s; font-src 'none'; " +
	"form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"

// viewTemplate wraps the sanitized body. <base target> sends links to a
// new tab (the frame's sandbox allows popups, not navigating the UI).
const viewHead = `<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
	`<base target="_blank"><style>body{font-family:system-ui,sans-serif;margin:8px;overflow-wrap:anywhere}` +
	`img{max-width:100%;height:auto}pre{white-space:pre-wrap}</style></head><body>`

func (u *UI) serveView(w http.ResponseWriter, r *http.Request) {
	images := r.URL.Query().Get("images") == "1"
	h := w.Header()
	remote := ""
	if images {
		remote = " https: http:"
	}
	h.Set("Content-Security-Policy", strings.Replace(viewCSP, "%s", remote, 1))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cache-Control", "private, no-store")
	doc, inline, err := u.mail.HTMLBody(r, r.PathValue("emailId"))
	switch {
	case errors.Is(err, fs.ErrPermission):
		http.Error(w, "log in first", http.StatusUnauthorized)
		return
	case errors.Is(err, fs.ErrNotExist):
		http.Error(w, "no such message", http.StatusNotFound)
		return
	case err != nil:
		u.log.Error("view", "req", requestID(), "email", r.PathValue("emailId"), "remote", r.RemoteAddr, "err", err)
		http.Error(w, "cannot show the message", http.StatusInternalServerError)
		return
	}
	clean := u.policy.sanitize(doc, inline)
	if hasRemoteImages(clean) {
		h.Set("X-Remote-Images", "1")
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(viewHead + clean + "</body></html>"))
}

// requestID names one request in the log.
func requestID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
