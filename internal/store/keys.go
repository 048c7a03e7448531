package store

import (
	"context"
	"time"
)

// DKIM key algorithms (the k= tag of RFC 6376 §3.6.1 and RFC 8463 §4.2).
const (
	DKIMEd25519 = "ed25519"
	DKIMRSA     = "rsa"
)

// DKIMKey is one DKIM signing key of a local domain. The public half is
// published in DNS at Selector._domainkey.Domain (RFC 6376 §3.6.2.1).
type DKIMKey struct {
	Domain   string
	Selector string // a DNS label, unique within the domain
	// Algorithm is DKIMEd25519 or DKIMRSA.
	Algorithm string
	// PrivateKey is the key in PKCS #8, PEM-encoded ("PRIVATE KEY").
	PrivateKey []byte
	CreatedAt  time.Time
	// Active keys sign outgoing mail; inactive ones are staged (made but
	// not yet published) or retired (kept until their DNS record can go).
	Active bool
}

// KeyStore holds the DKIM keys of local domains. It is separate from Store
// so that the mail path's interfaces stay as they are; both backends
// implement it (check with a type assertion). All methods are safe for
// concurrent use.
//
// A domain's keys go with it: DeleteDomain removes them.
type KeyStore interface {
	// CreateDKIMKey stores a new key. It fails with ErrNotFound when the
	// domain is not local, ErrExists when the domain already has a key
	// with this selector, and ErrInvalid when a field is empty.
	CreateDKIMKey(ctx context.Context, k DKIMKey) error
	// DKIMKeys lists the keys of a domain (of every domain when domain is
	// ""), oldest first, ties by selector.
	DKIMKeys(ctx context.Context, domain string) ([]DKIMKey, error)
	// SetActiveDKIMKeys makes exactly the named keys of the domain active
	// and all its others inactive, in one transaction. It fails with
	// ErrNotFound, changing nothing, when a selector names no key of the
	// domain.
	SetActiveDKIMKeys(ctx context.Context, domain string, selectors []string) error
	// DeleteDKIMKey removes one key (ErrNotFound when there is none).
	DeleteDKIMKey(ctx context.Context, domain, selector string) error
}
