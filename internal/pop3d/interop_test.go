package pop3d

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireTool skips a test when a client program is missing, except in CI
// (CI=true), where a missing client fails the run: its .ci/run installs it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI installs it in .ci/run)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// run runs a client with a time limit and returns its standard output.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// poplibScript drives python3's poplib through USER/PASS on the plain
// port, STLS, and implicit TLS, and prints what it saw as JSON.
const poplibScript = `
import json, poplib, ssl, sys
host, port, sport, user, pw = sys.argv[1:6]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}
p = poplib.POP3(host, int(port), timeout=30)
out["capa"] = sorted(p.capa().keys())
p.user(user); p.pass_(pw)
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
resp, lines, octets = p.retr(1)
out["retr1"] = (b"\r\n".join(lines) + b"\r\n").decode("latin-1")
resp, lines, octets = p.top(2, 1)
out["top2"] = [l.decode("latin-1") for l in lines]
p.dele(1)
out["quit"] = p.quit().decode()
p = poplib.POP3(host, int(port), timeout=30)
p.stls(ctx)
p.user(user); p.pass_(pw)
out["stls_stat"] = list(p.stat())
p.quit()
p = poplib.POP3_SSL(host, int(sport), context=ctx, timeout=30)
p.user(user); p.pass_(pw)
resp, lines, octets = p.retr(1)
out["ssl_retr1"] = (b"\r\n".join(lines) + b"\r\n").decode("latin-1")
p.quit()
print(json.dumps(out))
`

func TestPythonPoplib(t *testing.T) {
	t.Parallel()
	py := requireTool(t, "python3")
	e := newEnv(t)
	raws := e.fill(t, 3)
	var got struct {
		Capa     []string `json:"capa"`
		Stat     []int64  `json:"stat"`
		List     []string `json:"list"`
		Uidl     []string `json:"uidl"`
		Retr1    string   `json:"retr1"`
		Top2     []string `json:"top2"`
		Quit     string   `json:"quit"`
		StlsStat []int64  `json:"stls_stat"`
		SslRetr1 string   `json:"ssl_retr1"`
	}
	out := run(t, t.TempDir(), py, "-c", poplibScript, "127.0.0.1", port(e.addr), port(e.addrs), "alice@example.test", testPassword)
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("poplib output %q: %v", out, err)
	}
	size := int64(len(raws[0]))
	if got.Stat[0] != 3 || got.Stat[1] != 3*size {
		t.Errorf("stat = %v", got.Stat)
	}
	if len(got.List) != 3 || got.List[0] != fmt.Sprintf("1 %d", size) || len(got.Uidl) != 3 {
		t.Errorf("list = %q, uidl = %q", got.List, got.Uidl)
	}
	if got.Retr1 != raws[0] {
		t.Errorf("retr(1) = %q, want %q", got.Retr1, raws[0])
	}
	if n := len(got.Top2); n < 3 || got.Top2[n-2] != "" || got.Top2[n-1] != "line one of 2" {
		t.Errorf("top(2, 1) = %q", got.Top2)
	}
	if !strings.Contains(got.Quit, "1 messages deleted") {
		t.Errorf("quit = %q", got.Quit)
	}
	// The second session sees the deletion of the first; the third (pop3s)
	// gets what is now message 1, the old message 2.
	if got.StlsStat[0] != 2 {
		t.Errorf("stat after STLS = %v", got.StlsStat)
	}
	if got.SslRetr1 != raws[1] {
		t.Errorf("POP3_SSL retr(1) = %q, want %q", got.SslRetr1, raws[1])
	}
	if !strings.Contains(strings.Join(got.Capa, " "), "STLS") {
		t.Errorf("capa = %q", got.Capa)
	}
}

