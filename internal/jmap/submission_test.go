package jmap_test

import (
	"fmt"
	"strings"
	"testing"

	"posthorn/internal/config"
	"posthorn/internal/queue/smtpsink"
	"posthorn/internal/servertest"
)

// TestEmailSubmission sends a draft the way RFC 8621 §7.5's example does:
// Email/set creates it, EmailSubmission/set sends it, and
// onSuccessUpdateEmail moves it from Drafts to Sent and clears $draft.
func TestEmailSubmission(t *testing.T) {
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	e := newEnv(t, servertest.WithConfig(func(c *config.Config) {
		c.Queue.Routes = []config.Route{{Domain: "remote.test", Host: sink.Addr()}}
	}))
	e.srv.AddUser(t, "carol@example.test")
	mbs := e.mailboxes()
	ident := e.call("Identity/get", map[string]any{"ids": nil})["list"].([]any)[0].(map[string]any)["id"].(string)
	r := e.api(
		inv{"Email/set", map[string]any{"accountId": e.acct, "create": map[string]any{"draft": map[string]any{
			"mailboxIds": map[string]bool{mbs["drafts"]: true},
			"keywords":   map[string]bool{"$draft": true, "$seen": true},
			"from":       []any{map[string]any{"email": "alice@example.test"}},
			"to":         []any{map[string]any{"name": "Bob", "email": "bob@example.test"}},
			"cc":         []any{map[string]any{"email": "someone@remote.test"}},
			"bcc":        []any{map[string]any{"email": "carol@example.test"}},
			"subject":    "Plans",
			"textBody":   []any{map[string]any{"partId": "1", "type": "text/plain"}},
			"bodyValues": map[string]any{"1": map[string]any{"value": "See you at eight."}},
		}}}, "0"},
		inv{"EmailSubmission/set", map[string]any{"accountId": e.acct,
			"create": map[string]any{"sub": map[string]any{"identityId": ident, "emailId": "#draft"}},
			"onSuccessUpdateEmail": map[string]any{"#sub": map[string]any{
				"mailboxIds/" + mbs["drafts"]: nil, "mailboxIds/" + mbs["sent"]: true, "keywords/$draft": nil,
			}}}, "1"},
	)
	if len(r.MethodResponses) != 3 {
		t.Fatalf("%d responses: %s", len(r.MethodResponses), js(r.MethodResponses))
	}
	name, sub := decodeInv(t, r.MethodResponses[1])
	created, _ := sub["created"].(map[string]any)["sub"].(map[string]any)
	if name != "EmailSubmission/set" || created == nil || created["undoStatus"] != "final" {
		t.Fatalf("submission: %s %v", name, sub)
	}
	name, upd := decodeInv(t, r.MethodResponses[2])
	draftID := r.CreatedIDs["draft"]
	if draftID == "" {
		_, set := decodeInv(t, r.MethodResponses[0])
		draftID = set["created"].(map[string]any)["draft"].(map[string]any)["id"].(string)
	}
	if name != "Email/set" || upd["updated"].(map[string]any)[draftID] == nil && len(upd["updated"].(map[string]any)) != 1 {
		t.Fatalf("implicit Email/set: %s %v", name, upd)
	}
	m := e.getEmail(draftID, "mailboxIds", "keywords")
	if js(m["mailboxIds"]) != `{"`+mbs["sent"]+`":true}` || js(m["keywords"]) != `{"$seen":true}` {
		t.Errorf("sent copy = %v", m)
	}
	// Bob and Carol got it; neither sees the Bcc.
	for _, user := range []string{"bob@example.test", "carol@example.test"} {
		o := e.as(user)
		inbox := o.mailboxes()["inbox"]
		var ids []any
		waitFor(t, "delivery to "+user, func() bool {
			ids = o.call("Email/query", map[string]any{"filter": map[string]any{"inMailbox": inbox}})["ids"].([]any)
			return len(ids) == 1
		})
		got := o.getEmail(ids[0].(string), "subject", "bcc", "from", "header:Received")
		if got["subject"] != "Plans" || got["bcc"] != nil || !strings.Contains(fmt.Sprint(got["header:Received"]), "jmap") {
			t.Errorf("%s received %v", user, got)
		}
	}
	// The remote recipient went out through the queue, without the Bcc.
	var out []smtpsink.Message
	waitFor(t, "the queue to deliver to remote.test", func() bool { out = sink.Messages(); return len(out) > 0 })
	if m := out[0]; m.From != "alice@example.test" || fmt.Sprint(m.Rcpts) != "[someone@remote.test]" ||
		strings.Contains(string(m.Data), "carol@") || !strings.Contains(string(m.Data), "See you at eight.") {
		t.Errorf("remote delivery: from %s to %v:\n%s", m.From, m.Rcpts, m.Data)
	}
}

