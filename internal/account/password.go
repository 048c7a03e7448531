package account

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, one
// lane); a verification costs some tens of milliseconds.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC-format argon2id hash of a password:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("account: malformed password hash")

// VerifyPassword reports whether password matches a PHC argon2id hash, in
// time independent of where the two differ.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 || t > 100 {
		return false, errBadHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// verifyCache remembers recent successful verifications, keyed by a SHA-256
// of hash and password, so that a client that logs in again and again (a
// mail client opening several IMAP connections) does not pay for argon2id
// each time. Failures are never cached. Entries expire after ttl; a
// changed password changes the hash and so the key.
type verifyCache struct {
	mu  sync.Mutex
	ok  map[[32]byte]time.Time
	ttl time.Duration
}

func (c *verifyCache) key(hash, password string) [32]byte {
	h := sha256.New()
	h.Write([]byte(hash))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *verifyCache) verify(hash, password string, now time.Time) (bool, error) {
	k := c.key(hash, password)
	c.mu.Lock()
	exp, hit := c.ok[k]
	c.mu.Unlock()
	if hit && now.Before(exp) {
		return true, nil
	}
	ok, err := VerifyPassword(hash, password)
	if ok {
		c.mu.Lock()
		if c.ok == nil || len(c.ok) > 10000 {
			c.ok = make(map[[32]byte]time.Time)
		}
		c.ok[k] = now.Add(c.ttl)
		c.mu.Unlock()
	}
	return ok, err
}
