package jmap

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"sync"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/mailbox"
)

// Options configure a Server. Mailboxes and Accounts are required; the zero
// value of every other field works.
type Options struct {
	Mailboxes *mailbox.Service
	Accounts  *account.Service
	// Delivery takes EmailSubmissions; nil leaves out the submission
	// capability.
	Delivery *delivery.Service
	// Hostname is used in the Message-IDs of drafts (default "localhost").
	Hostname string
	Logger   *slog.Logger
	// AllowPlaintextOnLoopback permits passwords (Basic auth, the login
	// form) over plain HTTP from 127.0.0.1 and ::1; otherwise only over TLS.
	AllowPlaintextOnLoopback bool

	// Limits advertised in the session resource (RFC 8620 §2) and
	// enforced; zero means the default in parentheses.
	MaxSizeRequest        int64 // octets of one API request (10 MiB)
	MaxCallsInRequest     int   // method calls in one request (64)
	MaxConcurrentRequests int   // API requests at once per account (8)
	MaxObjectsInGet       int   // ids in one /get (500)
	MaxObjectsInSet       int   // creates+updates+destroys in one /set (500)
	MaxSizeUpload         int64 // octets of one upload (the mailbox service's message size limit)
	MaxConcurrentUpload   int   // uploads at once per account (4)
	// MaxUploadBytes bounds the uploads held per account, waiting to be
	// used (default 4 × MaxSizeUpload); UploadTTL is how long an unused
	// upload is kept (default 1 hour, RFC 8620 §6.1's minimum).
	MaxUploadBytes int64
	UploadTTL      time.Duration
	// SessionIdle and SessionLifetime bound a UI login (default 24 hours
	// without use, 7 days in all).
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// PushPing is the least interval between EventSource pings a client
	// may ask for (default 5s).
	PushPing time.Duration
	Now      func() time.Time
}

// Server serves JMAP over HTTP. It is safe for concurrent use.
type Server struct {
	o        Options
	log      *slog.Logger
	mbs      *mailbox.Service
	accts    *account.Service
	sessions sessionTable
	uploads  uploadStore
	caps     capabilities
	// methodTable maps method names to their handlers (api.go).
	methodTable map[string]methodSpec

	mu       sync.Mutex
	inflight map[mailbox.AccountID]int // API requests running, per account
	upflight map[mailbox.AccountID]int // uploads running, per account
	counts   threadCountCache

	closeOnce sync.Once
	closed    chan struct{} // closed by Close: event streams end
}

// New makes a Server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxCallsInRequest, 64)
	def(&o.MaxConcurrentRequests, 8)
	def(&o.MaxObjectsInGet, 500)
	def(&o.MaxObjectsInSet, 500)
	def(&o.MaxConcurrentUpload, 4)
	if o.MaxSizeRequest <= 0 {
		o.MaxSizeRequest = 10 << 20
	}
	if o.MaxSizeUpload <= 0 {
		o.MaxSizeUpload = o.Mailboxes.MaxMessageSize()
	}
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = 4 * o.MaxSizeUpload
	}
	if o.UploadTTL <= 0 {
		o.UploadTTL = time.Hour
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 24 * time.Hour
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = 7 * 24 * time.Hour
	}
	if o.PushPing <= 0 {
		o.PushPing = 5 * time.Second
	}
	s := &Server{
		o: o, log: o.Logger, mbs: o.Mailboxes, accts: o.Accounts,
		inflight: map[mailbox.AccountID]int{}, upflight: map[mailbox.AccountID]int{},
		closed: make(chan struct{}),
	}
	s.sessions.init(o.Now, o.SessionIdle, o.SessionLifetime)
	s.uploads.init(o.Now, o.UploadTTL, o.MaxUploadBytes)
	s.caps = s.capabilities()
	s.methodTable = s.methods()
	return s
}

// Close ends the event streams (they never go idle, so an http.Server
// Shutdown would wait for them); register it with RegisterOnShutdown.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

// Paths of the endpoints.
const (
	PathWellKnown   = "/.well-known/jmap"
	PathAPI         = "/jmap/api"
	PathUpload      = "/jmap/upload/"
	PathDownload    = "/jmap/download/"
	PathEventSource = "/jmap/eventsource"
	PathLogin       = "/jmap/login"
	PathLogout      = "/jmap/logout"
)

// Register adds the JMAP endpoints to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET "+PathWellKnown, s.wrap(s.authed(s.handleSession)))
	mux.Handle("POST "+PathAPI, s.wrap(s.authed(s.handleAPI)))
	mux.Handle("POST "+PathUpload+"{accountId}/{$}", s.wrap(s.authed(s.handleUpload)))
	mux.Handle("GET "+PathDownload+"{accountId}/{blobId}/{name}", s.wrap(s.authed(s.handleDownload)))
	mux.Handle("GET "+PathEventSource, s.wrap(s.authed(s.handleEventSource)))
	mux.Handle("POST "+PathLogin, s.wrap(http.HandlerFunc(s.handleLogin)))
	mux.Handle("POST "+PathLogout, s.wrap(http.HandlerFunc(s.handleLogout)))
}

// reqInfo is what a request carries through its context.
type reqInfo struct {
	id     string
	log    *slog.Logger
	auth   *authInfo // nil until authenticated
	remote netip.Addr
	tls    *tls.ConnectionState
}

type ctxKey struct{}

func infoOf(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(ctxKey{}).(*reqInfo)
	return ri
}

// logFrom returns the request's logger (with its id and account), or log.
func logFrom(ctx context.Context, log *slog.Logger) *slog.Logger {
	if ri := infoOf(ctx); ri != nil {
		return ri.log
	}
	return log
}

func newRequestID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// wrap gives a request its id and logger, the security headers every JMAP
// response carries, and recovers a panic into a 500 with the stack logged.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &reqInfo{id: newRequestID(), remote: remoteIP(r), tls: r.TLS}
		ri.log = s.log.With("proto", "jmap", "req", ri.id)
		hd := w.Header()
		// JSON and blobs are never a page: nothing may run or frame them.
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				ri.log.Error("panic", "panic", p, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri)))
	})
}

// acquire counts a running request of an account against a limit; it
// returns false when the limit is reached.
func (s *Server) acquire(m map[mailbox.AccountID]int, acct mailbox.AccountID, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m[acct] >= limit {
		return false
	}
	m[acct]++
	return true
}

func (s *Server) release(m map[mailbox.AccountID]int, acct mailbox.AccountID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m[acct]--; m[acct] <= 0 {
		delete(m, acct)
	}
}
