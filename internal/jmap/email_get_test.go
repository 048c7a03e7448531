package jmap_test

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// corpusDir is the shared mail corpus (internal/message/testdata/mail).
const corpusDir = "../message/testdata/mail"

func loadCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".eml") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(corpusDir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var allEmailProps = []string{"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "messageId", "inReplyTo",
	"references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt", "hasAttachment", "preview", "bodyValues",
	"textBody", "htmlBody", "attachments", "headers", "bodyStructure", "header:Subject:asText", "header:From:asAddresses:all",
	"header:To:asGroupedAddresses", "header:Date:asDate", "header:Message-ID:asMessageIds", "header:List-Unsubscribe:asURLs",
	"header:Received:all", "header:X-Unknown:asText"}

// TestEmailGetCorpus imports every message of the corpus and reads it
// back whole: every property, every body value decoded to UTF-8.
func TestEmailGetCorpus(t *testing.T) {
	e := newEnv(t)
	inbox := e.mailboxes()["inbox"]
	corpus := loadCorpus(t)
	if len(corpus) != 166 {
		t.Fatalf("corpus has %d messages, want 166", len(corpus))
	}
	names := make([]string, 0, len(corpus))
	for n := range corpus {
		names = append(names, n)
	}
	sort.Strings(names)
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = e.importMessage(inbox, corpus[n], nil)
	}
	got := map[string]map[string]any{}
	for i := 0; i < len(names); i += 50 {
		batch := names[i:min(i+50, len(names))]
		var want []string
		for _, n := range batch {
			want = append(want, ids[n])
		}
		res := e.call("Email/get", map[string]any{"ids": want, "properties": allEmailProps, "fetchAllBodyValues": true,
			"bodyProperties": []string{"partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", "language", "location", "subParts", "headers", "header:Content-Type:asRaw"}})
		if nf := res["notFound"].([]any); len(nf) != 0 {
			t.Fatalf("notFound: %v", nf)
		}
		for j, o := range res["list"].([]any) {
			got[batch[j]] = o.(map[string]any)
		}
	}
	for _, n := range names {
		checkEmail(t, n, got[n], corpus[n])
	}
	checkCharsets(t, got)
}

// checkEmail checks what holds for every message.
func checkEmail(t *testing.T, name string, m map[string]any, raw []byte) {
	t.Helper()
	if m["size"].(float64) < float64(len(raw)) {
		t.Errorf("%s: size %v < %d octets", name, m["size"], len(raw))
	}
	if _, ok := m["bodyStructure"].(map[string]any); !ok {
		t.Errorf("%s: no bodyStructure", name)
	}
	vals := m["bodyValues"].(map[string]any)
	for _, list := range []string{"textBody", "htmlBody"} {
		for _, p := range m[list].([]any) {
			part := p.(map[string]any)
			if strings.HasPrefix(part["type"].(string), "text/") {
				if _, ok := vals[part["partId"].(string)]; !ok {
					t.Errorf("%s: %s part %v has no body value", name, list, part["partId"])
				}
			}
		}
	}
	for id, v := range vals {
		bv := v.(map[string]any)
		if s := bv["value"].(string); !utf8.ValidString(s) || strings.Contains(s, "\r\n") {
			t.Errorf("%s: body value %s not UTF-8 with LF line ends", name, id)
		}
	}
	if !utf8.ValidString(fmt.Sprint(m["subject"])) || !utf8.ValidString(fmt.Sprint(m["from"])) {
		t.Errorf("%s: subject or from not UTF-8", name)
	}
}

// checkCharsets checks decoded text of the charset samples against what
// the bytes say in their charsets.
func checkCharsets(t *testing.T, got map[string]map[string]any) {
	t.Helper()
	text := func(name string) string {
		m := got[name]
		var b strings.Builder
		for _, v := range m["bodyValues"].(map[string]any) {
			b.WriteString(v.(map[string]any)["value"].(string))
		}
		return b.String()
	}
	for _, c := range []struct{ file, subject, body string }{
		{"charsets/mimekit-iso-2022-jp.eml", "日本語メールテスト (testing Japanese emails)", "日本語が"},
		{"charsets/mikel-euc-kr-qp.eml", "NOTE: 한국말로 하는 것", ""},
		{"charsets/mikel-rfc6532-utf8-headers.eml", "Säying Hello", ""},
	} {
		m := got[c.file]
		if m == nil {
			t.Errorf("%s missing", c.file)
			continue
		}
		if m["subject"] != c.subject || m["header:Subject:asText"] != c.subject {
			t.Errorf("%s: subject %q / %q, want %q", c.file, m["subject"], m["header:Subject:asText"], c.subject)
		}
		if c.body != "" && !strings.Contains(text(c.file), c.body) {
			t.Errorf("%s: body lacks %q: %q", c.file, c.body, text(c.file))
		}
	}
}

