package jmap_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func (e *env) getEmail(id string, props ...string) map[string]any {
	e.t.Helper()
	res := e.call("Email/get", map[string]any{"ids": []string{id}, "properties": props})
	l := res["list"].([]any)
	if len(l) != 1 {
		return nil
	}
	return l[0].(map[string]any)
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestEmailSetUpdate(t *testing.T) {
	e := newEnv(t)
	mbs := e.mailboxes()
	id := e.importMessage(mbs["inbox"], []byte("Subject: x\r\n\r\nx\r\n"), nil)
	res := e.call("Email/set", map[string]any{"update": map[string]any{id: map[string]any{
		"keywords/$seen": true, "keywords/$Flagged": true, "keywords/todo": true,
	}}})
	if _, ok := res["updated"].(map[string]any)[id]; !ok {
		t.Fatalf("update: %v", res["notUpdated"])
	}
	if got := js(e.getEmail(id, "keywords")["keywords"]); got != `{"$flagged":true,"$seen":true,"todo":true}` {
		t.Errorf("keywords = %s", got)
	}
	e.call("Email/set", map[string]any{"update": map[string]any{id: map[string]any{"keywords/$flagged": nil, "keywords/todo": nil}}})
	if got := js(e.getEmail(id, "keywords")["keywords"]); got != `{"$seen":true}` {
		t.Errorf("keywords after removal = %s", got)
	}
	// Move: mailboxIds patched or replaced; the id stays.
	e.call("Email/set", map[string]any{"update": map[string]any{id: map[string]any{
		"mailboxIds/" + mbs["inbox"]: nil, "mailboxIds/" + mbs["archive"]: true,
	}}})
	if got := js(e.getEmail(id, "mailboxIds")["mailboxIds"]); got != `{"`+mbs["archive"]+`":true}` {
		t.Errorf("after move: %s", got)
	}
	e.call("Email/set", map[string]any{"update": map[string]any{id: map[string]any{"mailboxIds": map[string]bool{mbs["trash"]: true}, "keywords": map[string]bool{}}}})
	if m := e.getEmail(id, "mailboxIds", "keywords"); js(m["mailboxIds"]) != `{"`+mbs["trash"]+`":true}` || js(m["keywords"]) != `{}` {
		t.Errorf("after replace: %v", m)
	}
	res = e.call("Email/set", map[string]any{"update": map[string]any{
		id:         map[string]any{"mailboxIds": map[string]bool{mbs["inbox"]: true, mbs["archive"]: true}},
		"E9999999": map[string]any{"keywords/$seen": true},
	}})
	nu := res["notUpdated"].(map[string]any)
	if nu[id].(map[string]any)["type"] != "tooManyMailboxes" || nu["E9999999"].(map[string]any)["type"] != "notFound" {
		t.Errorf("notUpdated = %v", nu)
	}
	for patch, want := range map[string]string{
		`{"subject": "new"}`:                       "invalidProperties",
		`{"keywords": {}, "keywords/$seen": true}`: "invalidPatch",
		`{"keywords/$seen": false}`:                "invalidPatch",
		`{"keywords/bad(kw": true}`:                "invalidProperties",
		`{"mailboxIds": {}}`:                       "invalidProperties",
	} {
		var p map[string]any
		json.Unmarshal([]byte(patch), &p)
		res := e.call("Email/set", map[string]any{"update": map[string]any{id: p}})
		if got := res["notUpdated"].(map[string]any)[id]; got == nil || got.(map[string]any)["type"] != want {
			t.Errorf("patch %s: %v, want %s", patch, got, want)
		}
	}
	res = e.call("Email/set", map[string]any{"destroy": []string{id, "E9999999"}})
	if js(res["destroyed"]) != `["`+id+`"]` || res["notDestroyed"].(map[string]any)["E9999999"] == nil {
		t.Errorf("destroy: %v %v", res["destroyed"], res["notDestroyed"])
	}
	if e.getEmail(id, "id") != nil {
		t.Error("destroyed email still there")
	}
}

func TestEmailSetCreateDraft(t *testing.T) {
	e := newEnv(t)
	mbs := e.mailboxes()
	att := e.upload("text/csv", []byte("a,b\n1,2\n"))
	res := e.call("Email/set", map[string]any{"create": map[string]any{"d": map[string]any{
		"mailboxIds":             map[string]bool{mbs["drafts"]: true},
		"keywords":               map[string]bool{"$draft": true, "$seen": true},
		"from":                   []any{map[string]any{"name": "Alice Ä.", "email": "alice@example.test"}},
		"to":                     []any{map[string]any{"email": "bob@example.test"}},
		"bcc":                    []any{map[string]any{"email": "carol@example.test"}},
		"subject":                "Grüße aus dem Büro",
		"inReplyTo":              []string{"orig@example.test"},
		"textBody":               []any{map[string]any{"partId": "t", "type": "text/plain"}},
		"htmlBody":               []any{map[string]any{"partId": "h", "type": "text/html"}},
		"bodyValues":             map[string]any{"t": map[string]any{"value": "Hallo Bob,\nschöne Grüße\n"}, "h": map[string]any{"value": "<p>Hallo <b>Bob</b></p>"}},
		"attachments":            []any{map[string]any{"blobId": att, "type": "text/csv", "name": "data.csv"}},
		"header:X-Mailer:asText": "posthorn test",
	}}})
	c, ok := res["created"].(map[string]any)["d"].(map[string]any)
	if !ok {
		t.Fatalf("create: %v", res["notCreated"])
	}
	for _, k := range []string{"id", "blobId", "threadId", "size"} {
		if c[k] == nil {
			t.Errorf("created lacks %s: %v", k, c)
		}
	}
	m := e.getEmail(c["id"].(string), "subject", "from", "to", "bcc", "keywords", "inReplyTo", "textBody", "htmlBody", "attachments",
		"bodyValues", "header:X-Mailer:asText", "mailboxIds", "hasAttachment")
	if m["subject"] != "Grüße aus dem Büro" || js(m["from"]) != `[{"email":"alice@example.test","name":"Alice Ä."}]` ||
		js(m["bcc"]) != `[{"email":"carol@example.test","name":null}]` || js(m["inReplyTo"]) != `["orig@example.test"]` ||
		m["header:X-Mailer:asText"] != "posthorn test" || m["hasAttachment"] != true {
		t.Errorf("draft = %v", m)
	}
	if js(m["keywords"]) != `{"$draft":true,"$seen":true}` {
		t.Errorf("draft keywords = %v", m["keywords"])
	}
	res2 := e.call("Email/get", map[string]any{"ids": []string{c["id"].(string)}, "properties": []string{"bodyValues", "attachments"}, "fetchAllBodyValues": true})
	vals := fmt.Sprint(res2["list"].([]any)[0].(map[string]any)["bodyValues"])
	if !strings.Contains(vals, "schöne Grüße") || !strings.Contains(vals, "<p>Hallo <b>Bob</b></p>") {
		t.Errorf("body values = %s", vals)
	}
	a := res2["list"].([]any)[0].(map[string]any)["attachments"].([]any)
	if len(a) != 1 || a[0].(map[string]any)["name"] != "data.csv" {
		t.Errorf("attachments = %v", a)
	}
	for obj, want := range map[string]string{
		`{"mailboxIds": {}}`: "invalidProperties",
		`{"mailboxIds": {"MBOX": true}, "textBody": [{"partId": "nope", "type": "text/plain"}]}`:                 "invalidProperties",
		`{"mailboxIds": {"MBOX": true}, "attachments": [{"blobId": "U0123456789abcdef", "type": "text/plain"}]}`: "blobNotFound",
		`{"mailboxIds": {"MBOX": true}, "from": [{"email": "no at sign"}]}`:                                      "invalidProperties",
		`{"mailboxIds": {"MBOX": true}, "id": "E1"}`:                                                             "invalidProperties",
	} {
		var o map[string]any
		json.Unmarshal([]byte(strings.ReplaceAll(obj, "MBOX", mbs["drafts"])), &o)
		res := e.call("Email/set", map[string]any{"create": map[string]any{"x": o}})
		if got := res["notCreated"].(map[string]any)["x"]; got == nil || got.(map[string]any)["type"] != want {
			t.Errorf("create %s: %v, want %s", obj, got, want)
		}
	}
}

func TestEmailChanges(t *testing.T) {
	e := newEnv(t)
	mbs := e.mailboxes()
	a := e.importMessage(mbs["inbox"], []byte("Subject: a\r\n\r\na\r\n"), nil)
	b := e.importMessage(mbs["inbox"], []byte("Subject: b\r\n\r\nb\r\n"), nil)
	c := e.importMessage(mbs["inbox"], []byte("Subject: c\r\n\r\nc\r\n"), nil)
	s0 := e.call("Email/get", map[string]any{"ids": []string{}})["state"].(string)
	d := e.importMessage(mbs["inbox"], []byte("Subject: d\r\n\r\nd\r\n"), nil)
	e.call("Email/set", map[string]any{"update": map[string]any{
		a: map[string]any{"keywords/$seen": true},
		b: map[string]any{"mailboxIds": map[string]bool{mbs["archive"]: true}},
	}, "destroy": []string{c}})
	res := e.call("Email/changes", map[string]any{"sinceState": s0})
	if js(res["created"]) != `["`+d+`"]` || len(res["updated"].([]any)) != 2 || js(res["destroyed"]) != `["`+c+`"]` || res["hasMoreChanges"] != false {
		t.Errorf("changes = %v", res)
	}
	s1 := res["newState"].(string)
	res = e.call("Email/changes", map[string]any{"sinceState": s1})
	if len(res["created"].([]any))+len(res["updated"].([]any))+len(res["destroyed"].([]any)) != 0 || res["newState"] != s1 {
		t.Errorf("no changes since the new state: %v", res)
	}
	// Paging with maxChanges walks through every change.
	seen := map[string]bool{}
	cur := s0
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("no progress")
		}
		r := e.call("Email/changes", map[string]any{"sinceState": cur, "maxChanges": 1})
		for _, k := range []string{"created", "updated", "destroyed"} {
			for _, id := range r[k].([]any) {
				seen[id.(string)] = true
			}
		}
		cur = r["newState"].(string)
		if r["hasMoreChanges"] != true {
			break
		}
	}
	if len(seen) != 4 {
		t.Errorf("paged changes saw %v", seen)
	}
	// Thread/changes knows created threads; destroyed emails hide theirs.
	s2 := e.call("Email/get", map[string]any{"ids": []string{}})["state"].(string)
	n := e.importMessage(mbs["inbox"], []byte("Subject: n\r\n\r\nn\r\n"), nil)
	tid := e.getEmail(n, "threadId")["threadId"].(string)
	tc := e.call("Thread/changes", map[string]any{"sinceState": s2})
	if js(tc["created"]) != `["`+tid+`"]` {
		t.Errorf("thread changes = %v", tc)
	}
	if got := e.callErr("Thread/changes", map[string]any{"sinceState": s0}); got != "cannotCalculateChanges" {
		t.Errorf("thread changes over a destroyed email: %s", got)
	}
	// Deleting a mailbox drops its emails without tombstones.
	set := e.call("Mailbox/set", map[string]any{"create": map[string]any{"m": map[string]any{"name": "Tmp"}}})
	tmp := set["created"].(map[string]any)["m"].(map[string]any)["id"].(string)
	e.importMessage(tmp, []byte("Subject: t\r\n\r\nt\r\n"), nil)
	s3 := e.call("Email/get", map[string]any{"ids": []string{}})["state"].(string)
	e.call("Mailbox/set", map[string]any{"destroy": []string{tmp}, "onDestroyRemoveEmails": true})
	if got := e.callErr("Email/changes", map[string]any{"sinceState": s3}); got != "cannotCalculateChanges" {
		t.Errorf("after a mailbox was deleted: %s", got)
	}
	if got := e.callErr("Email/changes", map[string]any{"sinceState": "99999999"}); got != "cannotCalculateChanges" {
		t.Errorf("future state: %s", got)
	}
}