func TestEmailSubmissionErrors(t *testing.T) {
	e := newEnv(t)
	mbs := e.mailboxes()
	ident := e.call("Identity/get", map[string]any{"ids": nil})["list"].([]any)[0].(map[string]any)["id"].(string)
	draft := func(to string) string {
		raw := "From: alice@example.test\r\nSubject: x\r\n"
		if to != "" {
			raw += "To: " + to + "\r\n"
		}
		return e.importMessage(mbs["drafts"], []byte(raw+"\r\nx\r\n"), map[string]bool{"$draft": true})
	}
	for _, c := range []struct {
		name string
		sub  map[string]any
		want string
	}{
		{"unknown identity", map[string]any{"identityId": "Ixxx", "emailId": draft("bob@example.test")}, "invalidProperties"},
		{"unknown email", map[string]any{"identityId": ident, "emailId": "E99999"}, "invalidProperties"},
		{"no recipients", map[string]any{"identityId": ident, "emailId": draft("")}, "noRecipients"},
		{"unknown local user", map[string]any{"identityId": ident, "emailId": draft("nobody@example.test")}, "invalidRecipients"},
		{"someone else's address", map[string]any{"identityId": ident, "emailId": draft("bob@example.test"),
			"envelope": map[string]any{"mailFrom": map[string]any{"email": "bob@example.test"}, "rcptTo": []any{map[string]any{"email": "bob@example.test"}}}}, "forbiddenMailFrom"},
	} {
		res := e.call("EmailSubmission/set", map[string]any{"create": map[string]any{"s": c.sub}})
		if got := res["notCreated"].(map[string]any)["s"]; got == nil || got.(map[string]any)["type"] != c.want {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
	bob := e.as("bob@example.test")
	if n := len(bob.call("Email/query", map[string]any{})["ids"].([]any)); n != 0 {
		t.Errorf("bob got %d messages from failed submissions", n)
	}
}

// TestSubmissionDestroysOnSuccess: onSuccessDestroyEmail removes the sent
// draft, and names only submissions of the same call.
func TestSubmissionDestroysOnSuccess(t *testing.T) {
	e := newEnv(t)
	mbs := e.mailboxes()
	ident := e.call("Identity/get", map[string]any{"ids": nil})["list"].([]any)[0].(map[string]any)["id"].(string)
	draft := e.importMessage(mbs["drafts"], []byte("From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bye\r\n\r\nx\r\n"), map[string]bool{"$draft": true})
	r := e.api(inv{"EmailSubmission/set", map[string]any{"accountId": e.acct,
		"create":                map[string]any{"s": map[string]any{"identityId": ident, "emailId": draft}},
		"onSuccessDestroyEmail": []string{"#s", "#nope"}}, "0"})
	if len(r.MethodResponses) != 2 {
		t.Fatalf("responses: %s", js(r.MethodResponses))
	}
	name, set := decodeInv(t, r.MethodResponses[1])
	if name != "Email/set" || js(set["destroyed"]) != `["`+draft+`"]` {
		t.Errorf("implicit %s: %v", name, set)
	}
	if e.getEmail(draft, "id") != nil {
		t.Error("the draft survived")
	}
}
