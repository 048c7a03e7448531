package jmap_test

import (
	"fmt"
	"slices"
	"testing"
)

func TestMailboxGet(t *testing.T) {
	e := newEnv(t)
	res := e.call("Mailbox/get", map[string]any{"ids": nil})
	roles := map[string]map[string]any{}
	for _, m := range res["list"].([]any) {
		mb := m.(map[string]any)
		if r, ok := mb["role"].(string); ok {
			roles[r] = mb
		}
	}
	for _, r := range []string{"inbox", "sent", "drafts", "trash", "junk", "archive"} {
		if roles[r] == nil {
			t.Errorf("no mailbox with role %s", r)
		}
	}
	inbox := roles["inbox"]
	if inbox["name"] != "INBOX" || inbox["parentId"] != nil || inbox["totalEmails"] != float64(0) {
		t.Errorf("inbox = %v", inbox)
	}
	rights := inbox["myRights"].(map[string]any)
	if rights["mayDelete"] != false || rights["mayRename"] != false || rights["mayAddItems"] != true {
		t.Errorf("inbox rights = %v", rights)
	}
	if roles["trash"]["myRights"].(map[string]any)["mayDelete"] != true {
		t.Error("trash may not be deleted?")
	}
	e.sendSMTP("bob@example.test", "alice@example.test", "From: bob@example.test\nSubject: hi\n\nhello\n")
	e.sendSMTP("bob@example.test", "alice@example.test", "From: bob@example.test\nSubject: hi again\nIn-Reply-To: <none@x>\n\nhello\n")
	id := inbox["id"].(string)
	waitFor(t, "two messages in the inbox", func() bool {
		r := e.call("Mailbox/get", map[string]any{"ids": []string{id}, "properties": []string{"totalEmails"}})
		return r["list"].([]any)[0].(map[string]any)["totalEmails"] == float64(2)
	})
	r := e.call("Mailbox/get", map[string]any{"ids": []string{id, "M999999", "bogus"}, "properties": []string{"unreadEmails", "totalThreads", "unreadThreads"}})
	got := r["list"].([]any)[0].(map[string]any)
	if got["unreadEmails"] != float64(2) || got["totalThreads"] != float64(2) || got["unreadThreads"] != float64(2) || got["name"] != nil {
		t.Errorf("counts = %v (and only the asked properties)", got)
	}
	if nf := fmt.Sprint(r["notFound"]); nf != "[M999999 bogus]" {
		t.Errorf("notFound = %s", nf)
	}
}

