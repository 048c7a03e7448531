package imapd

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

// startTLS upgrades a raw client after STARTTLS.
func (rc *rawClient) startTLS() {
	rc.t.Helper()
	rc.ok("STARTTLS")
	tc := tls.Client(rc.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		rc.t.Fatal(err)
	}
	rc.c, rc.br = tc, bufio.NewReader(tc)
}

func TestCapabilityByState(t *testing.T) {
	h := newHarness(t)
	rc := h.dial()
	pre := strings.Join(rc.ok("CAPABILITY"), " ")
	for _, want := range []string{"IMAP4rev1", "IMAP4rev2", "STARTTLS", "AUTH=PLAIN", "SASL-IR", "LITERAL-", "ID", "ENABLE"} {
		if !strings.Contains(pre, " "+want) {
			t.Errorf("before login: %s lacks %s", pre, want)
		}
	}
	if strings.Contains(pre, "LITERAL+") || strings.Contains(pre, "IDLE") {
		t.Errorf("before login: %s", pre)
	}
	lines, done := rc.cmd("LOGIN alice@example.test password")
	if len(lines) != 0 || !strings.Contains(done, "OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+") || strings.Contains(done, "STARTTLS") {
		t.Errorf("LOGIN: %q", done)
	}
	for _, want := range []string{"IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES", "SORT", "THREAD=REFERENCES",
		"THREAD=ORDEREDSUBJECT", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE", "BINARY", "STATUS=SIZE",
		"APPENDLIMIT=52428800", "MULTIAPPEND", "COMPRESS=DEFLATE", "NAMESPACE", "UNSELECT", "CHILDREN"} {
		if !strings.Contains(done+" ", " "+want+" ") && !strings.Contains(done, " "+want+"]") {
			t.Errorf("after login: %s lacks %s", done, want)
		}
	}
}

func TestLoginDisabledWithoutTLS(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.AllowPlaintextOnLoopback = false })
	rc := h.dial()
	caps := strings.Join(rc.ok("CAPABILITY"), " ")
	if !strings.Contains(caps, "LOGINDISABLED") || strings.Contains(caps, "AUTH=PLAIN") {
		t.Errorf("plaintext: %s", caps)
	}
	if done := rc.fail("NO", "LOGIN alice@example.test password"); !strings.Contains(done, "[PRIVACYREQUIRED]") {
		t.Errorf("LOGIN without TLS: %s", done)
	}
	rc.fail("NO", "AUTHENTICATE PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice@example.test\x00password")))
	rc.startTLS()
	caps = strings.Join(rc.ok("CAPABILITY"), " ")
	if strings.Contains(caps, "LOGINDISABLED") || strings.Contains(caps, "STARTTLS") || !strings.Contains(caps, "AUTH=PLAIN") {
		t.Errorf("after STARTTLS: %s", caps)
	}
	rc.ok("LOGIN alice@example.test password")
}

func TestStartTLSInjection(t *testing.T) {
	h := newHarness(t)
	rc := h.dial()
	// A command pipelined after STARTTLS must not be run as if it came
	// over TLS: the server ends the session.
	rc.send("A1 STARTTLS\r\nA2 LOGIN alice@example.test password\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "A1 OK") {
		t.Fatalf("%q", l)
	}
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := rc.br.Read(make([]byte, 10)); err == nil {
		t.Fatalf("session went on after injected data (%d octets)", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ImplicitTLS = true })
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", h.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := &rawClient{t: t, c: c, br: bufio.NewReader(c)}
	if g := rc.line(); !strings.HasPrefix(g, "* OK [CAPABILITY") || strings.Contains(g, "STARTTLS") {
		t.Fatalf("greeting %q", g)
	}
	rc.ok("LOGIN alice@example.test password")
}

func TestAuthenticatePlain(t *testing.T) {
	h := newHarness(t)
	ir := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	rc := h.dial()
	if done := rc.fail("NO", "AUTHENTICATE PLAIN "+ir("\x00alice@example.test\x00wrong")); !strings.Contains(done, "[AUTHENTICATIONFAILED]") {
		t.Errorf("wrong password: %s", done)
	}
	if done := rc.fail("NO", "AUTHENTICATE PLAIN "+ir("bob@example.test\x00alice@example.test\x00password")); !strings.Contains(done, "[AUTHORIZATIONFAILED]") {
		t.Errorf("authzid: %s", done)
	}
	rc.fail("BAD", "AUTHENTICATE PLAIN !!!")
	rc.fail("NO", "AUTHENTICATE CRAM-MD5")
	// Without an initial response: an empty challenge, then the response.
	rc.send("A1 AUTHENTICATE PLAIN\r\n")
	if l := rc.line(); l != "+ " {
		t.Fatalf("challenge %q", l)
	}
	rc.send("*\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "A1 BAD") {
		t.Fatalf("cancel: %q", l)
	}
	rc.send("A2 AUTHENTICATE PLAIN\r\n")
	rc.line()
	rc.send(ir("alice@example.test\x00alice@example.test\x00password") + "\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "A2 OK [CAPABILITY") {
		t.Fatalf("login: %q", l)
	}
	rc.fail("BAD", "LOGIN alice@example.test password")
}

func TestIDEnableNamespace(t *testing.T) {
	h := newHarness(t)
	rc := h.dial()
	mustHave(t, rc.ok(`ID ("name" "test" "version" "1")`), `* ID ("name" "Posthorn"`)
	rc.ok("ID NIL")
	rc.fail("BAD", "ENABLE CONDSTORE") // not yet authenticated
	rc.ok("LOGIN alice@example.test password")
	mustHave(t, rc.ok("ENABLE QRESYNC IMAP4rev2 X-UNKNOWN"), "* ENABLED QRESYNC IMAP4rev2")
	mustHave(t, rc.ok("NAMESPACE"), `* NAMESPACE (("" "/")) NIL NIL`)
	rc.fail("BAD", "ENABLE")
}

func TestCompress(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	rc.fail("BAD", "COMPRESS LZMA")
	rc.ok("COMPRESS DEFLATE")
	zw, _ := flate.NewWriter(rc.c, flate.DefaultCompression)
	rc.br = bufio.NewReader(flate.NewReader(rc.br))
	rc.c = &flateConn{Conn: rc.c, zw: zw}
	mustHave(t, rc.ok("NAMESPACE"), "* NAMESPACE")
	caps := strings.Join(rc.ok("CAPABILITY"), " ")
	if strings.Contains(caps, "COMPRESS=DEFLATE") {
		t.Errorf("COMPRESS still offered: %s", caps)
	}
	if done := rc.fail("NO", "COMPRESS DEFLATE"); !strings.Contains(done, "[COMPRESSIONACTIVE]") {
		t.Errorf("%s", done)
	}
}

// flateConn compresses what the test client writes, with a sync flush.
type flateConn struct {
	net.Conn
	zw *flate.Writer
}

func (f *flateConn) Write(b []byte) (int, error) {
	n, err := f.zw.Write(b)
	if err == nil {
		err = f.zw.Flush()
	}
	return n, err
}

func TestLogout(t *testing.T) {
	h := newHarness(t)
	rc := h.dial()
	lines, done := rc.cmd("LOGOUT")
	if len(lines) != 1 || lines[0] != "* BYE Logging out" || !strings.Contains(done, "OK") {
		t.Fatalf("%q %q", lines, done)
	}
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.br.ReadByte(); err == nil {
		t.Error("connection open after LOGOUT")
	}
}
