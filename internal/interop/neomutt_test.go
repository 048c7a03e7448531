package interop

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"
)

// mimePart is one leaf part of a parsed message.
type mimePart struct {
	Type     string // media type, lower case
	Filename string
	Body     []byte // transfer encoding decoded
}

// parseMIME splits a message into its leaf parts (one level of
// multipart, which is what the clients under test produce).
func parseMIME(t *testing.T, msg string) (mail.Header, []mimePart) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	typ, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(typ, "multipart/") {
		return m.Header, []mimePart{{Type: typ, Body: decodeCTE(t, m.Header.Get("Content-Transfer-Encoding"), m.Body)}}
	}
	var parts []mimePart
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		ptyp, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		_, dparams, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		parts = append(parts, mimePart{Type: ptyp, Filename: dparams["filename"],
			Body: decodeCTE(t, p.Header.Get("Content-Transfer-Encoding"), p)})
	}
	return m.Header, parts
}

// decodeCTE undoes a Content-Transfer-Encoding.
func decodeCTE(t *testing.T, cte string, r io.Reader) []byte {
	t.Helper()
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", cte, err)
	}
	return b
}

// TestNeomutt sends a message with an attachment from neomutt in batch
// mode through submission (STARTTLS, verified; AUTH PLAIN) and checks what
// bob received: the envelope, the fields, the text and the attachment's
// octets.
func TestNeomutt(t *testing.T) {
	need(t, "neomutt")
	s := startPosthorn(t)
	dir := t.TempDir()
	attachment := make([]byte, 3000)
	for i := range attachment {
		attachment[i] = byte(i * 7)
	}
	att := writeFile(t, dir, "report.bin", string(attachment), 0o644)
	text := "Hello Bob,\n\nthis comes from neomutt in batch mode.\nGrüße aus dem Test.\n"
	sets := []string{
		"set from=" + alice, "set realname='Alice Example'", "set use_from=yes", "set hostname=client.example.test",
		"set smtp_url=smtp://alice%40example.test@127.0.0.1:" + port(s.Addr("submission")) + "/",
		"set smtp_pass=" + password, "set smtp_authenticators=plain",
		"set ssl_starttls=yes", "set ssl_force_tls=yes", "set ssl_ca_certificates_file=" + testPKI(t).CAFile,
		"set record=''", "set charset=utf-8", "set send_charset=utf-8", "set copy=no",
	}
	args := []string{"-n", "-F", "/dev/null"}
	for _, e := range sets {
		args = append(args, "-e", e)
	}
	args = append(args, "-s", "neomutt batch Grüße", "-a", att, "--", bob)
	toolRun{Stdin: text, Dir: dir}.ok(t, "neomutt", args...)

	got := inbox(t, s, bob)
	if len(got) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(got))
	}
	msg := got[0].Data
	if !strings.HasPrefix(msg, "Return-Path: <"+alice+">\r\n") || !strings.Contains(msg, "Received: from client.example.test") ||
		!strings.Contains(msg, " with ESMTPSA") {
		t.Errorf("trace fields (envelope sender, HELO, TLS and AUTH):\n%s", msg)
	}
	h, parts := parseMIME(t, msg)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subject != "neomutt batch Grüße" {
		t.Errorf("Subject %q (%v)", h.Get("Subject"), err)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != alice || from[0].Name != "Alice Example" {
		t.Errorf("From %q (%v)", h.Get("From"), err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != bob {
		t.Errorf("To %q (%v)", h.Get("To"), err)
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want text and attachment", len(parts))
	}
	if parts[0].Type != "text/plain" || lf(string(parts[0].Body)) != text {
		t.Errorf("text part %s:\n%q\nwant\n%q", parts[0].Type, parts[0].Body, text)
	}
	if parts[1].Filename != filepath.Base(att) || !bytes.Equal(parts[1].Body, attachment) {
		t.Errorf("attachment %q (%s): %d octets, equal=%v", parts[1].Filename, parts[1].Type, len(parts[1].Body), bytes.Equal(parts[1].Body, attachment))
	}
}
