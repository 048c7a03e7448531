package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The peer: a private Postfix and Dovecot, the classic mail system, on
// free ports of 127.0.0.1, configured and started by the suite itself.
//
//	Postfix smtpd ("MX")  mail for peer.test goes to Dovecot over LMTP (unix
//	                      socket); mail for example.test is relayed to
//	                      Posthorn's MX (transport_maps, STARTTLS required).
//	                      mynetworks is 127.0.0.0/8, so loopback may relay.
//	Postfix submission    STARTTLS, SASL through Dovecot's auth socket.
//	Dovecot IMAP, POP3    STARTTLS offered; passwd-file users alice@ and
//	                      bob@peer.test, password "password"; Maildir.
//
// No lookup leaves the machine: the daemons run in the DNS jail, Postfix
// has DNS support disabled and only error: transports besides LMTP and
// the example.test route (a literal [127.0.0.1]:port).
type peer struct {
	Dir        string // everything of the peer: configuration, queue, mail, logs
	SMTP       string // Postfix smtpd, host:port
	Submission string // Postfix submission (STARTTLS + AUTH)
	IMAP, POP3 string // Dovecot
	PosthornMX string // where Postfix relays example.test; the peer cases start Posthorn's MX here

	mailDir                string // Dovecot's mail: mailDir/peer.test/USER/Maildir
	pfEtc, pfSpool, pfData string // Postfix's configuration, queue and data directories
	pfLog                  string
	dcDir                  string // Dovecot's configuration, users, base_dir (run/) and state_dir
	dcLog                  string
}

// The peer's users (all with the fixture's password).
const (
	peerDomain = "peer.test"
	peerAlice  = "alice@peer.test"
	peerBob    = "bob@peer.test"
)

var (
	peerOnce  sync.Once
	thePeer   *peer
	peerErr   error
	peerStops []func() error // run by stopPeers
)

// startPeer returns the peer, starting it on first use (once per test
// binary; TestMain stops it). It needs root and the Debian packages
// postfix, dovecot-core, dovecot-imapd, dovecot-pop3d, dovecot-lmtpd.
func startPeer(t *testing.T) *peer {
	t.Helper()
	need(t, "postfix", "postconf", "dovecot", "unshare")
	needFiles(t, "dovecot-imapd, dovecot-pop3d, dovecot-lmtpd",
		"/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3", "/usr/lib/dovecot/lmtp")
	needRoot(t)
	dir := sharedDir(t)
	p := testPKI(t)
	peerOnce.Do(func() { thePeer, peerErr = bootPeer(t, filepath.Join(dir, "peer"), p) })
	if peerErr != nil {
		t.Fatalf("peer: %v", peerErr)
	}
	return thePeer
}

// stopPeers stops what bootPeer started, each by its own process id, all
// at once (Dovecot takes a few seconds to wind down).
func stopPeers() {
	var wg sync.WaitGroup
	for _, stop := range peerStops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stop(); err != nil {
				fmt.Fprintln(os.Stderr, "interop: stopping a peer:", err)
			}
		}()
	}
	wg.Wait()
	peerStops = nil
}

// mailUser is the unprivileged user Dovecot stores mail as.
const mailUser = "nobody"

