package mailauth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"posthorn/internal/store"
)

// rsaBits is the size of new RSA keys: RFC 8301 §3.2 requires at least
// 1024 bits and recommends 2048, which every verifier handles.
const rsaBits = 2048

// GenerateKey makes a new DKIM private key: store.DKIMEd25519 (RFC 8463)
// or store.DKIMRSA (2048 bits).
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case store.DKIMEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case store.DKIMRSA:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	}
	return nil, fmt.Errorf("mailauth: unknown DKIM key algorithm %q", alg)
}

// MarshalKey encodes a private key as PKCS #8 PEM, the form the store keeps.
func MarshalKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKey decodes a PKCS #8 PEM private key (Ed25519 or RSA) and returns
// it with its algorithm name.
func ParseKey(b []byte) (crypto.Signer, string, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, "", errors.New("mailauth: not a PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("mailauth: %w", err)
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return k, store.DKIMEd25519, nil
	case *rsa.PrivateKey:
		return k, store.DKIMRSA, nil
	}
	return nil, "", fmt.Errorf("mailauth: unsupported key type %T", k)
}

// KeyRecord returns the DKIM key record to publish for a private key
// (RFC 6376 §3.6.1): "v=DKIM1; k=rsa; p=" and the base64 of the
// SubjectPublicKeyInfo, or, for Ed25519, "k=ed25519" and the raw 32-octet
// public key (RFC 8463 §4.2).
func KeyRecord(k crypto.Signer) (string, error) {
	switch pub := k.Public().(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	}
	return "", fmt.Errorf("mailauth: unsupported key type %T", k.Public())
}

// RecordName is where a key's record lives: selector._domainkey.domain
// (RFC 6376 §3.6.2.1).
func RecordName(domain, selector string) string {
	return selector + "._domainkey." + domain
}

// KeyState describes a stored key in a rotation.
type KeyState string

// Key states. A staged key is inactive and newer than every active key of
// its domain (made by a rotation, waiting for its DNS record); a retired
// key is inactive and older (its record may go once mail signed with it
// has been delivered).
const (
	KeyActive  KeyState = "active"
	KeyStaged  KeyState = "staged"
	KeyRetired KeyState = "retired"
)

// States returns the state of each of a domain's keys, in order.
func States(keys []store.DKIMKey) []KeyState {
	var newestActive time.Time
	for _, k := range keys {
		if k.Active && k.CreatedAt.After(newestActive) {
			newestActive = k.CreatedAt
		}
	}
	out := make([]KeyState, len(keys))
	for i, k := range keys {
		switch {
		case k.Active:
			out[i] = KeyActive
		case k.CreatedAt.After(newestActive):
			out[i] = KeyStaged
		default:
			out[i] = KeyRetired
		}
	}
	return out
}

// Keys manages the DKIM keys of local domains: a pair (Ed25519 and RSA)
// per generation, named by a common stem "phYYYYMMDD" plus a letter, with
// selectors stem+"e" and stem+"r".
type Keys struct {
	st  store.KeyStore
	now func() time.Time
}

// NewKeys returns a key manager over st; now defaults to time.Now.
func NewKeys(st store.KeyStore, now func() time.Time) *Keys {
	if now == nil {
		now = time.Now
	}
	return &Keys{st: st, now: now}
}

// List returns a domain's keys, oldest first.
func (m *Keys) List(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	return m.st.DKIMKeys(ctx, strings.ToLower(domain))
}

// Generate makes and stores a new pair for domain, active or staged. Two
// generations on one day get different letters; a race with another
// process for the same stem is retried with the next letter.
func (m *Keys) Generate(ctx context.Context, domain string, active bool) ([]store.DKIMKey, error) {
	domain = strings.ToLower(domain)
	existing, err := m.st.DKIMKeys(ctx, domain)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, k := range existing {
		taken[k.Selector] = true
	}
	now := m.now()
	day := "ph" + now.UTC().Format("20060102")
	var pair []store.DKIMKey
	for c := 'a'; c <= 'z' && pair == nil; c++ {
		stem := day + string(c)
		if taken[stem+"e"] || taken[stem+"r"] {
			continue
		}
		pair, err = m.createPair(ctx, domain, stem, now, active)
		if errors.Is(err, store.ErrExists) {
			pair, err = nil, nil
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	if pair == nil {
		return nil, fmt.Errorf("mailauth: no free selector for %s today", domain)
	}
	return pair, nil
}

// createPair stores stem+"e" (Ed25519) and stem+"r" (RSA). When the second
// fails, the first is removed again.
func (m *Keys) createPair(ctx context.Context, domain, stem string, now time.Time, active bool) ([]store.DKIMKey, error) {
	var out []store.DKIMKey
	for _, alg := range []string{store.DKIMEd25519, store.DKIMRSA} {
		k, err := GenerateKey(alg)
		if err != nil {
			return nil, err
		}
		pemKey, err := MarshalKey(k)
		if err != nil {
			return nil, err
		}
		dk := store.DKIMKey{Domain: domain, Selector: stem + alg[:1], Algorithm: alg, PrivateKey: pemKey, CreatedAt: now, Active: active}
		if err := m.st.CreateDKIMKey(ctx, dk); err != nil {
			for _, done := range out {
				m.st.DeleteDKIMKey(context.WithoutCancel(ctx), domain, done.Selector)
			}
			return nil, err
		}
		out = append(out, dk)
	}
	return out, nil
}

// Ensure gives every listed domain that has no key an active pair, and
// returns the domains it made keys for. The server runs it at start-up
// for domains made before keys existed (or by the dev instance).
func (m *Keys) Ensure(ctx context.Context, domains []string) ([]string, error) {
	all, err := m.st.DKIMKeys(ctx, "")
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, k := range all {
		has[k.Domain] = true
	}
	var made []string
	for _, d := range domains {
		d = strings.ToLower(d)
		if has[d] {
			continue
		}
		if _, err := m.Generate(ctx, d, true); err != nil {
			return made, fmt.Errorf("DKIM keys for %s: %w", d, err)
		}
		made = append(made, d)
	}
	return made, nil
}

// Activate makes the newest generation of the domain's keys the one that
// signs and retires all others (kept, so their DNS records stay valid
// while mail signed with them is in flight). It returns the keys now
// active.
func (m *Keys) Activate(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	domain = strings.ToLower(domain)
	keys, err := m.st.DKIMKeys(ctx, domain)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s has no DKIM keys: %w", domain, store.ErrNotFound)
	}
	newest := keys[len(keys)-1]
	stem := newest.Selector[:len(newest.Selector)-1]
	var sels []string
	var active []store.DKIMKey
	for _, k := range keys {
		if k.CreatedAt.Equal(newest.CreatedAt) && strings.HasPrefix(k.Selector, stem) && len(k.Selector) == len(stem)+1 {
			sels = append(sels, k.Selector)
			k.Active = true
			active = append(active, k)
		}
	}
	if err := m.st.SetActiveDKIMKeys(ctx, domain, sels); err != nil {
		return nil, err
	}
	return active, nil
}

// Remove deletes a key; an active key cannot be removed (activate another
// generation first).
func (m *Keys) Remove(ctx context.Context, domain, selector string) error {
	domain = strings.ToLower(domain)
	keys, err := m.st.DKIMKeys(ctx, domain)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Selector == selector && k.Active {
			return fmt.Errorf("DKIM key %s of %s is active; activate a newer one first", selector, domain)
		}
	}
	return m.st.DeleteDKIMKey(ctx, domain, selector)
}
