package jmap_test

import (
	"fmt"
	"testing"
)

// TestAccountIsolation: nothing of one account is visible or changeable
// through another, whatever ids the other sends.
func TestAccountIsolation(t *testing.T) {
	alice := newEnv(t)
	mbs := alice.mailboxes()
	id := alice.importMessage(mbs["inbox"], []byte("From: a@example.test\r\nSubject: private\r\nMessage-ID: <p@x>\r\n\r\nsecret\r\n"), nil)
	thread := alice.getEmail(id, "threadId")["threadId"].(string)
	bob := alice.as("bob@example.test")
	if got := bob.callErr("Email/get", map[string]any{"accountId": alice.acct, "ids": []string{id}}); got != "accountNotFound" {
		t.Errorf("bob names alice's account: %s", got)
	}
	checks := []struct {
		name string
		args map[string]any
		key  string
	}{
		{"Email/get", map[string]any{"ids": []string{id}}, "notFound"},
		{"Thread/get", map[string]any{"ids": []string{thread}}, "notFound"},
		{"Mailbox/get", map[string]any{"ids": []string{mbs["inbox"]}}, "notFound"},
		{"SearchSnippet/get", map[string]any{"emailIds": []string{id}, "filter": map[string]any{"text": "secret"}}, "notFound"},
		{"Email/set", map[string]any{"update": map[string]any{id: map[string]any{"keywords/$seen": true}}}, "notUpdated"},
		{"Email/set", map[string]any{"destroy": []string{id}}, "notDestroyed"},
		{"Mailbox/set", map[string]any{"destroy": []string{mbs["archive"]}}, "notDestroyed"},
		{"Mailbox/set", map[string]any{"update": map[string]any{mbs["archive"]: map[string]any{"name": "Mine"}}}, "notUpdated"},
	}
	for _, c := range checks {
		res := bob.call(c.name, c.args)
		if v := fmt.Sprint(res[c.key]); v == "[]" || v == "map[]" || v == "<nil>" {
			t.Errorf("%s %v: %s = %v", c.name, c.args, c.key, res[c.key])
		}
	}
	// A filter on alice's mailbox finds nothing; copying into it fails.
	if q := bob.call("Email/query", map[string]any{"filter": map[string]any{"inMailbox": mbs["inbox"]}}); len(q["ids"].([]any)) != 0 {
		t.Errorf("bob's query of alice's inbox: %v", q["ids"])
	}
	res := bob.call("Email/set", map[string]any{"create": map[string]any{"x": map[string]any{"mailboxIds": map[string]bool{mbs["inbox"]: true}, "subject": "planted"}}})
	if res["notCreated"].(map[string]any)["x"] == nil {
		t.Errorf("bob created an email in alice's inbox: %v", res["created"])
	}
	// Alice's message is untouched.
	if m := alice.getEmail(id, "keywords", "mailboxIds"); js(m["keywords"]) != "{}" || js(m["mailboxIds"]) != `{"`+mbs["inbox"]+`":true}` {
		t.Errorf("alice's message changed: %v", m)
	}
}
