package interop

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"posthorn/internal/store"
)

// pythonClients is the python3 side of TestPython: it reads its settings
// as JSON on standard input, sends two messages with smtplib (STARTTLS and
// AUTH on submission with BODY=8BITMIME; implicit TLS on submissions),
// then reads them with imaplib (STARTTLS: UID SEARCH, UID FETCH
// BODY.PEEK[], UID STORE, FETCH FLAGS; implicit TLS: EXAMINE) and poplib
// (STLS: STAT, LIST, UIDL, RETR; implicit TLS: STAT), and prints what it
// saw as JSON (message octets in base64) for the Go side to check. Every
// TLS session verifies the server against the suite's authority.
const pythonClients = `
import base64, imaplib, json, poplib, re, smtplib, ssl, sys

cfg = json.load(sys.stdin)
ctx = ssl.create_default_context(cafile=cfg["ca"])
host, out = "127.0.0.1", {}
b64 = lambda b: base64.b64encode(b).decode()

with smtplib.SMTP(host, cfg["submission"], local_hostname="python.example.test", timeout=30) as s:
    s.ehlo()
    out["smtp_features"] = sorted(s.esmtp_features)
    s.starttls(context=ctx)
    s.ehlo()
    s.login(cfg["from"], cfg["password"])
    out["refused1"] = s.sendmail(cfg["from"], [cfg["to"]], base64.b64decode(cfg["msg1"]), mail_options=["BODY=8BITMIME"])
with smtplib.SMTP_SSL(host, cfg["submissions"], local_hostname="python.example.test", context=ctx, timeout=30) as s:
    s.login(cfg["from"], cfg["password"])
    out["refused2"] = s.sendmail(cfg["from"], [cfg["to"]], base64.b64decode(cfg["msg2"]))

m = imaplib.IMAP4(host, cfg["imap"], timeout=30)
m.starttls(ssl_context=ctx)
m.login(cfg["to"], cfg["password"])
typ, data = m.select("INBOX")
out["select_exists"] = int(data[0])
typ, data = m.uid("SEARCH", "SUBJECT", '"python smtplib"')
out["search"] = [int(x) for x in data[0].split()]
out["fetched"] = {}
for uid in out["search"]:
    typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
    out["fetched"][str(uid)] = b64(data[0][1])
first = str(out["search"][0])
typ, data = m.uid("STORE", first, "+FLAGS", r"(\Flagged $Interop)")
typ, data = m.uid("FETCH", first, "(FLAGS)")
out["flags_after_store"] = re.search(rb"FLAGS \(([^)]*)\)", data[0]).group(1).decode().split()
m.logout()

m = imaplib.IMAP4_SSL(host, cfg["imaps"], ssl_context=ctx, timeout=30)
m.login(cfg["to"], cfg["password"])
typ, data = m.select("INBOX", readonly=True)
out["examine_exists"] = int(data[0])
m.logout()

p = poplib.POP3(host, cfg["pop3"], timeout=30)
p.stls(context=ctx)
p.user(cfg["to"])
p.pass_(cfg["password"])
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["retr"] = [b64(b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n") for i in range(out["stat"][0])]
p.quit()

p = poplib.POP3_SSL(host, cfg["pop3s"], context=ctx, timeout=30)
p.user(cfg["to"])
p.pass_(cfg["password"])
out["stat_ssl"] = list(p.stat())
p.quit()

json.dump(out, sys.stdout)
`

// pythonResult is what pythonClients prints.
type pythonResult struct {
	SMTPFeatures    []string          `json:"smtp_features"`
	Refused1        map[string]any    `json:"refused1"`
	Refused2        map[string]any    `json:"refused2"`
	SelectExists    int               `json:"select_exists"`
	Search          []uint32          `json:"search"`
	Fetched         map[string]string `json:"fetched"`
	FlagsAfterStore []string          `json:"flags_after_store"`
	ExamineExists   int               `json:"examine_exists"`
	Stat            []int             `json:"stat"`
	List            []string          `json:"list"`
	UIDL            []string          `json:"uidl"`
	Retr            []string          `json:"retr"`
	StatSSL         []int             `json:"stat_ssl"`
}

