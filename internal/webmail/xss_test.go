package webmail_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"posthorn/internal/servertest"
	"posthorn/internal/webmail"
)

// xssCorpus is HTML that tries to run script or reach the network from a
// message: script elements, event handlers, javascript: URLs, SVG, CSS
// that fetches, frames and objects, and mutation-XSS forms that turn
// harmless after one parse into harmful after the next. CANARY stands for
// a server that records every request; a run is clean when it records
// none and no dialog opens.
var xssCorpus = []string{
	`<script>fetch('CANARY/s1');alert(1)</script>`,
	`<img src=x onerror="fetch('CANARY/s2');alert(2)">`,
	`<svg onload="fetch('CANARY/s3')"><circle r=10></svg>`,
	`<svg><script>fetch('CANARY/s4')</script></svg>`,
	`<a id=l5 href="javascript:fetch('CANARY/s5')">click me</a>`,
	`<iframe src="javascript:fetch('CANARY/s6')"></iframe>`,
	`<iframe srcdoc="<script>fetch('CANARY/s7')</script>"></iframe>`,
	`<object data="CANARY/s8"></object><embed src="CANARY/s8b">`,
	`<style>@import url(CANARY/s9);body{background:url(CANARY/s9b)}</style>hello`,
	`<div style="background-image:url(CANARY/s10)">styled</div>`,
	`<link rel=stylesheet href=CANARY/s11><link rel=prefetch href=CANARY/s11b>`,
	`<img src="CANARY/s12" alt="remote image">`,
	`<body onload="fetch('CANARY/s13')">body`,
	`<meta http-equiv="refresh" content="0;url=CANARY/s14">`,
	`<base href="CANARY/"><img src="s15.png">`,
	`<noscript><p title="</noscript><img src=x onerror=fetch('CANARY/s16')>">`,
	`<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror=fetch('CANARY/s17')&gt;">`,
	`<form><math><mtext></form><form><mglyph><style></math><img src onerror=fetch('CANARY/s18')>`,
	`<svg><a xlink:href="javascript:fetch('CANARY/s19')"><text y=20>svg link</text></a></svg>`,
	`<img srcset="CANARY/s20 1x"><picture><source srcset="CANARY/s20b"><img src=x></picture>`,
	`<video poster="CANARY/s21"><source src="CANARY/s21b"></video><audio src="CANARY/s21c" autoplay></audio>`,
	`<table background="CANARY/s22"><tr><td background="CANARY/s22b">cell</td></tr></table>`,
	`<input type=image src="CANARY/s23">`,
	`<style>@font-face{font-family:x;src:url(CANARY/s24)}p{font-family:x}</style><p>font</p>`,
	`<div style="width:expression(fetch('CANARY/s25'))">expr</div>`,
	`<img src="jav&#x09;ascript:fetch('CANARY/s26')">`,
	`<form action="CANARY/s27"><button>go</button></form>`,
	`<details open ontoggle="fetch('CANARY/s28')"><summary>x</summary></details>`,
	`<div style="background:u\rl(CANARY/s29)">escaped</div>`,
	`<svg><use href="CANARY/s30#x"/></svg>`,
	`<p style="behavior:url(CANARY/s31)">behavior</p>`,
	`<a href="CANARY/s32" ping="CANARY/s32b">a link with ping</a>`,
	`<img src=x:alert(33) onerror=alert(33)>`,
	`<<script>script>fetch('CANARY/s34')<</script>/script>`,
}

// TestSanitizerCorpus checks the sanitized markup itself: parsed as a
// browser parses it, and parsed again after serializing (mutation XSS
// lives in the difference), it has no active element, no event handler,
// no script URL and no CSS that fetches; the canary appears only where the
// viewer's CSP decides (an image) or a user must click (a link).
func TestSanitizerCorpus(t *testing.T) {
	for i, p := range xssCorpus {
		out := webmail.SanitizeForTest(strings.ReplaceAll(p, "CANARY", "http://canary.test"))
		doc := out
		for round := 0; round < 2; round++ {
			for _, problem := range activeContent(t, doc) {
				t.Errorf("payload %d (round %d): %s in %s", i+1, round, problem, out)
			}
			doc = reserialize(t, doc)
		}
	}
}

