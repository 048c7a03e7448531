// Command jmapbench measures the JMAP server and the web UI:
//
//   - Email/query (a mailbox, newest first, 50 per page, with the total)
//     plus Email/get of those 50 (the properties the UI's message list
//     shows), as one API request over real HTTP on 127.0.0.1, against a
//     mailbox of N messages (default 100,000): p50, p95, p99 of the round
//     trip, for the first page and for a page deep in the mailbox;
//   - the octets a first load of the UI transfers: the page, its
//     stylesheet and script modules (gzip, as browsers ask), and the API
//     calls the UI makes to show the inbox.
//
// It boots the whole server (SQLite in a temporary directory, only the http
// listener) and fills the mailbox through the store directly, in batches,
// with messages analysed as delivery would (message.Analyze): filling over
// SMTP would only measure SMTP.
//
//	go run ./bench/jmapbench              # 100,000 messages, 300 timed requests
//	go run ./bench/jmapbench -n 20000 -iters 100
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"posthorn/internal/config"
	"posthorn/internal/mailbox"
	"posthorn/internal/message"
	"posthorn/internal/server"
	"posthorn/internal/store"
)

const (
	user     = "bench@example.test"
	password = "bench-password"
)

// profileTo names the CPU profile file ("" for none).
var profileTo string

func main() {
	n := flag.Int("n", 100000, "messages in the mailbox")
	iters := flag.Int("iters", 300, "timed requests per measurement")
	dir := flag.String("dir", "", "data directory (default: a new temporary one, removed at the end)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed requests (server and client) here")
	flag.Parse()
	if *cpuprofile != "" {
		profileTo = *cpuprofile
	}
	if err := run(*n, *iters, *dir); err != nil {
		log.Fatal(err)
	}
}

