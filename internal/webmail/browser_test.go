package webmail_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"posthorn/internal/servertest"
)

// jmapAs calls the JMAP API with Basic auth, to check what the browser did.
func jmapAs(t *testing.T, base, user string, calls string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/jmap/api", strings.NewReader(
		`{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":`+calls+`}`))
	req.SetBasicAuth(user, servertest.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		MethodResponses [][]json.RawMessage `json:"methodResponses"`
	}
	json.Unmarshal(b, &out)
	var args map[string]any
	json.Unmarshal(out.MethodResponses[len(out.MethodResponses)-1][1], &args)
	return args
}

// subjectsIn returns the subjects of the emails in a user's mailbox of a
// role, asked over JMAP with Basic auth.
func subjectsIn(t *testing.T, base, user, role string) []string {
	t.Helper()
	acct := acctOf(t, base, user)
	mbox := mailboxOf(t, base, user, role)
	res := jmapAs(t, base, user, `[["Email/query",{"accountId":"`+acct+`","filter":{"inMailbox":"`+mbox+`"}},"q"],
		["Email/get",{"accountId":"`+acct+`","#ids":{"resultOf":"q","name":"Email/query","path":"/ids"},"properties":["subject"]},"g"]]`)
	var out []string
	for _, x := range res["list"].([]any) {
		out = append(out, x.(map[string]any)["subject"].(string))
	}
	return out
}

// mailboxOf returns the id of a user's mailbox with a role.
func mailboxOf(t *testing.T, base, user, role string) string {
	t.Helper()
	mq := jmapAs(t, base, user, `[["Mailbox/query",{"accountId":"`+acctOf(t, base, user)+`","filter":{"role":"`+role+`"}},"m"]]`)
	return mq["ids"].([]any)[0].(string)
}

func acctOf(t *testing.T, base, user string) string {
	req, _ := http.NewRequest("GET", base+"/.well-known/jmap", nil)
	req.SetBasicAuth(user, servertest.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s map[string]any
	json.NewDecoder(resp.Body).Decode(&s)
	return s["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:mail"].(string)
}

const htmlMessage = `From: Bob <bob@example.test>
To: alice@example.test
Subject: Quarterly planning meeting
Message-ID: <plan1@example.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain; charset=utf-8

Hi Alice, shall we meet on Thursday?
--b
Content-Type: text/html; charset=utf-8

<p>Hi Alice, shall we meet on <b>Thursday</b>?</p><img src="REMOTE" alt="logo">
--b--
`

// TestBrowserMailFlow drives the UI the way a user would: log in, read a
// message that arrived by SMTP, reply to another local account, move it,
// search for it, and watch new mail arrive without reloading.
func TestBrowserMailFlow(t *testing.T) {
	b := startBrowser(t)
	srv := servertest.Start(t)
	base := "http://" + srv.Addr("http")
	canary := startCanary(t)

	b.login(base)
	b.shot("01-inbox-empty")

	// A message arrives by SMTP while the UI is open: push shows it.
	sendSMTP(t, srv, "bob@example.test", "alice@example.test", strings.Replace(htmlMessage, "REMOTE", canary.url("/logo.png"), 1))
	b.do(chromedp.WaitVisible(`//button[contains(@class,"row")][contains(., "Quarterly planning meeting")]`))
	b.shot("02-inbox")

	// Open it: the HTML body shows in the viewer frame, remote image blocked.
	b.do(chromedp.Click(`//button[contains(@class,"row")][contains(., "Quarterly planning")]`),
		chromedp.WaitVisible(chromedp.CSS("#r-html")),
		chromedp.WaitVisible(chromedp.CSS("#r-images")))
	viewPath := get(b, chromedp.AttributeValue(chromedp.CSS("#r-html"), "src")).Value
	if st := b.waitStatus(viewPath); st != 200 {
		t.Fatalf("viewer %s answered %d", viewPath, st)
	}
	subject := get(b, chromedp.Text(chromedp.CSS("#r-subject")))
	if subject != "Quarterly planning meeting" {
		t.Errorf("reader subject = %q", subject)
	}
	b.shot("03-reading")
	if hits := canary.requests(); len(hits) != 0 {
		t.Errorf("remote image fetched before the user allowed it: %v", hits)
	}
	b.do(chromedp.Click(chromedp.CSS("#images-btn")))
	waitUntil(t, "the allowed remote image to load", func() bool { return len(canary.requests()) > 0 })

	replyMoveSearch(t, b, base)
	draftWithAttachment(t, b, base)
	newMailKeysDrag(t, b, srv, base)
}

// draftWithAttachment composes a message with an attachment, is stopped by
// a bad address, saves it as a draft, reopens the draft and sends it.
func draftWithAttachment(t *testing.T, b *browser, base string) {
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("agenda: budget\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Click(chromedp.CSS("#compose-btn")), chromedp.WaitVisible(chromedp.CSS("#composer")),
		chromedp.SendKeys(chromedp.CSS("#c-to"), "bob@example.test, not an address"),
		chromedp.SendKeys(chromedp.CSS("#c-subject"), "Agenda draft"),
		chromedp.SendKeys(chromedp.CSS("#c-body"), "See the notes."),
		chromedp.SetUploadFiles(chromedp.CSS("#c-files"), []string{file}),
		chromedp.WaitVisible(`//ul[@id="c-attached"]/li[contains(., "notes.txt")]`),
		chromedp.Click(chromedp.CSS("#c-send")),
		chromedp.WaitVisible(`//p[@id="c-error"][contains(., "not an address")]`))
	b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('c-to').value = 'Bob <bob@example.test>'`),
		chromedp.Click(chromedp.CSS("#c-save")))
	waitUntil(t, "the draft saved", func() bool {
		return strings.Join(subjectsIn(t, base, "alice@example.test", "drafts"), "|") == "Agenda draft"
	})
	b.do(chromedp.Click(chromedp.CSS("#c-discard")), chromedp.WaitNotVisible(chromedp.CSS("#composer")),
		chromedp.Click(`//button[contains(@class,"folder")][contains(., "Drafts")]`),
		chromedp.Click(`//button[contains(@class,"row")][contains(., "Agenda draft")]`),
		chromedp.WaitVisible(chromedp.CSS("#edit-btn")), chromedp.Click(chromedp.CSS("#edit-btn")),
		chromedp.WaitVisible(`//ul[@id="c-attached"]/li[contains(., "notes.txt")]`))
	b.shot("04b-draft")
	b.do(chromedp.Click(chromedp.CSS("#c-send")), chromedp.WaitNotVisible(chromedp.CSS("#composer")))
	waitUntil(t, "bob to receive the draft", func() bool {
		return strings.Contains(strings.Join(subjectsIn(t, base, "bob@example.test", "inbox"), "|"), "Agenda draft")
	})
	if d := subjectsIn(t, base, "alice@example.test", "drafts"); len(d) != 0 {
		t.Errorf("drafts left after sending: %v", d)
	}
}

