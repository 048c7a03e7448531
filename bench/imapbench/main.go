// Command imapbench measures what one idle IMAP session costs the server:
// it starts Posthorn's IMAP server in this process (SQLite store in a
// temporary directory), has a child process open N sessions that log in,
// select INBOX and IDLE, and reports the growth of the server's Go heap
// and stacks (runtime.MemStats) and of its resident set, per session. It
// then delivers one message and reports how long until every session has
// seen the EXISTS.
//
//	go run ./bench/imapbench -n 10000
//
// The child is this same program run with -client. Both raise their
// open-file limit to fit N connections.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/imapd"
	"posthorn/internal/mailbox"
	"posthorn/internal/store/sqlite"
)

func main() {
	n := flag.Int("n", 10000, "idle sessions to open")
	client := flag.String("client", "", "run as the client against this address (internal)")
	flag.Parse()
	raiseFileLimit(*n + 1000)
	if *client != "" {
		runClient(*client, *n)
		return
	}
	if err := runServer(*n); err != nil {
		log.Fatal(err)
	}
}

func raiseFileLimit(want int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if lim.Cur < uint64(want) {
		lim.Cur = min(uint64(want), lim.Max)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// memory is a reading of the process's memory after two garbage
// collections.
type memory struct {
	heap, stack, sys, rss uint64
}

func readMemory() memory {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{heap: ms.HeapInuse, stack: ms.StackInuse, sys: ms.Sys, rss: rss()}
}

// rss reads VmRSS from /proc/self/status, in octets.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb uint64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "VmRSS:"), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// env is the in-process server and what the benchmark drives it with.
type env struct {
	srv     *imapd.Server
	addr    string
	deliver func(i int) error
	close   func()
}

// startServer starts the IMAP server over a fresh store with one user,
// idle@example.test, whose INBOX holds ten messages.
func startServer(ctx context.Context) (*env, error) {
	dir, err := os.MkdirTemp("", "imapbench")
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, Logger: logger})
	if err != nil {
		return nil, err
	}
	accts := account.New(account.Options{Store: st, Logger: logger})
	mbox := mailbox.New(mailbox.Options{Store: st, Logger: logger})
	e := &env{close: func() { mbox.Close(); st.Close(); os.RemoveAll(dir) }}
	if _, err := accts.AddDomain(ctx, "example.test"); err != nil {
		return nil, err
	}
	a, err := accts.AddUser(ctx, "idle@example.test", "password")
	if err != nil {
		return nil, err
	}
	inbox, err := mbox.Get(ctx, a.ID, "INBOX")
	if err != nil {
		return nil, err
	}
	e.deliver = func(i int) error {
		_, err := mbox.Append(ctx, a.ID, inbox.ID, []mailbox.NewMessage{{Body: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nhello\r\n", i))}})
		return err
	}
	for i := 0; i < 10; i++ {
		if err := e.deliver(i); err != nil {
			return nil, err
		}
	}
	// Log in once first: the account service caches the password check,
	// so the sessions' logins do not each run argon2id (whose 64 MiB
	// working memory would dominate the process's resident set).
	if _, err := accts.Authenticate(ctx, "idle@example.test", "password", netip.MustParseAddr("127.0.0.1")); err != nil {
		return nil, err
	}
	e.srv = imapd.NewServer(imapd.Options{Hostname: "bench.example.test", Mailboxes: mbox, Accounts: accts,
		AllowPlaintextOnLoopback: true, Logger: logger})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.addr = ln.Addr().String()
	go e.srv.Serve(ln)
	return e, nil
}

func runServer(n int) error {
	ctx := context.Background()
	e, err := startServer(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	defer e.srv.Shutdown(ctx)
	before := readMemory()
	self, _ := os.Executable()
	cmd := exec.Command(self, "-client", e.addr, "-n", fmt.Sprint(n))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	out := bufio.NewReader(stdout)
	start := time.Now()
	if l, err := out.ReadString('\n'); err != nil || strings.TrimSpace(l) != "ready" {
		return fmt.Errorf("client: %q %v", l, err)
	}
	opened := time.Since(start)
	after := readMemory()
	if got := e.srv.Sessions(); got != n {
		return fmt.Errorf("%d sessions open, want %d", got, n)
	}
	per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / float64(n) / 1024 }
	fmt.Printf("sessions: %d idle (LOGIN, SELECT INBOX, IDLE), opened in %v\n", n, opened.Round(time.Millisecond))
	fmt.Printf("per session: heap %.1f KiB + stacks %.1f KiB = %.1f KiB; RSS %.1f KiB; Go Sys %.1f KiB\n",
		per(after.heap, before.heap), per(after.stack, before.stack),
		per(after.heap+after.stack, before.heap+before.stack), per(after.rss, before.rss), per(after.sys, before.sys))
	fmt.Printf("goroutines: %d\n", runtime.NumGoroutine())
	// One delivery: how long until every session has seen it.
	start = time.Now()
	if err := e.deliver(10); err != nil {
		return err
	}
	if l, err := out.ReadString('\n'); err != nil || strings.TrimSpace(l) != "seen" {
		return fmt.Errorf("client: %q %v", l, err)
	}
	fmt.Printf("one delivery reached all %d idle sessions in %v\n", n, time.Since(start).Round(time.Millisecond))
	stdin.Close()
	return cmd.Wait()
}

// runClient opens n idle sessions, says "ready", then "seen" once every
// session has reported the next new message; it ends when stdin closes.
func runClient(addr string, n int) {
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var mu sync.Mutex
	var failed error
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, br, err := openIdle(addr)
			if err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
				return
			}
			conns[i], readers[i] = c, br
		}(i)
	}
	wg.Wait()
	if failed != nil {
		log.Fatalf("client: %v", failed)
	}
	fmt.Println("ready")
	for i := range conns {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				l, err := readers[i].ReadString('\n')
				if err != nil {
					log.Fatalf("client: %v", err)
				}
				if strings.HasSuffix(l, " EXISTS\r\n") {
					return
				}
			}
		}(i)
	}
	wg.Wait()
	fmt.Println("seen")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

func openIdle(addr string) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(c, 512)
	if _, err := io.WriteString(c, "a LOGIN idle@example.test password\r\nb SELECT INBOX\r\nc IDLE\r\n"); err != nil {
		return nil, nil, err
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, err
		}
		if strings.HasPrefix(l, "+ ") {
			return c, br, nil
		}
		if strings.HasPrefix(l, "a NO") || strings.HasPrefix(l, "b NO") || strings.HasPrefix(l, "* BYE") {
			return nil, nil, fmt.Errorf("%s", strings.TrimSpace(l))
		}
	}
}
