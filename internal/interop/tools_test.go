package interop

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// packages names the Debian package of each program the suite runs, for
// the skip and failure messages.
var packages = map[string]string{
	"swaks": "swaks", "curl": "curl", "python3": "python3", "mbsync": "isync", "fetchmail": "fetchmail",
	"neomutt": "neomutt", "postfix": "postfix", "postconf": "postfix", "dovecot": "dovecot-core",
	"doveadm": "dovecot-core", "unshare": "util-linux", "go": "golang (Go toolchain)",
}

// onCI reports whether the run is CI's, where a missing tool is a failure.
func onCI() bool { return os.Getenv("CI") == "true" }

// need skips the test when one of the programs is not installed, and fails
// it under CI=true (issue 7: CI must not pass by skipping).
func need(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err == nil {
			continue
		}
		msg := fmt.Sprintf("%s is not installed (Debian package %s)", p, packages[p])
		if onCI() {
			t.Fatalf("%s; CI=true: a missing client tool fails the run", msg)
		}
		t.Skipf("SKIP: %s; this interop case does not run", msg)
	}
}

// needFiles is need for programs that are not on PATH (Dovecot's protocol
// binaries under /usr/lib/dovecot).
func needFiles(t testing.TB, pkg string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			continue
		}
		msg := fmt.Sprintf("%s is missing (Debian package %s)", p, pkg)
		if onCI() {
			t.Fatalf("%s; CI=true: a missing tool fails the run", msg)
		}
		t.Skipf("SKIP: %s; this interop case does not run", msg)
	}
}

// needRoot skips (fails under CI) when the test does not run as root,
// which the private Postfix and Dovecot instances need.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if onCI() {
		t.Fatal("the Postfix and Dovecot peers need root; CI=true: this fails the run")
	}
	t.Skip("SKIP: the Postfix and Dovecot peers need root; this interop case does not run")
}

// The shared directory holds what lives as long as the test binary: the
// certificates, the peers' configuration, queues and mailboxes, the built
// posthorn binary. It is world-readable (mode 0755) because the peers'
// unprivileged processes must reach into it. TestMain removes it.
var (
	sharedOnce sync.Once
	sharedPath string
	sharedErr  error
)

// sharedDir returns the directory, creating it on first use.
func sharedDir(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() {
		sharedPath, sharedErr = os.MkdirTemp("", "posthorn-interop-")
		if sharedErr == nil {
			sharedErr = os.Chmod(sharedPath, 0o755)
		}
	})
	if sharedErr != nil {
		t.Fatalf("shared dir: %v", sharedErr)
	}
	return sharedPath
}

// jailNameserver is the only name server the programs see: a loopback
// address where nothing answers, or only a loopback test resolver that
// never forwards (the peers scripts' dnsmasq).
const jailNameserver = "127.0.53.53"

// jailArgs returns the command line that runs name with args in a private
// mount namespace whose /etc/resolv.conf names only jailNameserver, so the
// program cannot ask any real DNS server. Without root (or unshare) it is
// the plain command: the suite then relies on literal 127.0.0.1 addresses
// and explicit host names given to every client.
func jailArgs(t testing.TB, name string, args ...string) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		return append([]string{name}, args...)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return append([]string{name}, args...)
	}
	resolv := filepath.Join(sharedDir(t), "resolv.conf")
	if _, err := os.Stat(resolv); err != nil {
		body := "nameserver " + jailNameserver + "\noptions timeout:1 attempts:1\n"
		if err := os.WriteFile(resolv, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return append([]string{unshare, "--mount", "--propagation", "private", "--",
		"sh", "-c", `mount --bind "$0" /etc/resolv.conf && exec "$@"`, resolv, name}, args...)
}

// toolRun is one invocation of an external program.
type toolRun struct {
	Stdin string
	Env   []string // added to the environment
	Dir   string
}

// run executes name with args (in the DNS jail) and returns its combined
// output and exit status. HOME is a fresh temp dir unless Env sets it, so
// no dotfile of the person running the tests is read.
func (r toolRun) run(t testing.TB, name string, args ...string) (string, int) {
	t.Helper()
	argv := jailArgs(t, name, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C.UTF-8")
	cmd.Env = append(cmd.Env, r.Env...)
	cmd.Dir = r.Dir
	cmd.Stdin = strings.NewReader(r.Stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			t.Fatalf("%s did not finish in 90 s:\n%s", name, out.String())
		}
		if code == -1 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return out.String(), code
}

// ok runs the program and fails the test unless it exits with status 0.
func (r toolRun) ok(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, code := r.run(t, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit status %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

// runOK runs a program without input and wants exit status 0.
func runOK(t testing.TB, name string, args ...string) string {
	t.Helper()
	return toolRun{}.ok(t, name, args...)
}

// writeFile writes a file for a client and returns its path.
func writeFile(t testing.TB, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago,
// for the programs whose configuration needs a fixed port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls until something accepts connections on addr.
func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// port returns the port of "host:port" (a listener's address).
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