// replyMoveSearch replies to the open message, moves it to the Archive with
// the menu, and finds it there with a search.
func replyMoveSearch(t *testing.T, b *browser, base string) {
	b.do(chromedp.Click(chromedp.CSS("#reply-btn")), chromedp.WaitVisible(chromedp.CSS("#composer")))
	to := get(b, chromedp.Value(chromedp.CSS("#c-to")))
	if !strings.Contains(to, "bob@example.test") {
		t.Errorf("reply To = %q", to)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#c-body"), "Thursday works. "))
	b.shot("04-compose")
	b.do(chromedp.Click(chromedp.CSS("#c-send")), chromedp.WaitNotVisible(chromedp.CSS("#composer")))
	waitUntil(t, "bob to receive the reply", func() bool {
		return strings.Contains(strings.Join(subjectsIn(t, base, "bob@example.test", "inbox"), "|"), "Re: Quarterly planning meeting")
	})
	if s := subjectsIn(t, base, "alice@example.test", "sent"); len(s) != 1 || s[0] != "Re: Quarterly planning meeting" {
		t.Errorf("alice's Sent = %v", s)
	}

	// Move it to the Archive with the menu.
	// (Choosing an option the way a user does: set it, fire "change".)
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('move-select');
		s.value = ` + "`" + mailboxOf(t, base, "alice@example.test", "archive") + "`" + `; s.dispatchEvent(new Event('change')); })()`))
	waitUntil(t, "the message in the Archive", func() bool {
		return len(subjectsIn(t, base, "alice@example.test", "archive")) == 1
	})
	b.do(chromedp.WaitNotPresent(`//button[contains(@class,"row")][contains(., "Quarterly planning")]`))

	// Search finds it in the Archive.
	b.do(chromedp.SendKeys(chromedp.CSS("#search"), "quarterly\n"),
		chromedp.WaitVisible(`//button[contains(@class,"row")][contains(., "Quarterly planning")][contains(., "Archive")]`))
	b.shot("05-search")

	// The conversation spans folders: the message (Archive) and the reply (Sent).
	b.do(chromedp.Click(`//button[contains(@class,"row")][contains(., "Quarterly planning")][contains(., "Archive")]`),
		chromedp.WaitVisible(`//ol[@id="thread-list"]/li[contains(., "(Archive)")]`),
		chromedp.WaitVisible(`//ol[@id="thread-list"]/li[contains(., "(Sent)")]`))
}