// activeContent lists what in doc could run script or fetch by itself.
func activeContent(t *testing.T, doc string) []string {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(doc), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "iframe", "object", "embed", "link", "meta", "base", "form", "svg", "math", "input",
				"video", "audio", "source", "picture", "frame", "frameset", "applet", "noscript", "template":
				out = append(out, "<"+n.Data+">")
			}
			for _, a := range n.Attr {
				k, v := strings.ToLower(a.Key), strings.ToLower(a.Val)
				switch {
				case strings.HasPrefix(k, "on"), k == "srcset", k == "srcdoc", k == "ping", k == "background", k == "poster", k == "formaction":
					out = append(out, "attribute "+k)
				case urlAttrs[k] && (strings.Contains(v, "javascript:") || strings.Contains(v, "vbscript:") || strings.Contains(v, "data:text")):
					out = append(out, "script URL in "+k)
				case k == "style" && (strings.Contains(v, "url") || strings.Contains(v, "expression") || strings.Contains(v, "behavior")):
					out = append(out, "fetching style "+a.Val)
				case urlAttrs[k] && strings.Contains(v, "canary.test") && !(n.Data == "img" && k == "src") && !(n.Data == "a" && k == "href"):
					out = append(out, "canary in "+n.Data+" "+k)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return out
}

// urlAttrs are the attributes whose value a browser may fetch or follow.
var urlAttrs = map[string]bool{"src": true, "href": true, "data": true, "action": true, "cite": true, "xlink:href": true,
	"longdesc": true, "usemap": true, "codebase": true, "archive": true, "manifest": true, "icon": true, "lowsrc": true, "dynsrc": true}

func reserialize(t *testing.T, doc string) string {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(doc), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range nodes {
		html.Render(&b, n)
	}
	return b.String()
}

// TestBrowserXSS renders every payload of the corpus in the UI's viewer,
// in Chromium, and checks that no script ran (no dialog, no request) and
// nothing was fetched. A last message proves the canary works: once the
// user allows remote images, its image is fetched.
func TestBrowserXSS(t *testing.T) {
	b := startBrowser(t)
	srv := servertest.Start(t)
	base := "http://" + srv.Addr("http")
	canary := startCanary(t)
	acct := acctOf(t, base, "alice@example.test")
	inbox := mailboxOf(t, base, "alice@example.test", "inbox")
	importHTML := func(subject, html string) {
		msg := fmt.Sprintf("From: Mallory <mallory@example.test>\r\nTo: alice@example.test\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: text/html; charset=utf-8\r\n\r\n%s\r\n", subject, html)
		sendSMTP(t, srv, "mallory@example.test", "alice@example.test", strings.ReplaceAll(msg, "\r\n", "\n"))
	}
	for i, p := range xssCorpus {
		importHTML(fmt.Sprintf("xss %02d", i+1), strings.ReplaceAll(p, "CANARY", canary.url("")))
	}
	// A plain-text message and a subject that look like markup stay text.
	sendSMTP(t, srv, "mallory@example.test", "alice@example.test", fmt.Sprintf(
		"From: \"<img src=x onerror=alert(1)>\" <m@example.test>\nSubject: xss text <img src=%s onerror=alert(2)>\n\n<script>alert(3)</script><img src=%s>\n",
		canary.url("/subject"), canary.url("/plain")))
	waitUntil(t, "all messages delivered", func() bool {
		res := jmapAs(t, base, "alice@example.test", `[["Email/query",{"accountId":"`+acct+`","filter":{"inMailbox":"`+inbox+`"},"calculateTotal":true},"q"]]`)
		return res["total"] == float64(len(xssCorpus)+1)
	})

	b.login(base)
	title := get(b, chromedp.Title())
	for i := range xssCorpus {
		subject := fmt.Sprintf("xss %02d", i+1)
		t.Logf("viewing %s", subject)
		b.do(chromedp.Click(`//button[contains(@class,"row")][contains(., "`+subject+`")]`),
			chromedp.WaitVisible(`//h2[@id="r-subject"][.="`+subject+`"]`),
			chromedp.WaitVisible(`//iframe[@id="r-html"][starts-with(@src, "/view/")]`))
		src := get(b, chromedp.AttributeValue(chromedp.CSS("#r-html"), "src")).Value
		if st := b.waitStatus(src); st != 200 {
			t.Fatalf("%s: viewer answered %d", subject, st)
		}
		if i == 16 {
			b.shot("07-xss-mxss")
		}
	}
	b.do(chromedp.Click(`//button[contains(@class,"row")][contains(., "xss text")]`),
		chromedp.WaitVisible(chromedp.CSS("#r-text")))
	text := get(b, chromedp.Text(chromedp.CSS("#r-text")))
	if !strings.Contains(text, "<script>alert(3)</script>") {
		t.Errorf("the plain-text body is not shown as text: %q", text)
	}
	b.shot("08-xss-text")
	if got := get(b, chromedp.Title()); got != title {
		t.Errorf("a message changed the page title to %q", got)
	}
	if loc := get(b, chromedp.Location()); !strings.HasPrefix(loc, base+"/") {
		t.Errorf("a message navigated the UI to %s", loc)
	}

	// The positive control: allowing remote images fetches payload 12's.
	b.do(chromedp.Click(`//button[contains(@class,"row")][contains(., "xss 12")]`),
		chromedp.WaitVisible(chromedp.CSS("#r-images")))
	hits := canary.requests()
	if len(hits) != 0 || b.dialogCount() != 0 {
		t.Fatalf("the corpus escaped: requests %v, dialogs %v", hits, b.dialogs)
	}
	b.do(chromedp.Click(chromedp.CSS("#images-btn")),
		chromedp.WaitVisible(`//iframe[@id="r-html"][contains(@src, "images=1")]`))
	waitUntil(t, "the allowed image to be fetched", func() bool {
		for _, h := range canary.requests() {
			if strings.Contains(h, "/s12 ") {
				return true
			}
		}
		return false
	})
	for _, h := range canary.requests() {
		if !strings.Contains(h, "/s12 ") {
			t.Errorf("with images allowed, only the image may be fetched; got %q", h)
		}
	}
}