// bootPeer picks the ports, writes the configuration under dir and starts
// Dovecot, then Postfix, registering how to stop each.
func bootPeer(t *testing.T, dir string, tls pki) (*peer, error) {
	var ports [5]int
	for i := range ports {
		var err error
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	pe := &peer{Dir: dir, SMTP: addr(ports[0]), Submission: addr(ports[1]), IMAP: addr(ports[2]), POP3: addr(ports[3]),
		PosthornMX: addr(ports[4]), mailDir: filepath.Join(dir, "mail"),
		pfEtc: filepath.Join(dir, "postfix", "etc"), pfSpool: filepath.Join(dir, "postfix", "spool"),
		pfData: filepath.Join(dir, "postfix", "data"), pfLog: filepath.Join(dir, "log", "postfix.log"),
		dcDir: filepath.Join(dir, "dovecot"), dcLog: filepath.Join(dir, "log", "dovecot.log")}
	if err := pe.writeFiles(tls); err != nil {
		return nil, err
	}
	if err := startWatchdog(pe.pfEtc, pe.dovecotPidfile(), sharedDir(t)); err != nil {
		return nil, err
	}
	if err := pe.start(t); err != nil {
		return nil, err
	}
	return pe, nil
}

// dovecotConf is the path of Dovecot's configuration file.
func (p *peer) dovecotConf() string { return filepath.Join(p.dcDir, "dovecot.conf") }

// dovecotPidfile is where Dovecot's master records its process id.
func (p *peer) dovecotPidfile() string { return filepath.Join(p.dcDir, "run", "master.pid") }

// writeFiles makes the directories (owned as the daemons need them) and
// writes both servers' configuration, users and maps.
func (p *peer) writeFiles(tls pki) error {
	mu, err := user.Lookup(mailUser)
	if err != nil {
		return err
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		return fmt.Errorf("the postfix user: %w", err)
	}
	for _, d := range []string{p.pfEtc, p.pfSpool, p.pfData, p.dcDir, p.mailDir, filepath.Dir(p.pfLog)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)
	pfUID, _ := strconv.Atoi(pf.Uid)
	pfGID, _ := strconv.Atoi(pf.Gid)
	if err := os.Chown(p.pfData, pfUID, pfGID); err != nil {
		return err
	}
	if err := os.Chown(p.mailDir, uid, gid); err != nil {
		return err
	}
	users := peerAlice + ":{PLAIN}" + password + "::::::\n" + peerBob + ":{PLAIN}" + password + "::::::\n"
	files := map[string]string{
		filepath.Join(p.pfEtc, "main.cf"):   postfixMain(p, tls),
		filepath.Join(p.pfEtc, "master.cf"): postfixMaster(p),
		filepath.Join(p.pfEtc, "vmailbox"):  peerAlice + " OK\n" + peerBob + " OK\n",
		filepath.Join(p.pfEtc, "transport"): "example.test smtp:[" + strings.Replace(p.PosthornMX, ":", "]:", 1) + "\n",
		filepath.Join(p.dcDir, "users"):     users,
		p.dovecotConf():                     dovecotConf(p, tls, uid, gid),
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// start starts Dovecot, then Postfix, and waits until all four listeners
// accept connections.
func (p *peer) start(t *testing.T) error {
	// The queue directories first: Dovecot puts its sockets into private/.
	if out, err := daemonCmd(t, p.Dir, "postfix", "-c", p.pfEtc, "check"); err != nil {
		return fmt.Errorf("postfix check: %v\n%s", err, out)
	}
	if out, err := daemonCmd(t, p.Dir, "dovecot", "-c", p.dovecotConf()); err != nil {
		return fmt.Errorf("dovecot: %v\n%s%s", err, out, tail(p.dcLog))
	}
	peerStops = append(peerStops, func() error { return stopPidfile(p.dovecotPidfile()) })
	if out, err := daemonCmd(t, p.Dir, "postfix", "-c", p.pfEtc, "start"); err != nil {
		return fmt.Errorf("postfix start: %v\n%s%s", err, out, tail(p.pfLog))
	}
	pidfile := filepath.Join(p.pfSpool, "pid", "master.pid")
	peerStops = append(peerStops, func() error {
		pid, _ := readPid(pidfile)
		out, err := exec.Command("postfix", "-c", p.pfEtc, "stop").CombinedOutput()
		if err != nil {
			return fmt.Errorf("postfix stop: %v: %s", err, out)
		}
		return waitGone(pid)
	})
	for _, a := range []string{p.SMTP, p.Submission, p.IMAP, p.POP3} {
		if err := waitListening(a, 20*time.Second); err != nil {
			return fmt.Errorf("%v\n%s", err, p.logs())
		}
	}
	return nil
}

// watchdog stops the peers if the test binary dies without running
// TestMain's cleanup (go test's -timeout panics, a kill): a shell that
// polls for the binary's process and then stops Postfix and Dovecot and
// removes the shared directory. On a normal exit stopPeers ends the
// watchdog itself.
//
// It is started before the daemons and tolerates those that never came up;
// it stops twice, for a daemon that was still starting the first time.
const watchdog = `while kill -0 "$0" 2>/dev/null; do sleep 1; done
for pass in 1 2; do
  postfix -c "$1" stop 2>/dev/null
  [ -s "$2" ] && kill "$(cat "$2")" 2>/dev/null
  sleep 5
done
rm -rf "$3"`

// startWatchdog starts the watchdog for this test binary.
func startWatchdog(pfEtc, dovecotPidfile, shared string) error {
	cmd := exec.Command("sh", "-c", watchdog, strconv.Itoa(os.Getpid()), pfEtc, dovecotPidfile, shared)
	// Its own process group: a Ctrl-C meant for go test does not end it
	// before it has done its job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	peerStops = append(peerStops, func() error {
		cmd.Process.Kill()
		cmd.Wait()
		return nil
	})
	return nil
}

// daemonCmd runs a peer's control command in the DNS jail. Its output
// goes to a file, not a pipe: the daemons it starts inherit it and would
// otherwise keep the pipe open.
func daemonCmd(t *testing.T, dir string, name string, args ...string) (string, error) {
	argv := jailArgs(t, name, args...)
	logPath := filepath.Join(dir, "log", "start.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	defer f.Close()
	start, _ := f.Seek(0, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	b, _ := os.ReadFile(logPath)
	return string(b[min(int(start), len(b)):]), err
}

// readPid reads a daemon's pid file.
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// stopPidfile sends SIGTERM to the process of a pid file and waits for it
// to be gone.
func stopPidfile(path string) error {
	pid, err := readPid(path)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return waitGone(pid)
}

// waitGone waits until process pid has exited, then for up to 10 s; a
// process that is still there is killed (it is one the suite started).
func waitGone(pid int) error {
	if pid <= 0 {
		return nil
	}
	for range 200 {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("process %d did not stop in 10 s; killed", pid)
}

// tail returns the end of a log file, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return "--- " + path + ":\n" + string(b)
}

// logs returns the tails of both servers' logs, for failure messages.
func (p *peer) logs() string { return tail(p.pfLog) + tail(p.dcLog) }

// maildir lists the messages Dovecot stored for a peer user in a folder
// ("" is INBOX), oldest first by file name.
func (p *peer) maildir(t *testing.T, user, folder string) []maildirFile {
	t.Helper()
	local, domain, _ := strings.Cut(user, "@")
	dir := filepath.Join(p.mailDir, domain, local, "Maildir")
	if folder != "" {
		dir = filepath.Join(dir, "."+folder)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return readMaildir(t, dir)
}

// waitMaildir polls until a peer user's INBOX holds n messages.
func (p *peer) waitMaildir(t *testing.T, user string, n int) []maildirFile {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := p.maildir(t, user, "")
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%s's INBOX at the peer has %d messages, want %d\n%s", user, len(got), n, p.logs())
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// grepLog reports whether the Postfix log has a line with all the words.
func (p *peer) grepLog(words ...string) bool {
	b, _ := os.ReadFile(p.pfLog)
	for _, line := range bytes.Split(b, []byte("\n")) {
		ok := true
		for _, w := range words {
			ok = ok && bytes.Contains(line, []byte(w))
		}
		if ok {
			return true
		}
	}
	return false
}