func TestCurl(t *testing.T) {
	t.Parallel()
	curl := requireTool(t, "curl")
	e := newEnv(t)
	raws := e.fill(t, 2)
	dir := t.TempDir()
	user := "alice@example.test:" + testPassword
	base := "pop3://127.0.0.1:" + port(e.addr)
	// LIST, then RETR of each message: plain on loopback, over STLS, over
	// implicit TLS.
	if got := run(t, dir, curl, "-sS", "--user", user, base+"/"); !strings.HasPrefix(got, fmt.Sprintf("1 %d\r\n2 ", len(raws[0]))) {
		t.Errorf("curl LIST = %q", got)
	}
	if got := run(t, dir, curl, "-sS", "--user", user, base+"/1"); got != raws[0] {
		t.Errorf("curl RETR 1 = %q, want %q", got, raws[0])
	}
	if got := run(t, dir, curl, "-sS", "--ssl-reqd", "-k", "--user", user, base+"/2"); got != raws[1] {
		t.Errorf("curl RETR 2 with STLS = %q", got)
	}
	sbase := "pop3s://127.0.0.1:" + port(e.addrs)
	if got := run(t, dir, curl, "-sS", "-k", "--user", user, sbase+"/1"); got != raws[0] {
		t.Errorf("curl pop3s RETR 1 = %q", got)
	}
	// SASL PLAIN, with the initial response on the AUTH line.
	if got := run(t, dir, curl, "-sS", "--sasl-ir", "--login-options", "AUTH=PLAIN", "--user", user, base+"/"); !strings.HasPrefix(got, "1 ") {
		t.Errorf("curl LIST with AUTH PLAIN = %q", got)
	}
	if got := run(t, dir, curl, "-sS", "-X", "UIDL", "--user", user, base+"/"); strings.Count(got, "\r\n") != 2 {
		t.Errorf("curl UIDL = %q", got)
	}
	// DELE, then curl's QUIT: the message is gone.
	run(t, dir, curl, "-sS", "-X", "DELE", "-I", "--user", user, base+"/1")
	if left := e.inbox(t, "alice@example.test"); len(left) != 1 {
		t.Fatalf("after curl DELE 1: %d messages, want 1", len(left))
	}
}

// TestFetchmail downloads and deletes with fetchmail (keeps nothing on the
// server), once over USER/PASS on loopback and once over pop3s.
func TestFetchmail(t *testing.T) {
	t.Parallel()
	fm := requireTool(t, "fetchmail")
	e := newEnv(t)
	raws := e.fill(t, 3)
	dir := t.TempDir()
	mbox := filepath.Join(dir, "out.mbox")
	rc := filepath.Join(dir, "fetchmailrc")
	write := func(extra string, p string) {
		conf := fmt.Sprintf("set no syslog\nset logfile %q\npoll 127.0.0.1 port %s proto POP3 auth password\n"+
			"  user \"alice@example.test\" password %q is root here %s fetchall nokeep\n"+
			"  mda \"/bin/sh -c 'cat >> %s'\"\n", filepath.Join(dir, "fetchmail.log"), p, testPassword, extra, mbox)
		if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fetch := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, fm, "-f", rc, "--pidfile", filepath.Join(dir, "fm.pid"), "--nodetach", "-v")
		cmd.Env = append(os.Environ(), "FETCHMAILHOME="+dir, "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "fetchmail.log"))
			t.Fatalf("fetchmail: %v\n%s\n%s", err, out, log)
		}
	}
	write("sslproto ''", port(e.addr))
	fetch()
	got, _ := os.ReadFile(mbox)
	for i := range raws {
		if !strings.Contains(string(got), fmt.Sprintf("Subject: message %d\r\n", i+1)) && !strings.Contains(string(got), fmt.Sprintf("Subject: message %d\n", i+1)) {
			t.Errorf("message %d not fetched:\n%s", i+1, got)
		}
	}
	if !strings.Contains(string(got), "\n.a line with a dot") || strings.Contains(string(got), "\n..a line") {
		t.Errorf("fetchmail saw dot-stuffing wrong:\n%s", got)
	}
	if left := e.inbox(t, "alice@example.test"); len(left) != 0 {
		t.Fatalf("fetchmail left %d messages (it deletes with DELE and QUIT)", len(left))
	}
	e.fill(t, 1)
	write("ssl no sslcertck", port(e.addrs))
	fetch()
	if left := e.inbox(t, "alice@example.test"); len(left) != 0 {
		t.Fatalf("fetchmail over pop3s left %d messages", len(left))
	}
}