// TestPython drives python3's smtplib, imaplib and poplib against
// Posthorn and checks what they sent and read against the store.
func TestPython(t *testing.T) {
	need(t, "python3")
	s := startPosthorn(t)
	msg1 := testMessage(alice, bob, "python smtplib starttls")
	msg2 := testMessage(alice, bob, "python smtplib implicit")
	cfg, _ := json.Marshal(map[string]any{
		"ca": testPKI(t).CAFile, "from": alice, "to": bob, "password": password,
		"msg1": base64.StdEncoding.EncodeToString([]byte(msg1)), "msg2": base64.StdEncoding.EncodeToString([]byte(msg2)),
		"submission": port(s.Addr("submission")), "submissions": port(s.Addr("submissions")),
		"imap": port(s.Addr("imap")), "imaps": port(s.Addr("imaps")), "pop3": port(s.Addr("pop3")), "pop3s": port(s.Addr("pop3s")),
	})
	script := writeFile(t, t.TempDir(), "clients.py", pythonClients, 0o644)
	out := toolRun{Stdin: string(cfg)}.ok(t, "python3", script)
	var r pythonResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("python3 printed %q: %v", out, err)
	}

	// smtplib: both messages accepted for every recipient, stored byte-exact.
	for _, f := range []string{"8bitmime", "starttls", "pipelining"} {
		if !slices.Contains(r.SMTPFeatures, f) {
			t.Errorf("EHLO features %v lack %s", r.SMTPFeatures, f)
		}
	}
	if len(r.Refused1) != 0 || len(r.Refused2) != 0 {
		t.Errorf("refused recipients: %v %v", r.Refused1, r.Refused2)
	}
	msgs := inbox(t, s, bob)
	if len(msgs) != 2 {
		t.Fatalf("bob has %d messages, want 2", len(msgs))
	}
	for i, sent := range []string{msg1, msg2} {
		if trace := checkArrived(t, msgs[i].Data, sent); !strings.Contains(trace, "Received: from python.example.test") {
			t.Errorf("trace fields:\n%s", trace)
		}
	}

	// imaplib: the counts, the search hits, the octets and the flags agree
	// with the store.
	if r.SelectExists != 2 || r.ExamineExists != 2 {
		t.Errorf("SELECT says %d, EXAMINE %d messages; want 2", r.SelectExists, r.ExamineExists)
	}
	if want := []uint32{msgs[0].UID, msgs[1].UID}; !slices.Equal(r.Search, want) {
		t.Errorf("UID SEARCH SUBJECT: %v, want %v", r.Search, want)
	}
	for _, m := range msgs {
		if got := unbase64(t, r.Fetched[strconv.Itoa(int(m.UID))]); got != m.Data {
			t.Errorf("UID %d: imaplib fetched\n%q\nthe store has\n%q", m.UID, got, m.Data)
		}
	}
	slices.Sort(r.FlagsAfterStore)
	if want := []string{"$Interop", `\Flagged`}; !slices.Equal(r.FlagsAfterStore, want) {
		t.Errorf("FLAGS after STORE: %v, want %v (BODY.PEEK must not set \\Seen)", r.FlagsAfterStore, want)
	}
	// In the store: the STORE's flags, and \Seen on both from POP3's RETR
	// (which came after the IMAP session; Dovecot marks RETR'd mail the same).
	after := inbox(t, s, bob)
	if after[0].Flags != store.FlagFlagged|store.FlagSeen || !slices.Equal(after[0].Keywords, []string{"$Interop"}) || after[1].Flags != store.FlagSeen {
		t.Errorf("store flags: %+v / %v, %+v", after[0].Flags, after[0].Keywords, after[1].Flags)
	}

	// poplib: STAT, LIST and RETR agree with each other and the store.
	total := len(msgs[0].Data) + len(msgs[1].Data)
	if !slices.Equal(r.Stat, []int{2, total}) || !slices.Equal(r.StatSSL, r.Stat) {
		t.Errorf("STAT %v (over implicit TLS %v), want [2 %d]", r.Stat, r.StatSSL, total)
	}
	for i, m := range msgs {
		if want := strconv.Itoa(i+1) + " " + strconv.Itoa(len(m.Data)); i >= len(r.List) || r.List[i] != want {
			t.Errorf("LIST %v, want line %q", r.List, want)
		}
		if i >= len(r.Retr) || unbase64(t, r.Retr[i]) != m.Data {
			t.Errorf("RETR %d does not match the store", i+1)
		}
	}
	if len(r.UIDL) != 2 || r.UIDL[0] == r.UIDL[1] {
		t.Errorf("UIDL %v: want two distinct ids", r.UIDL)
	}
}

// unbase64 decodes what the python side encoded.
func unbase64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