// newMailKeysDrag watches new mail arrive in the inbox, uses the keyboard,
// drags a message to a folder, and checks the phone-sized layout.
func newMailKeysDrag(t *testing.T, b *browser, srv *servertest.Server, base string) {
	// Back in the inbox, new mail appears without a reload.
	b.do(chromedp.Click(`//button[contains(@class,"folder")][contains(., "INBOX")]`),
		chromedp.WaitVisible(chromedp.CSS(`#folder-list button[aria-current="true"]`)))
	sendSMTP(t, srv, "bob@example.test", "alice@example.test", "From: bob@example.test\nSubject: Lunch tomorrow?\n\nNoon?\n")
	b.do(chromedp.WaitVisible(`//button[contains(@class,"row")][contains(., "Lunch tomorrow?")]`))

	// Keyboard: j selects, Enter opens, c composes, Escape closes.
	b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`//h2[@id="r-subject"][.="Lunch tomorrow?"]`),
		// Opening marks it read; the list shows that once it is saved.
		chromedp.WaitVisible(`//button[contains(@class,"row")][not(contains(@class,"unread"))][contains(., "Lunch tomorrow?")]`))
	b.do(chromedp.KeyEvent("c"), chromedp.WaitVisible(chromedp.CSS("#composer")), chromedp.KeyEvent("\x1b"),
		chromedp.WaitNotVisible(chromedp.CSS("#composer")))
	if n := b.dialogCount(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
	// s flags it, u marks it unread again.
	b.do(chromedp.KeyEvent("s"), chromedp.WaitVisible(`//button[@id="flag-btn"][@aria-pressed="true"]`), chromedp.KeyEvent("u"))
	waitUntil(t, "flagged and unread", func() bool {
		res := jmapAs(t, base, "alice@example.test", `[["Email/query",{"accountId":"`+acctOf(t, base, "alice@example.test")+
			`","filter":{"operator":"AND","conditions":[{"hasKeyword":"$flagged"},{"notKeyword":"$seen"},{"subject":"Lunch"}]}},"q"]]`)
		return len(res["ids"].([]any)) == 1
	})

	// Drag a message onto a folder to move it there (once the list shows
	// the flag and the unread state, so the row is not redrawn under the
	// pointer).
	b.do(chromedp.WaitVisible(`//button[contains(@class,"row")][contains(@class,"unread")][contains(., "★")][contains(., "Lunch tomorrow?")]`),
		chromedp.DragAndDrop(`//button[contains(@class,"row")][contains(., "Lunch tomorrow?")]`,
			`//button[contains(@class,"folder")][contains(., "Junk")]`))
	waitUntil(t, "the dragged message in Junk", func() bool {
		return strings.Join(subjectsIn(t, base, "alice@example.test", "junk"), "|") == "Lunch tomorrow?"
	})

	// Delete moves it to the Trash (clicking Junk once the folder list
	// shows its unread message).
	b.do(chromedp.WaitVisible(`//button[contains(@class,"folder")][contains(., "Junk")][span[@class="count"]]`),
		chromedp.Click(`//button[contains(@class,"folder")][contains(., "Junk")]`),
		chromedp.Click(`//button[contains(@class,"row")][contains(., "Lunch tomorrow?")]`),
		chromedp.WaitVisible(`//h2[@id="r-subject"][.="Lunch tomorrow?"]`),
		chromedp.Click(chromedp.CSS("#delete-btn")))
	waitUntil(t, "the deleted message in Trash", func() bool {
		return strings.Join(subjectsIn(t, base, "alice@example.test", "trash"), "|") == "Lunch tomorrow?"
	})

	// On a phone-sized screen one pane shows at a time and nothing
	// overflows sideways.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		chromedp.KeyEvent("\x1b"), chromedp.WaitVisible(chromedp.CSS("#messages")))
	overflow := get(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if overflow {
		t.Error("the phone layout scrolls sideways")
	}
	b.shot("06-phone")
	if errs := b.scriptErrors(); len(errs) != 0 {
		t.Errorf("uncaught script errors: %v", errs)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
