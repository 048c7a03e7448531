package jmap

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"posthorn/internal/account"
	"posthorn/internal/mailbox"
)

// Cookie and header names of the UI session.
const (
	// CookieSession holds the session token: HttpOnly, SameSite=Strict,
	// Secure under TLS.
	CookieSession = "posthorn_session"
	// CookieCSRF holds the session's CSRF token for the UI's script to
	// echo in HeaderCSRF (or the csrf form field): SameSite=Strict, not
	// HttpOnly, Secure under TLS.
	CookieCSRF = "posthorn_csrf"
	// HeaderCSRF carries the CSRF token on state-changing requests.
	HeaderCSRF = "X-CSRF-Token"
)

// authInfo says who a request acts for.
type authInfo struct {
	account mailbox.AccountID
	address string
	ui      *uiSession // nil for HTTP Basic
}

// authed authenticates a request (session cookie or HTTP Basic) before h.
//
// A cookie session must pass the CSRF checks on every request that can
// change state (anything but GET and HEAD): the token of the session in
// HeaderCSRF, and an Origin (or Sec-Fetch-Site) that is this server's.
// Basic credentials are accepted only over TLS, or over plain HTTP from
// loopback when AllowPlaintextOnLoopback is set; a browser may replay
// cached Basic credentials cross-site, so they too must come from this
// origin when the request says where it comes from.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *authInfo)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := infoOf(r.Context())
		ai, status, msg := s.authenticate(r)
		if ai == nil {
			if status == http.StatusUnauthorized && !fromScript(r) {
				// Scripts handle 401 themselves; a challenge would make
				// the browser pop up its own password dialog.
				w.Header().Set("WWW-Authenticate", `Basic realm="posthorn", charset="UTF-8"`)
			}
			ri.log.Info("auth refused", "status", status, "reason", msg, "remote", r.RemoteAddr)
			writeProblem(w, problem{Type: "about:blank", Status: status, Detail: msg})
			return
		}
		ri.auth = ai
		ri.log = ri.log.With("account", ai.address)
		h(w, r, ai)
	})
}

