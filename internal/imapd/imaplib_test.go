package imapd

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Integration test with python3's imaplib (the standard library client):
// STARTTLS, LOGIN, LIST, CREATE, APPEND with flags and date, SELECT,
// FETCH, STORE, SEARCH, UID COPY, EXPUNGE, LOGOUT.

// needTool skips when a tool is missing, except in CI where it must exist.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (required in CI)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

const imaplibScript = `
import imaplib, json, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
out = {}
c = imaplib.IMAP4(host, port)
out["caps_before"] = sorted(c.capabilities)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c.starttls(ssl_context=ctx)
typ, _ = c.login("alice@example.test", "password")
out["login"] = typ
typ, data = c.list()
out["list"] = [d.decode() for d in data]
out["create"] = c.create("Python/Sub")[0]
msg = b"From: Py <py@example.test>\r\nSubject: from python \xc3\xa9\r\n\r\nbody text\r\n"
typ, data = c.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(1700000000), msg)
out["append"] = [typ, data[0].decode()]
typ, data = c.select("INBOX")
out["select"] = [typ, data[0].decode()]
typ, data = c.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)] INTERNALDATE)")
out["fetch"] = [data[0][0].decode(), data[0][1].decode("utf-8"), data[1].decode()]
typ, data = c.store("1", "+FLAGS", "(\\Seen)")
out["store"] = data[0].decode()
typ, data = c.search(None, "FLAGGED", "SEEN")
out["search"] = data[0].decode()
typ, data = c.uid("COPY", "1", "Python/Sub")
out["copy"] = typ
typ, data = c.status("Python/Sub", "(MESSAGES UIDNEXT)")
out["status"] = data[0].decode()
c.store("1", "+FLAGS", "(\\Deleted)")
typ, data = c.expunge()
out["expunge"] = [d.decode() for d in data if d]
typ, data = c.fetch("1:*", "(UID)")
out["after"] = [d.decode() for d in data if d]
out["logout"] = c.logout()[0]
print(json.dumps(out))
`

func TestPythonImaplib(t *testing.T) {
	py := needTool(t, "python3")
	h := newHarness(t)
	script := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(script, []byte(imaplibScript), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(h.addr, ":")
	cmd := exec.Command(py, script, host, port)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var res struct {
		CapsBefore []string `json:"caps_before"`
		Login      string
		List       []string
		Create     string
		Append     []string
		Select     []string
		Fetch      []string
		Store      string
		Search     string
		Copy       string
		Status     string
		Expunge    []string
		After      []string
		Logout     string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(strings.Join(res.CapsBefore, " "), "STARTTLS") || res.Login != "OK" || res.Create != "OK" || res.Logout != "BYE" {
		t.Errorf("session: %+v", res)
	}
	if len(res.List) != 6 || !strings.Contains(strings.Join(res.List, "\n"), `(\HasNoChildren \Sent) "/" Sent`) {
		t.Errorf("LIST %q", res.List)
	}
	if res.Append[0] != "OK" || !strings.Contains(res.Append[1], "APPENDUID") || res.Select[1] != "1" {
		t.Errorf("APPEND/SELECT %q %q", res.Append, res.Select)
	}
	if !strings.Contains(res.Fetch[0], `FLAGS (\Flagged)`) || res.Fetch[1] != "Subject: from python é\r\n\r\n" ||
		!strings.Contains(res.Fetch[2], `INTERNALDATE "14-Nov-2023`) {
		t.Errorf("FETCH %q", res.Fetch)
	}
	if !strings.Contains(res.Store, `\Seen`) || res.Search != "1" || res.Copy != "OK" {
		t.Errorf("STORE %q SEARCH %q COPY %q", res.Store, res.Search, res.Copy)
	}
	if res.Status != `"Python/Sub" (MESSAGES 1 UIDNEXT 2)` && res.Status != `Python/Sub (MESSAGES 1 UIDNEXT 2)` {
		t.Errorf("STATUS %q", res.Status)
	}
	if len(res.Expunge) != 1 || res.Expunge[0] != "1" || len(res.After) != 0 {
		t.Errorf("EXPUNGE %q after %q", res.Expunge, res.After)
	}
}
