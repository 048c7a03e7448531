package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

func TestSelfSignedIsKeptAndServes(t *testing.T) {
	dir := t.TempDir()
	c1, err := Config(Options{SelfSigned: true, Dir: dir, Hostname: "mx.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if !c1.SessionTicketsDisabled || c1.MinVersion != tls.VersionTLS12 {
		t.Fatalf("config = %+v", c1)
	}
	c2, err := Config(Options{SelfSigned: true, Dir: dir, Hostname: "mx.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if string(c1.Certificates[0].Certificate[0]) != string(c2.Certificates[0].Certificate[0]) {
		t.Fatal("a second start made a new certificate")
	}
	leaf, _ := x509.ParseCertificate(c1.Certificates[0].Certificate[0])
	if err := leaf.VerifyHostname("mx.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	// A real handshake over loopback, verifying against the cert itself.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c1)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

func TestNoTLS(t *testing.T) {
	c, err := Config(Options{})
	if c != nil || err != nil {
		t.Fatalf("no settings gave %v %v", c, err)
	}
	if _, err := Config(Options{CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"}); err == nil {
		t.Fatal("missing files accepted")
	}
}