func TestMailboxSet(t *testing.T) {
	e := newEnv(t)
	before := e.call("Mailbox/get", map[string]any{"ids": []string{}})["state"].(string)
	res := e.call("Mailbox/set", map[string]any{"create": map[string]any{
		"child":  map[string]any{"name": "Child", "parentId": "#parent"},
		"parent": map[string]any{"name": "Projects", "isSubscribed": true},
		"bad":    map[string]any{"name": "a/b"},
		"dup":    map[string]any{"name": "Dup", "role": "trash"},
		"inbox":  map[string]any{"name": "inbox"},
		"ro":     map[string]any{"name": "X", "totalEmails": 3},
	}})
	created := res["created"].(map[string]any)
	if created["parent"] == nil || created["child"] == nil {
		t.Fatalf("created = %v; notCreated = %v", created, res["notCreated"])
	}
	nc := res["notCreated"].(map[string]any)
	for k, want := range map[string]string{"bad": "invalidProperties", "dup": "invalidProperties", "inbox": "alreadyExists", "ro": "invalidProperties"} {
		if e, _ := nc[k].(map[string]any); e == nil || e["type"] != want {
			t.Errorf("notCreated[%s] = %v, want %s", k, nc[k], want)
		}
	}
	if res["oldState"] != before || res["newState"] == before {
		t.Errorf("states %v -> %v (before %s)", res["oldState"], res["newState"], before)
	}
	parent := created["parent"].(map[string]any)["id"].(string)
	child := created["child"].(map[string]any)["id"].(string)
	get := func(id string) map[string]any {
		r := e.call("Mailbox/get", map[string]any{"ids": []string{id}})
		if l := r["list"].([]any); len(l) == 1 {
			return l[0].(map[string]any)
		}
		return nil
	}
	if c := get(child); c["name"] != "Child" || c["parentId"] != parent {
		t.Errorf("child = %v", c)
	}
	if p := get(parent); p["isSubscribed"] != true {
		t.Errorf("parent = %v", p)
	}
	// Rename the parent, move the child to the top, give it a role.
	res = e.call("Mailbox/set", map[string]any{"update": map[string]any{
		parent: map[string]any{"name": "Work"},
		child:  map[string]any{"parentId": nil, "role": "flagged"},
	}})
	if len(res["updated"].(map[string]any)) != 2 {
		t.Fatalf("updated = %v, notUpdated = %v", res["updated"], res["notUpdated"])
	}
	if c := get(child); c["name"] != "Child" || c["parentId"] != nil || c["role"] != "flagged" {
		t.Errorf("moved child = %v", c)
	}
	if p := get(parent); p["name"] != "Work" {
		t.Errorf("renamed parent = %v", p)
	}
	// A mailbox cannot go below itself; the inbox cannot be renamed.
	inbox := e.mailboxes()["inbox"]
	e.call("Mailbox/set", map[string]any{"update": map[string]any{child: map[string]any{"parentId": parent}}})
	res = e.call("Mailbox/set", map[string]any{"update": map[string]any{
		parent: map[string]any{"parentId": child},
		inbox:  map[string]any{"name": "Other"},
	}})
	nu := res["notUpdated"].(map[string]any)
	if nu[parent] == nil || nu[inbox] == nil {
		t.Errorf("notUpdated = %v", nu)
	}
	// Destroy: children first, and not while it has email.
	e.importMessage(child, []byte("Subject: x\r\n\r\nx\r\n"), nil)
	res = e.call("Mailbox/set", map[string]any{"destroy": []string{parent, child, inbox}})
	nd := res["notDestroyed"].(map[string]any)
	for id, want := range map[string]string{parent: "mailboxHasChild", child: "mailboxHasEmail", inbox: "forbidden"} {
		if e, _ := nd[id].(map[string]any); e == nil || e["type"] != want {
			t.Errorf("notDestroyed[%s] = %v, want %s", id, nd[id], want)
		}
	}
	res = e.call("Mailbox/set", map[string]any{"destroy": []string{child}, "onDestroyRemoveEmails": true})
	if fmt.Sprint(res["destroyed"]) != fmt.Sprint([]any{child}) {
		t.Errorf("destroy with emails: %v %v", res["destroyed"], res["notDestroyed"])
	}
	res = e.call("Mailbox/set", map[string]any{"destroy": []string{parent}})
	if len(res["destroyed"].([]any)) != 1 {
		t.Errorf("destroy of the empty parent: %v", res["notDestroyed"])
	}
}

