package jmap

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"posthorn/internal/mailbox"
)

// uiSession is one login of the web UI. The cookie holds a random token;
// the table is keyed by the token's SHA-256, so neither a lookup's timing
// nor a memory dump gives a usable cookie away. Sessions live in this
// process: a restart logs everybody out.
type uiSession struct {
	account mailbox.AccountID
	address string
	csrf    string // the token state-changing requests must echo
	created time.Time
	used    time.Time
}

// sessionTable holds the UI sessions.
type sessionTable struct {
	mu       sync.Mutex
	byHash   map[[32]byte]*uiSession
	now      func() time.Time
	idle     time.Duration
	lifetime time.Duration
	sweptAt  time.Time
}

func (t *sessionTable) init(now func() time.Time, idle, lifetime time.Duration) {
	t.byHash = map[[32]byte]*uiSession{}
	t.now, t.idle, t.lifetime = now, idle, lifetime
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session and returns its cookie token.
func (t *sessionTable) create(account mailbox.AccountID, address string) (token string, s *uiSession) {
	token = randomToken()
	now := t.now()
	s = &uiSession{account: account, address: address, csrf: randomToken(), created: now, used: now}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	t.byHash[sha256.Sum256([]byte(token))] = s
	return token, s
}

// lookup returns the live session of a token, refreshing its idle timer.
func (t *sessionTable) lookup(token string) *uiSession {
	if token == "" {
		return nil
	}
	now := t.now()
	key := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byHash[key]
	if s == nil {
		return nil
	}
	if now.Sub(s.used) > t.idle || now.Sub(s.created) > t.lifetime {
		delete(t.byHash, key)
		return nil
	}
	s.used = now
	return s
}

// remove ends the session of a token.
func (t *sessionTable) remove(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byHash, sha256.Sum256([]byte(token)))
}

// sweep drops expired sessions, at most once a minute. Callers hold mu.
func (t *sessionTable) sweep(now time.Time) {
	if now.Sub(t.sweptAt) < time.Minute {
		return
	}
	t.sweptAt = now
	for k, s := range t.byHash {
		if now.Sub(s.used) > t.idle || now.Sub(s.created) > t.lifetime {
			delete(t.byHash, k)
		}
	}
}

// count returns the number of sessions (for tests and metrics).
func (t *sessionTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byHash)
}
