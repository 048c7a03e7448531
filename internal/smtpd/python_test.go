package smtpd

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pythonClient sends one message with python3's smtplib and prints what
// happened as JSON: {"refused": {rcpt: [code, text]}, "error": "..."}.
const pythonClient = `
import json, smtplib, ssl, sys
host, port, mode, sender, rcpts, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split(","), sys.argv[6]
msg = open(path, "rb").read()
out = {"refused": {}, "error": ""}
try:
    s = smtplib.SMTP(host, port, local_hostname="python.example.test", timeout=60)
    s.ehlo()
    if mode.startswith("starttls"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.ehlo()
    if mode.endswith("auth"):
        s.login("alice@example.test", "password")
    refused = s.sendmail(sender, rcpts, msg)
    out["refused"] = {k: [v[0], v[1].decode()] for k, v in refused.items()}
    s.quit()
except smtplib.SMTPRecipientsRefused as e:
    out["refused"] = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}
except Exception as e:
    out["error"] = type(e).__name__ + ": " + str(e)
print(json.dumps(out))
`

type pythonResult struct {
	Refused map[string][]any `json:"refused"`
	Error   string           `json:"error"`
}

// runPython runs the smtplib client; it skips the test when python3 is
// missing, except in CI (CI=true), where that is a failure.
func runPython(t *testing.T, addr, mode, from string, to []string, msg string) pythonResult {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is required in CI")
		}
		t.Skip("python3 not installed")
	}
	path := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(py, "-c", pythonClient, host, port, mode, from, strings.Join(to, ","), path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var res pythonResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("python3 output %q: %v", out, err)
	}
	return res
}

func TestPythonSmtplibMX(t *testing.T) {
	e := newEnv(t)
	msg := "From: Py <py@remote.test>\r\nTo: alice@example.test\r\nSubject: from smtplib\r\n" +
		"Date: Sat, 09 Mar 2024 17:04:05 +0100\r\nMessage-ID: <py1@remote.test>\r\n\r\n" +
		"Line one.\r\n.leading dot\r\n\r\nBye.\r\n"
	res := runPython(t, e.mx, "plain", "py@remote.test", []string{"alice@example.test"}, msg)
	if res.Error != "" || len(res.Refused) != 0 {
		t.Fatalf("smtplib: %+v", res)
	}
	got := e.inbox("alice@example.test")
	if len(got) != 1 {
		t.Fatalf("INBOX has %d", len(got))
	}
	// Byte-exact below the trace headers.
	trace, ok := strings.CutSuffix(got[0].Content, msg)
	if !ok || !strings.HasPrefix(trace, "Return-Path: <py@remote.test>\r\nReceived: from python.example.test ") {
		t.Fatalf("stored:\n%q", got[0].Content)
	}
	// smtplib sees the relay refusal as the code we promise.
	res = runPython(t, e.mx, "plain", "py@remote.test", []string{"victim@remote.test"}, msg)
	if r := res.Refused["victim@remote.test"]; len(r) != 2 || r[0] != float64(554) || !strings.HasPrefix(r[1].(string), "5.7.1 ") {
		t.Fatalf("relay attempt: %+v", res)
	}
	e.expectCounts(1, 0)
}

func TestPythonSmtplibSubmission(t *testing.T) {
	e := newEnv(t, withSMTPD(func(o *Options) { o.AllowPlaintextOnLoopback = false }))
	msg := "From: alice@example.test\r\nTo: bob@example.test, carol@remote.test\r\nSubject: submitted\r\n\r\nHi.\r\n"
	res := runPython(t, e.sub, "starttls+auth", "alice@example.test", []string{"bob@example.test", "carol@remote.test", "nobody@example.test"}, msg)
	if res.Error != "" {
		t.Fatalf("smtplib: %+v", res)
	}
	if r := res.Refused["nobody@example.test"]; len(r) != 2 || r[0] != float64(550) || len(res.Refused) != 1 {
		t.Fatalf("refused: %+v", res.Refused)
	}
	got := e.inbox("bob@example.test")
	if len(got) != 1 || !strings.HasSuffix(got[0].Content, "Subject: submitted\r\n\r\nHi.\r\n") ||
		!strings.Contains(got[0].Content, "with ESMTPSA") {
		t.Fatalf("bob's INBOX: %+v", got)
	}
	// RFC 6409 §8: Date and Message-ID were added.
	if !strings.Contains(got[0].Content, "\r\nDate: ") || !strings.Contains(got[0].Content, "\r\nMessage-ID: <") {
		t.Fatalf("no fix-ups:\n%s", got[0].Content)
	}
	qs, err := e.st.QueueEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].Recipients[0].Address != "carol@remote.test" || qs[0].BlobID != got[0].BlobID {
		t.Fatalf("queue: %+v", qs)
	}
	// Without TLS the password is not even asked for.
	res = runPython(t, e.sub, "plain+auth", "alice@example.test", []string{"bob@example.test"}, msg)
	if !strings.Contains(res.Error, "SMTPNotSupportedError") {
		t.Fatalf("plaintext login: %+v", res)
	}
}
