package mailauth

import (
	"bufio"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"posthorn/internal/message"
	"posthorn/internal/store"
)

// signedFields are the header fields a signature covers when present: the
// list of RFC 6376 §5.4.1, with Message-ID, the MIME fields and
// List-Unsubscribe-Post (RFC 8058 §4 requires it signed) added. Return-Path,
// Received, Comments and Keywords are left out as §5.4.1 advises: they
// change in transit.
var signedFields = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc",
	"Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
	"In-Reply-To", "References",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner", "List-Archive",
	"List-Unsubscribe-Post",
	"Message-ID", "Sender", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}

// oversigned fields are listed once more than they occur (RFC 6376 §5.4.2,
// §8.15): a verifier then hashes an empty instance for the extra entry,
// so a second From, To or Subject added on the way breaks the signature.
var oversigned = map[string]bool{"From": true, "To": true, "Subject": true}

// maxSignHeader bounds the header section Sign reads into memory.
const maxSignHeader = 1 << 20

// ErrHeaderTooLong is returned by Sign for a header section over 1 MiB.
var ErrHeaderTooLong = errors.New("mailauth: header section too long to sign")

// SignerOptions configure a Signer. Keys is required.
type SignerOptions struct {
	Keys store.KeyStore
	// CacheFor is how long a domain's keys are kept in memory before the
	// store is asked again (default one minute), so that a rotation by the
	// command line takes effect without a restart.
	CacheFor time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Signer adds DKIM signatures to outgoing mail. It is safe for concurrent
// use.
type Signer struct {
	o     SignerOptions
	mu    sync.Mutex
	cache map[string]signerEntry
}

type signerEntry struct {
	keys    []signingKey
	fetched time.Time
}

type signingKey struct {
	selector string
	key      crypto.Signer
}

// NewSigner returns a Signer.
func NewSigner(o SignerOptions) *Signer {
	if o.CacheFor <= 0 {
		o.CacheFor = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Signer{o: o, cache: map[string]signerEntry{}}
}

// keysFor returns the newest active key of each algorithm of a domain,
// Ed25519 first (the order RFC 8463 §A.3 shows).
func (s *Signer) keysFor(ctx context.Context, domain string) ([]signingKey, error) {
	now := s.o.Now()
	s.mu.Lock()
	e, ok := s.cache[domain]
	s.mu.Unlock()
	if ok && now.Sub(e.fetched) < s.o.CacheFor {
		return e.keys, nil
	}
	stored, err := s.o.Keys.DKIMKeys(ctx, domain)
	if err != nil {
		return nil, err
	}
	newest := map[string]store.DKIMKey{}
	for _, k := range stored {
		if k.Active && !k.CreatedAt.Before(newest[k.Algorithm].CreatedAt) {
			newest[k.Algorithm] = k
		}
	}
	var keys []signingKey
	for _, alg := range []string{store.DKIMEd25519, store.DKIMRSA} {
		k, ok := newest[alg]
		if !ok {
			continue
		}
		signer, _, err := ParseKey(k.PrivateKey)
		if err != nil {
			s.o.Logger.Error("unusable DKIM key", "domain", domain, "selector", k.Selector, "err", err)
			continue
		}
		keys = append(keys, signingKey{selector: k.Selector, key: signer})
	}
	s.mu.Lock()
	s.cache[domain] = signerEntry{keys: keys, fetched: now}
	s.mu.Unlock()
	return keys, nil
}

// Sign reads a whole message (header and body, CRLF line endings, as it
// will be sent) and returns the DKIM-Signature fields to put in front of
// it, one per active key of domain, each ending in CRLF. It returns "" and
// no error when the domain has no active key.
func (s *Signer) Sign(ctx context.Context, domain string, msg io.Reader) (string, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	keys, err := s.keysFor(ctx, domain)
	if err != nil || len(keys) == 0 {
		return "", err
	}
	br := bufio.NewReaderSize(msg, 32<<10)
	head, err := readHeaderSection(br, maxSignHeader)
	if err != nil {
		return "", err
	}
	return s.sign(domain, keys, head, br)
}

// SignAuthor signs a message as the domain of its author (the one
// address of its From field, RFC 5322 §3.6.2), which is the domain DMARC
// aligns with (RFC 7489 §3.1.1). It returns "" and no error when the
// author domain cannot be told or has no active key: the caller decides
// beforehand whether the sender may speak for that domain.
func (s *Signer) SignAuthor(ctx context.Context, msg io.Reader) (string, error) {
	br := bufio.NewReaderSize(msg, 32<<10)
	head, err := readHeaderSection(br, maxSignHeader)
	if err != nil {
		return "", err
	}
	domain := AuthorDomain(head)
	if domain == "" {
		return "", nil
	}
	keys, err := s.keysFor(ctx, domain)
	if err != nil || len(keys) == 0 {
		return "", err
	}
	return s.sign(domain, keys, head, br)
}

// SignsAs reports whether SignAuthor would sign a message with this
// header section: its author domain has an active key.
func (s *Signer) SignsAs(ctx context.Context, head []byte) bool {
	domain := AuthorDomain(head)
	if domain == "" {
		return false
	}
	keys, err := s.keysFor(ctx, domain)
	return err == nil && len(keys) > 0
}

// AuthorDomain returns the domain of the single author of a header
// section, lower case, or "" when there is no From field, several, or
// addresses of several domains.
func AuthorDomain(head []byte) string {
	d, _ := fromDomain(head)
	return d
}

// sign runs one go-msgauth signer per key over the header section and the
// rest of the message.
func (s *Signer) sign(domain string, keys []signingKey, head []byte, br *bufio.Reader) (string, error) {
	fields := headerKeys(head)
	signers := make([]*dkim.Signer, 0, len(keys))
	writers := make([]io.Writer, 0, len(keys))
	defer func() {
		for _, sg := range signers {
			sg.Close()
		}
	}()
	for _, k := range keys {
		sg, err := dkim.NewSigner(&dkim.SignOptions{
			Domain: domain, Selector: k.selector, Signer: k.key, Hash: crypto.SHA256,
			// RFC 6376 §3.4: relaxed survives the re-folding and
			// white space changes of ordinary relays.
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             fields,
		})
		if err != nil {
			return "", err
		}
		signers = append(signers, sg)
		writers = append(writers, sg)
	}
	w := io.MultiWriter(writers...)
	if _, err := w.Write(head); err != nil {
		return "", err
	}
	if _, err := br.WriteTo(w); err != nil {
		return "", err
	}
	var out strings.Builder
	for i, sg := range signers {
		if err := sg.Close(); err != nil {
			return "", fmt.Errorf("mailauth: DKIM signing with %s: %w", keys[i].selector, err)
		}
		out.WriteString(sg.Signature())
	}
	signers = nil
	return out.String(), nil
}

// headerKeys lists the fields to sign for this header section: each field
// of signedFields as often as it occurs, From, To and Subject once more.
// From is always listed (RFC 6376 §5.4: it MUST be signed).
func headerKeys(head []byte) []string {
	h, _ := message.ParseHeader(head)
	count := map[string]int{}
	for _, f := range h {
		if f.Name != "" {
			count[strings.ToLower(f.Name)]++
		}
	}
	var keys []string
	for _, name := range signedFields {
		n := count[strings.ToLower(name)]
		if oversigned[name] {
			n++
		}
		for range n {
			keys = append(keys, name)
		}
	}
	return keys
}

// readHeaderSection reads up to and including the empty line that ends the
// header section (RFC 5322 §2.1), or to the end of a message that has no
// body.
func readHeaderSection(br *bufio.Reader, max int) ([]byte, error) {
	var head []byte
	midLine := false // the last read ended inside a long line
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if len(head) > max {
			return nil, ErrHeaderTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			midLine = true
			continue
		}
		if err == io.EOF {
			return head, nil
		}
		if err != nil {
			return nil, err
		}
		if !midLine && (string(line) == "\r\n" || string(line) == "\n") {
			return head, nil
		}
		midLine = false
	}
}
