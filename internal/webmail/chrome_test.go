package webmail_test

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"posthorn/internal/servertest"
)

// chromePath is where Debian's chromium package puts the browser.
const chromePath = "/usr/bin/chromium"

// browser is one headless Chromium for a test file, with what it saw on
// the network and in dialogs.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots go here

	mu         sync.Mutex
	responses  map[string]int64 // URL path -> last status
	dialogs    []string
	exceptions []string // uncaught script exceptions of our pages
}

// startBrowser launches Chromium headless with a fresh profile, or skips
// the test when it is not installed (under CI=true that fails instead:
// CI installs it).
func startBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromePath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing; CI must install the chromium package", chromePath)
		}
		t.Skipf("%s not installed; skipping the browser tests", chromePath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromePath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900),
	}
	b := &browser{t: t, dir: t.TempDir(), responses: map[string]int64{}}
	if d := os.Getenv("POSTHORN_ARTIFACTS"); d != "" {
		b.dir = d
		os.MkdirAll(d, 0o755)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithListener(b.event))
	b.ctx = ctx
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // ends the Chromium process
	})
	// The first run starts the browser and lives as long as ctx: no
	// timeout on it (chromedp.Run).
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
		return err
	})); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return b
}

// event records responses and dismisses JavaScript dialogs (which no
// message may open: the tests count them).
func (b *browser) event(ev any) {
	switch e := ev.(type) {
	case *network.EventResponseReceived:
		b.mu.Lock()
		if i := strings.Index(e.Response.URL, "://"); i >= 0 {
			rest := e.Response.URL[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				b.responses[rest[j:]] = e.Response.Status
			}
		}
		b.mu.Unlock()
	case *runtime.EventExceptionThrown:
		b.mu.Lock()
		desc := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			desc += " " + e.ExceptionDetails.Exception.Description
		}
		b.exceptions = append(b.exceptions, desc)
		b.mu.Unlock()
	case *page.EventJavascriptDialogOpening:
		b.mu.Lock()
		b.dialogs = append(b.dialogs, e.Message)
		b.mu.Unlock()
		go chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	}
}

// do runs actions with a generous deadline.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v", err)
	}
}

// get runs an action that returns a value.
func get[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// shot saves a screenshot as a test artifact.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err == nil {
		b.t.Logf("screenshot: %s", p)
	}
}

// status returns the last HTTP status seen for a URL path (0: none).
func (b *browser) status(path string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.responses[path]
}

// scriptErrors returns the uncaught exceptions seen so far.
func (b *browser) scriptErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.exceptions...)
}

func (b *browser) dialogCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.dialogs)
}

// waitStatus waits until the browser got a response for path.
func (b *browser) waitStatus(path string) int64 {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s := b.status(path); s != 0 {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.shot("no-response")
	b.t.Fatalf("no response for %s", path)
	return 0
}

// login logs alice in through the form.
func (b *browser) login(base string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-user"), "alice@example.test"),
		chromedp.SendKeys(chromedp.CSS("#login-pass"), servertest.Password),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
		chromedp.WaitVisible(chromedp.CSS(`#folder-list button[aria-current="true"]`)),
	)
}

// sendSMTP delivers a message through the MX listener.
func sendSMTP(t *testing.T, srv *servertest.Server, from, rcpt, msg string) {
	t.Helper()
	c, err := smtp.Dial(srv.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []func() error{
		func() error { return c.Hello("client.example.test") },
		func() error { return c.Mail(from) },
		func() error { return c.Rcpt(rcpt) },
		func() error {
			w, err := c.Data()
			if err != nil {
				return err
			}
			if _, err := w.Write([]byte(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
				return err
			}
			return w.Close()
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("SMTP: %v", err)
		}
	}
	c.Quit()
}

// canary records every request it gets: a message that manages to fetch
// something from it has escaped the viewer's policy.
type canary struct {
	ln   net.Listener
	mu   sync.Mutex
	hits []string
}

func startCanary(t *testing.T) *canary {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 2048)
				n, _ := conn.Read(buf)
				line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
				c.mu.Lock()
				c.hits = append(c.hits, line)
				c.mu.Unlock()
				fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *canary) url(path string) string { return "http://" + c.ln.Addr().String() + path }

func (c *canary) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.hits...)
}