func run(n, iters int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "jmapbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ctx := context.Background()
	cfg := config.Default()
	cfg.Hostname = "bench.example.test"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Listen = config.Listen{HTTP: "127.0.0.1:0"}
	cfg.TLS = config.TLS{}
	cfg.Auth.AllowPlaintextOnLoopback = true
	srv, err := server.New(ctx, cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	if _, err := srv.Accounts.AddDomain(ctx, "example.test"); err != nil {
		return err
	}
	acct, err := srv.Accounts.AddUser(ctx, user, password)
	if err != nil {
		return err
	}
	inbox, err := srv.Mailboxes.Get(ctx, acct.ID, "INBOX")
	if err != nil {
		return err
	}
	start := time.Now()
	if err := fill(ctx, srv.Store, acct.ID, inbox.ID, n); err != nil {
		return err
	}
	fillTime := time.Since(start)
	fmt.Printf("filled %d messages in %s (%.0f/s)\n", n, fillTime.Round(time.Millisecond), float64(n)/fillTime.Seconds())

	base := "http://" + srv.Addr("http").String()
	c := &client{base: base, http: &http.Client{Timeout: time.Minute}}
	if err := c.session(); err != nil {
		return err
	}
	mbox := "M" + fmt.Sprint(inbox.ID)
	if profileTo != "" {
		f, err := os.Create(profileTo)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	first, err := c.measure(mbox, 0, iters)
	if err != nil {
		return err
	}
	deep, err := c.measure(mbox, n/2, iters)
	if err != nil {
		return err
	}
	pprof.StopCPUProfile()
	page, err := c.pageLoad(mbox)
	if err != nil {
		return err
	}
	report(n, iters, fillTime, first, deep, page)
	return nil
}

// fill appends n messages to the mailbox in batches, each analysed like
// a delivered message, with internal dates that rise with some jitter.
func fill(ctx context.Context, st store.Store, acct store.AccountID, mb store.MailboxID, n int) error {
	const batch = 1000
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += batch {
		var b store.Batch
		var aborts []func()
		for j := i; j < min(i+batch, n); j++ {
			body := sample(j)
			w, err := st.NewBlob(ctx)
			if err != nil {
				return err
			}
			aborts = append(aborts, w.Abort)
			w.Write(body)
			blob, _, err := w.Finish()
			if err != nil {
				return err
			}
			meta, err := message.Analyze(bytes.NewReader(body))
			if err != nil {
				return err
			}
			flags := store.Flags(0)
			if j%3 != 0 {
				flags = store.FlagSeen
			}
			b.Messages = append(b.Messages, store.NewMessage{
				AccountID: acct, MailboxID: mb, BlobID: blob, Flags: flags,
				InternalDate: t0.Add(time.Duration(j)*time.Minute + time.Duration(j*7919%600)*time.Second),
				Index:        mailbox.IndexOf(meta), Meta: meta.Marshal(), Text: meta.Text,
			})
		}
		_, err := st.Append(ctx, b)
		for _, a := range aborts {
			a()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var topics = []string{"quarterly report", "lunch plans", "release notes", "invoice", "meeting agenda", "travel booking", "newsletter"}

func sample(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\r\nTo: %s\r\nSubject: %s #%d\r\n", i%50, i%50, user, topics[i%len(topics)], i)
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <bench%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), i)
	for k := 0; k < 8; k++ {
		fmt.Fprintf(&b, "Line %d of message %d about the %s, with enough words to look like mail.\r\n", k, i, topics[(i+k)%len(topics)])
	}
	return []byte(b.String())
}

// client is a JMAP client with Basic auth.
type client struct {
	base string
	http *http.Client
	acct string
}

func (c *client) do(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.SetBasicAuth(user, password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp, b, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp, b, err
}

func (c *client) session() error {
	_, b, err := c.do("GET", "/.well-known/jmap", nil, nil)
	if err != nil {
		return err
	}
	var s struct {
		PrimaryAccounts map[string]string `json:"primaryAccounts"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	c.acct = s.PrimaryAccounts["urn:ietf:params:jmap:mail"]
	return nil
}

// listRequest is what the UI sends to show a page of a mailbox.
func (c *client) listRequest(mbox string, position int) []byte {
	req := map[string]any{
		"using": []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"},
		"methodCalls": []any{
			[]any{"Email/query", map[string]any{"accountId": c.acct, "filter": map[string]any{"inMailbox": mbox},
				"sort": []any{map[string]any{"property": "receivedAt", "isAscending": false}}, "position": position, "limit": 50, "calculateTotal": true}, "q"},
			[]any{"Email/get", map[string]any{"accountId": c.acct, "#ids": map[string]any{"resultOf": "q", "name": "Email/query", "path": "/ids"},
				"properties": []string{"threadId", "mailboxIds", "keywords", "from", "to", "subject", "receivedAt", "preview", "hasAttachment"}}, "g"},
		},
	}
	b, _ := json.Marshal(req)
	return b
}

// latencies are the sorted round-trip times of one measurement.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration { return l[min(int(float64(len(l))*p), len(l)-1)] }

// measure times iters list requests (after a warm-up), checking each
// answer has 50 emails.
func (c *client) measure(mbox string, position, iters int) (latencies, error) {
	body := c.listRequest(mbox, position)
	var out latencies
	for i := -20; i < iters; i++ {
		t := time.Now()
		_, b, err := c.do("POST", "/jmap/api", body, map[string]string{"Content-Type": "application/json"})
		d := time.Since(t)
		if err != nil {
			return nil, err
		}
		if i == -20 {
			if n := strings.Count(string(b), `"receivedAt"`); n != 50 {
				return nil, fmt.Errorf("the page has %d emails, want 50: %.300s", n, b)
			}
		}
		if i >= 0 {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// pageBytes is what a first load of the UI transfers.
type pageBytes struct {
	files map[string]int // path -> octets on the wire
	api   map[string]int
}

func (p pageBytes) total() int {
	t := 0
	for _, m := range []map[string]int{p.files, p.api} {
		for _, v := range m {
			t += v
		}
	}
	return t
}

var (
	assetRef  = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)
	moduleRef = regexp.MustCompile(`from '\./([^']+)'`)
)

// pageLoad fetches the UI as a browser does on a first visit: the page,
// every asset it references and every module the scripts import, with
// Accept-Encoding: gzip, then the API calls the UI makes to show the
// inbox. Octets are counted as sent (compressed where the server
// compressed).
func (c *client) pageLoad(mbox string) (pageBytes, error) {
	p := pageBytes{files: map[string]int{}, api: map[string]int{}}
	queue := []string{"/"}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if _, done := p.files[path]; done {
			continue
		}
		resp, raw, err := c.do("GET", path, nil, map[string]string{"Accept-Encoding": "gzip"})
		if err != nil {
			return p, err
		}
		p.files[path] = len(raw) + headerBytes(resp)
		text := raw
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return p, err
			}
			if text, err = io.ReadAll(zr); err != nil {
				return p, err
			}
		}
		for _, m := range assetRef.FindAllSubmatch(text, -1) {
			queue = append(queue, string(m[1]))
		}
		for _, m := range moduleRef.FindAllSubmatch(text, -1) {
			queue = append(queue, "/assets/"+string(m[1]))
		}
	}
	resp, b, err := c.do("GET", "/.well-known/jmap", nil, nil)
	if err != nil {
		return p, err
	}
	p.api["session"] = len(b) + headerBytes(resp)
	mreq := []byte(`{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Mailbox/get",{"accountId":"` + c.acct +
		`","ids":null,"properties":["name","parentId","role","sortOrder","totalEmails","unreadEmails"]},"m"]]}`)
	resp, b, err = c.do("POST", "/jmap/api", mreq, nil)
	if err != nil {
		return p, err
	}
	p.api["Mailbox/get"] = len(b) + headerBytes(resp) + len(mreq)
	lreq := c.listRequest(mbox, 0)
	resp, b, err = c.do("POST", "/jmap/api", lreq, nil)
	if err != nil {
		return p, err
	}
	p.api["Email/query+get"] = len(b) + headerBytes(resp) + len(lreq)
	return p, nil
}

// headerBytes estimates the octets of a response's header section.
func headerBytes(resp *http.Response) int {
	n := len("HTTP/1.1 200 OK\r\n\r\n")
	for k, vs := range resp.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func report(n, iters int, fill time.Duration, first, deep latencies, page pageBytes) {
	fmt.Printf("\nEmail/query + Email/get of 50, mailbox of %d messages, %d requests each (ms):\n\n", n, iters)
	fmt.Println("| page | p50 | p95 | p99 | max |")
	fmt.Println("|---|---|---|---|---|")
	fmt.Printf("| first 50 | %s | %s | %s | %s |\n", ms(first.pct(.5)), ms(first.pct(.95)), ms(first.pct(.99)), ms(first[len(first)-1]))
	fmt.Printf("| 50 at position %d | %s | %s | %s | %s |\n", n/2, ms(deep.pct(.5)), ms(deep.pct(.95)), ms(deep.pct(.99)), ms(deep[len(deep)-1]))
	fmt.Printf("\nUI first load: %.1f KiB in all\n\n| what | octets |\n|---|---|\n", float64(page.total())/1024)
	var keys []string
	for k := range page.files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("| %s | %d |\n", k, page.files[k])
	}
	for _, k := range []string{"session", "Mailbox/get", "Email/query+get"} {
		fmt.Printf("| API %s | %d |\n", k, page.api[k])
	}
}