// authenticate returns the request's identity, or the status and message
// to refuse it with.
func (s *Server) authenticate(r *http.Request) (*authInfo, int, string) {
	if c, err := r.Cookie(CookieSession); err == nil && c.Value != "" {
		us := s.sessions.lookup(c.Value)
		if us == nil {
			return nil, http.StatusUnauthorized, "session expired; log in again"
		}
		if !safeMethod(r.Method) {
			if !sameOrigin(r) {
				return nil, http.StatusForbidden, "cross-origin request refused"
			}
			if !tokenEqual(r.Header.Get(HeaderCSRF), us.csrf) {
				return nil, http.StatusForbidden, "missing or wrong CSRF token"
			}
		}
		return &authInfo{account: us.account, address: us.address, ui: us}, 0, ""
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return nil, http.StatusUnauthorized, "authentication required"
	}
	if !s.passwordTransportOK(r) {
		return nil, http.StatusForbidden, "passwords only over TLS"
	}
	if !sameOrigin(r) {
		return nil, http.StatusForbidden, "cross-origin request refused"
	}
	a, err := s.accts.Authenticate(r.Context(), user, pass, remoteIP(r))
	var te *account.ThrottledError
	switch {
	case err == nil:
		return &authInfo{account: a.ID, address: a.Address}, 0, ""
	case errors.As(err, &te):
		return nil, http.StatusTooManyRequests, "too many failed logins; try again later"
	case errors.Is(err, account.ErrAuthFailed):
		return nil, http.StatusUnauthorized, "invalid credentials"
	}
	logFrom(r.Context(), s.log).Error("authentication", "err", err)
	return nil, http.StatusServiceUnavailable, "authentication unavailable"
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// fromScript reports whether a browser script (fetch, XHR, EventSource)
// made the request, by the Fetch Metadata a browser always sends.
func fromScript(r *http.Request) bool {
	m := r.Header.Get("Sec-Fetch-Mode")
	return m != "" && m != "navigate"
}

func tokenEqual(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin is the strict Origin check: a request that names its origin
// (Origin, or Fetch Metadata's Sec-Fetch-Site) must come from this
// server's own scheme://host. Requests that name none (non-browser
// clients) pass; for cookie sessions the CSRF token still applies.
func sameOrigin(r *http.Request) bool {
	// A browser says "Origin: null" when the page's referrer policy is
	// no-referrer or the document is sandboxed; then only Fetch Metadata
	// can vouch for the request.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil {
			return false
		}
		return u.Scheme == scheme(r) && strings.EqualFold(u.Host, r.Host) && u.Path == "" && u.User == nil
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
		return r.Header.Get("Origin") != "null"
	}
	return false
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// passwordTransportOK reports whether a password may travel over r's
// connection: TLS, or loopback when plaintext there is allowed.
func (s *Server) passwordTransportOK(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.o.AllowPlaintextOnLoopback && remoteIP(r).IsLoopback()
}

func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// Where the login and logout forms send the browser afterwards.
const (
	uiHome        = "/"
	loginFailed   = "/?login=failed"
	loginThrottle = "/?login=throttled"
	loginInsecure = "/?login=insecure"
)

// handleLogin takes the UI's login form (username, password) and starts a
// cookie session. It answers with a redirect (303), so that the browser
// does not resubmit the password on reload.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ri := infoOf(r.Context())
	if !sameOrigin(r) {
		writeProblem(w, problem{Type: "about:blank", Status: http.StatusForbidden, Detail: "cross-origin login refused"})
		return
	}
	if !s.passwordTransportOK(r) {
		http.Redirect(w, r, loginInsecure, http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		writeProblem(w, problem{Type: "about:blank", Status: http.StatusBadRequest, Detail: "bad form"})
		return
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	a, err := s.accts.Authenticate(r.Context(), user, pass, remoteIP(r))
	var te *account.ThrottledError
	switch {
	case errors.As(err, &te):
		ri.log.Info("login throttled", "user", user, "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(te.Wait.Seconds())+1))
		http.Redirect(w, r, loginThrottle, http.StatusSeeOther)
		return
	case errors.Is(err, account.ErrAuthFailed):
		ri.log.Info("login failed", "user", user, "remote", r.RemoteAddr)
		http.Redirect(w, r, loginFailed, http.StatusSeeOther)
		return
	case err != nil:
		ri.log.Error("login", "err", err)
		writeProblem(w, problem{Type: "about:blank", Status: http.StatusServiceUnavailable, Detail: "login unavailable"})
		return
	}
	token, us := s.sessions.create(a.ID, a.Address)
	secure := r.TLS != nil
	http.SetCookie(w, &http.Cookie{Name: CookieSession, Value: token, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CookieCSRF, Value: us.csrf, Path: "/", Secure: secure, SameSite: http.SameSiteStrictMode})
	ri.log.Info("login", "account", a.Address, "remote", r.RemoteAddr)
	http.Redirect(w, r, uiHome, http.StatusSeeOther)
}

// handleLogout ends the cookie session. Like every state change of a
// cookie session it needs the CSRF token (header, or the csrf form field)
// and a same-origin request.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	ri := infoOf(r.Context())
	c, err := r.Cookie(CookieSession)
	if err == nil {
		us := s.sessions.lookup(c.Value)
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		tok := r.Header.Get(HeaderCSRF)
		if tok == "" {
			tok = r.PostFormValue("csrf")
		}
		if us != nil {
			if !sameOrigin(r) || !tokenEqual(tok, us.csrf) {
				writeProblem(w, problem{Type: "about:blank", Status: http.StatusForbidden, Detail: "missing or wrong CSRF token"})
				return
			}
			s.sessions.remove(c.Value)
			ri.log.Info("logout", "account", us.address)
		}
	}
	secure := r.TLS != nil
	for _, name := range []string{CookieSession, CookieCSRF} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == CookieSession, Secure: secure, SameSite: http.SameSiteStrictMode})
	}
	http.Redirect(w, r, uiHome, http.StatusSeeOther)
}