func TestEmailGetStructure(t *testing.T) {
	e := newEnv(t)
	inbox := e.mailboxes()["inbox"]
	msg := "From: \"Joe Q. Public\" <joe@example.test>\r\n" +
		"To: Team: ann@example.test, =?UTF-8?Q?B=C3=B6b?= <bob@example.test>;, carl@example.test\r\n" +
		"Reply-To: replies@example.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n" +
		"Message-ID: <m1@example.test>\r\nReferences: <a@x> <b@x>\r\nList-Unsubscribe: <mailto:u@x>, <https://x.example/u>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 au lait\r\n" +
		"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Caf\xc3\xa9 <b>au</b> lait</p>\r\n--alt--\r\n" +
		"--outer\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--outer--\r\n"
	id := e.importMessage(inbox, []byte(msg), map[string]bool{"$seen": true, "Custom": true})
	res := e.call("Email/get", map[string]any{"ids": []string{id}, "fetchTextBodyValues": true, "fetchHTMLBodyValues": true,
		"properties": []string{"keywords", "from", "to", "replyTo", "sender", "subject", "sentAt", "messageId", "references", "hasAttachment",
			"preview", "textBody", "htmlBody", "attachments", "bodyValues", "header:To:asGroupedAddresses", "header:List-Unsubscribe:asURLs"}})
	m := res["list"].([]any)[0].(map[string]any)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for prop, want := range map[string]string{
		"keywords":   `{"$seen":true,"custom":true}`,
		"from":       `[{"email":"joe@example.test","name":"Joe Q. Public"}]`,
		"to":         `[{"email":"ann@example.test","name":null},{"email":"bob@example.test","name":"Böb"},{"email":"carl@example.test","name":null}]`,
		"replyTo":    `[{"email":"replies@example.test","name":null}]`,
		"sender":     `null`,
		"subject":    `"Grüße"`,
		"sentAt":     `"2003-07-01T10:52:37+02:00"`,
		"messageId":  `["m1@example.test"]`,
		"references": `["a@x","b@x"]`,
		"header:To:asGroupedAddresses": `[{"addresses":[{"email":"ann@example.test","name":null},{"email":"bob@example.test","name":"Böb"}],"name":"Team"},` +
			`{"addresses":[{"email":"carl@example.test","name":null}],"name":null}]`,
		"header:List-Unsubscribe:asURLs": `["mailto:u@x","https://x.example/u"]`,
		"hasAttachment":                  `true`,
	} {
		if got := js(m[prop]); got != want {
			t.Errorf("%s = %s, want %s", prop, got, want)
		}
	}
	parts := func(list string) string {
		var out []string
		for _, p := range m[list].([]any) {
			pm := p.(map[string]any)
			out = append(out, fmt.Sprintf("%v:%v", pm["partId"], pm["type"]))
		}
		return strings.Join(out, " ")
	}
	if got := parts("textBody"); got != "1.1:text/plain" {
		t.Errorf("textBody = %s", got)
	}
	if got := parts("htmlBody"); got != "1.2:text/html" {
		t.Errorf("htmlBody = %s", got)
	}
	if got := parts("attachments"); got != "2:application/pdf" {
		t.Errorf("attachments = %s", got)
	}
	vals := m["bodyValues"].(map[string]any)
	if v := vals["1.1"].(map[string]any)["value"]; v != "Café au lait" {
		t.Errorf("text value = %q", v)
	}
	if v := vals["1.2"].(map[string]any)["value"]; v != "<p>Café <b>au</b> lait</p>" {
		t.Errorf("html value = %q", v)
	}
	att := m["attachments"].([]any)[0].(map[string]any)
	if att["name"] != "report.pdf" || att["disposition"] != "attachment" {
		t.Errorf("attachment = %v", att)
	}
	// Download the attachment: the transfer encoding is undone.
	resp := e.do("GET", "/jmap/download/"+e.acct+"/"+att["blobId"].(string)+"/report.pdf?accept=application/pdf", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "%PDF-1.4\n" || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("download CSP = %q", csp)
	}
	// Truncation at maxBodyValueBytes, on a character boundary.
	res = e.call("Email/get", map[string]any{"ids": []string{id}, "properties": []string{"bodyValues"}, "fetchTextBodyValues": true, "maxBodyValueBytes": 4})
	bv := res["list"].([]any)[0].(map[string]any)["bodyValues"].(map[string]any)["1.1"].(map[string]any)
	if bv["value"] != "Caf" || bv["isTruncated"] != true {
		t.Errorf("truncated value = %v", bv)
	}
}

// TestEmailGetRFCExample follows RFC 8621 §4.5's Email/get example
// (the properties, bodyProperties and fetch flags it asks for).
func TestEmailGetRFCExample(t *testing.T) {
	e := newEnv(t)
	inbox := e.mailboxes()["inbox"]
	id := e.importMessage(inbox, []byte("From: Joe Bloggs <joe@example.com>\r\nSubject: Dinner on Thursday?\r\n"+
		"Content-Type: text/html\r\n\r\n<html><body><p>Hello <b>Joe</b></p></body></html>\r\n"), map[string]bool{"$seen": true})
	res := e.call("Email/get", map[string]any{"ids": []string{id, "E999999"},
		"properties":     []string{"threadId", "mailboxIds", "from", "subject", "receivedAt", "htmlBody", "bodyValues"},
		"bodyProperties": []string{"partId", "blobId", "size", "type"}, "fetchHTMLBodyValues": true, "maxBodyValueBytes": 256})
	if fmt.Sprint(res["notFound"]) != "[E999999]" {
		t.Errorf("notFound = %v", res["notFound"])
	}
	m := res["list"].([]any)[0].(map[string]any)
	hb := m["htmlBody"].([]any)[0].(map[string]any)
	if len(hb) != 4 || hb["partId"] != "1" || hb["type"] != "text/html" {
		t.Errorf("htmlBody part = %v", hb)
	}
	if v := m["bodyValues"].(map[string]any)["1"].(map[string]any); !strings.Contains(v["value"].(string), "<b>Joe</b>") || v["isTruncated"] != false {
		t.Errorf("body value = %v", v)
	}
	if m["mailboxIds"].(map[string]any)[inbox] != true || m["subject"] != "Dinner on Thursday?" {
		t.Errorf("email = %v", m)
	}
}
