package webmail

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// Mail is what the viewer needs from the JMAP server (jmap.Server
// implements it; the composition root wires it in).
type Mail interface {
	// HTMLBody returns the HTML body of an Email of the user r
	// authenticates, and the content of its inline parts by Content-ID.
	// Errors wrap fs.ErrPermission (not logged in) or fs.ErrNotExist.
	HTMLBody(r *http.Request, emailID string) (doc string, inline func(cid string) (contentType string, data []byte, ok bool), err error)
}

// Options configure the UI. Mail is required.
type Options struct {
	Mail   Mail
	Logger *slog.Logger
}

// UI serves the web interface.
type UI struct {
	mail   Mail
	log    *slog.Logger
	assets map[string]*asset // by URL path
	policy *sanitizer
}

// asset is a static file, kept plain and gzip-compressed.
type asset struct {
	typ   string
	plain []byte
	gz    []byte
	etag  string
}

// pageCSP is the policy of the UI's own pages: only our scripts, styles and
// API; frames only of our viewer; never framed by anyone.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; manifest-src 'self'"

// New makes the UI.
func New(o Options) *UI {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	u := &UI{mail: o.Mail, log: o.Logger.With("proto", "webmail"), assets: map[string]*asset{}, policy: newSanitizer()}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		u.assets["/assets/"+strings.TrimPrefix(p, "static/")] = newAsset(p, b)
		return nil
	})
	if err != nil {
		panic("webmail: embedded files unreadable: " + err.Error()) // the binary is broken
	}
	return u
}

func newAsset(name string, b []byte) *asset {
	typ := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		typ = "text/javascript; charset=utf-8"
	case ".css":
		typ = "text/css; charset=utf-8"
	case ".html":
		typ = "text/html; charset=utf-8"
	case ".svg":
		typ = "image/svg+xml"
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	sum := sha256.Sum256(b)
	return &asset{typ: typ, plain: b, gz: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// Register adds the UI's routes to mux: the app at /, its files under
// /assets/, and the message viewer at /view/{emailId}.
func (u *UI) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", u.serveIndex)
	mux.HandleFunc("GET /assets/{file...}", u.serveAsset)
	mux.HandleFunc("GET /view/{emailId}", u.serveView)
}

func (u *UI) serveIndex(w http.ResponseWriter, r *http.Request) {
	u.send(w, r, u.assets["/assets/index.html"])
}

func (u *UI) serveAsset(w http.ResponseWriter, r *http.Request) {
	a := u.assets[r.URL.Path]
	if a == nil || r.URL.Path == "/assets/index.html" {
		pageHeaders(w)
		http.NotFound(w, r)
		return
	}
	u.send(w, r, a)
}

// pageHeaders sets the security headers of our own pages.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer a browser sends
	// "Origin: null" on our own POSTs, and the CSRF check needs the origin.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// send writes an asset, gzip-compressed when the client takes it, and
// answers a matching If-None-Match with 304.
func (u *UI) send(w http.ResponseWriter, r *http.Request, a *asset) {
	pageHeaders(w)
	h := w.Header()
	h.Set("Content-Type", a.typ)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.plain
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
