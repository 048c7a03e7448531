package interop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// pki is the suite's throwaway certificate authority and the one server
// certificate that Posthorn, Postfix and Dovecot present. Clients get the
// authority (CAFile) and verify the server for real; mbsync, which matches
// host names against DNS names only, trusts the server certificate itself
// (CertFile).
type pki struct {
	CAFile   string // the authority, PEM
	CertFile string // the server certificate, PEM
	KeyFile  string // its key, PEM
}

var (
	pkiOnce sync.Once
	pkiVal  pki
	pkiErr  error
)

// testPKI makes the authority and the server certificate once per test
// binary, in the shared directory.
func testPKI(t testing.TB) pki {
	t.Helper()
	dir := sharedDir(t)
	pkiOnce.Do(func() { pkiVal, pkiErr = makePKI(filepath.Join(dir, "pki")) })
	if pkiErr != nil {
		t.Fatalf("pki: %v", pkiErr)
	}
	return pkiVal
}

func makePKI(dir string) (pki, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return pki{}, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pki{}, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Posthorn interop test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return pki{}, err
	}
	ca, err = x509.ParseCertificate(caDER)
	if err != nil {
		return pki{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pki{}, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "mx.example.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(48 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"mx.example.test", "mail.peer.test", "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return pki{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return pki{}, err
	}
	p := pki{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key")}
	// The key is a throwaway for loopback tests; the peers' unprivileged
	// processes may need to read it.
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{p.CAFile, "CERTIFICATE", caDER}, {p.CertFile, "CERTIFICATE", leafDER}, {p.KeyFile, "EC PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o644); err != nil {
			return pki{}, err
		}
	}
	return p, nil
}