func TestMailboxChanges(t *testing.T) {
	e := newEnv(t)
	s0 := e.call("Mailbox/get", map[string]any{"ids": []string{}})["state"].(string)
	res := e.call("Mailbox/changes", map[string]any{"sinceState": s0})
	if res["newState"] != s0 || len(res["created"].([]any))+len(res["updated"].([]any))+len(res["destroyed"].([]any)) != 0 {
		t.Errorf("no changes: %v", res)
	}
	mbs := e.mailboxes()
	set := e.call("Mailbox/set", map[string]any{"create": map[string]any{"n": map[string]any{"name": "New"}}})
	newID := set["created"].(map[string]any)["n"].(map[string]any)["id"].(string)
	res = e.call("Mailbox/changes", map[string]any{"sinceState": s0})
	if fmt.Sprint(res["created"]) != fmt.Sprint([]any{newID}) || len(res["updated"].([]any)) != 0 {
		t.Errorf("after create: %v", res)
	}
	s1 := res["newState"].(string)
	// New mail changes only the counts of the inbox.
	e.importMessage(mbs["inbox"], []byte("Subject: x\r\n\r\nx\r\n"), nil)
	res = e.call("Mailbox/changes", map[string]any{"sinceState": s1})
	if fmt.Sprint(res["updated"]) != fmt.Sprint([]any{mbs["inbox"]}) || fmt.Sprint(res["updatedProperties"]) != "[totalEmails unreadEmails totalThreads unreadThreads]" {
		t.Errorf("after new mail: updated %v props %v", res["updated"], res["updatedProperties"])
	}
	s2 := res["newState"].(string)
	e.call("Mailbox/set", map[string]any{"update": map[string]any{mbs["archive"]: map[string]any{"name": "Old"}}, "destroy": []string{newID}})
	res = e.call("Mailbox/changes", map[string]any{"sinceState": s2})
	if fmt.Sprint(res["updated"]) != fmt.Sprint([]any{mbs["archive"]}) || fmt.Sprint(res["destroyed"]) != fmt.Sprint([]any{newID}) || res["updatedProperties"] != nil {
		t.Errorf("after rename and destroy: %v", res)
	}
	if got := e.callErr("Mailbox/changes", map[string]any{"sinceState": s0, "maxChanges": 1}); got != "cannotCalculateChanges" {
		t.Errorf("more changes than maxChanges: %s", got)
	}
}

func TestMailboxQuery(t *testing.T) {
	e := newEnv(t)
	set := e.call("Mailbox/set", map[string]any{"create": map[string]any{
		"a": map[string]any{"name": "Alpha"}, "b": map[string]any{"name": "beta", "parentId": "#a"},
	}})
	a := set["created"].(map[string]any)["a"].(map[string]any)["id"].(string)
	b := set["created"].(map[string]any)["b"].(map[string]any)["id"].(string)
	mbs := e.mailboxes()
	ids := func(r map[string]any) []string {
		var out []string
		for _, id := range r["ids"].([]any) {
			out = append(out, id.(string))
		}
		return out
	}
	r := e.call("Mailbox/query", map[string]any{"filter": map[string]any{"role": "inbox"}})
	if fmt.Sprint(ids(r)) != fmt.Sprint([]string{mbs["inbox"]}) {
		t.Errorf("role inbox: %v", ids(r))
	}
	r = e.call("Mailbox/query", map[string]any{"filter": map[string]any{"parentId": a}})
	if fmt.Sprint(ids(r)) != fmt.Sprint([]string{b}) {
		t.Errorf("children of Alpha: %v", ids(r))
	}
	r = e.call("Mailbox/query", map[string]any{"filter": map[string]any{"hasAnyRole": false}, "sort": []any{map[string]any{"property": "name"}}, "calculateTotal": true})
	if fmt.Sprint(ids(r)) != fmt.Sprint([]string{a, b}) || r["total"] != float64(2) {
		t.Errorf("without role by name: %v total %v", ids(r), r["total"])
	}
	r = e.call("Mailbox/query", map[string]any{"sort": []any{map[string]any{"property": "sortOrder"}, map[string]any{"property": "name"}}, "sortAsTree": true})
	got := ids(r)
	if got[0] != mbs["inbox"] || slices.Index(got, b) != slices.Index(got, a)+1 {
		t.Errorf("as tree: %v (inbox first, beta right after alpha)", got)
	}
	r = e.call("Mailbox/query", map[string]any{"filter": map[string]any{"name": "ET"}, "filterAsTree": true})
	if len(ids(r)) != 0 {
		t.Errorf("filterAsTree: beta's parent does not match, so neither does beta: %v", ids(r))
	}
	r = e.call("Mailbox/query", map[string]any{"position": -2, "limit": 1})
	if len(ids(r)) != 1 || r["position"] != float64(len(mbs)-2) {
		t.Errorf("negative position: %v at %v", ids(r), r["position"])
	}
}
