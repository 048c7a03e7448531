package jmap_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSessionResource(t *testing.T) {
	e := newEnv(t)
	var s map[string]any
	e.getJSON("/.well-known/jmap", &s)
	caps := s["capabilities"].(map[string]any)
	core := caps["urn:ietf:params:jmap:core"].(map[string]any)
	for _, k := range []string{"maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest", "maxConcurrentRequests", "maxCallsInRequest", "maxObjectsInGet", "maxObjectsInSet"} {
		if n, ok := core[k].(float64); !ok || n <= 0 {
			t.Errorf("core capability %s = %v", k, core[k])
		}
	}
	if _, ok := caps["urn:ietf:params:jmap:mail"]; !ok {
		t.Error("no mail capability")
	}
	acct := s["accounts"].(map[string]any)[e.acct].(map[string]any)
	if acct["name"] != "alice@example.test" || acct["isPersonal"] != true || acct["isReadOnly"] != false {
		t.Errorf("account = %v", acct)
	}
	mail := acct["accountCapabilities"].(map[string]any)["urn:ietf:params:jmap:mail"].(map[string]any)
	if mail["maxMailboxesPerEmail"].(float64) != 1 {
		t.Errorf("maxMailboxesPerEmail = %v", mail["maxMailboxesPerEmail"])
	}
	if s["username"] != "alice@example.test" || s["state"] == "" {
		t.Errorf("username %v state %v", s["username"], s["state"])
	}
	for _, k := range []string{"apiUrl", "downloadUrl", "uploadUrl", "eventSourceUrl"} {
		if u := s[k].(string); !strings.HasPrefix(u, e.base+"/") {
			t.Errorf("%s = %q, want under %s", k, u, e.base)
		}
	}
	if !strings.Contains(s["downloadUrl"].(string), "{blobId}") || !strings.Contains(s["eventSourceUrl"].(string), "{types}") {
		t.Errorf("URL templates: %v %v", s["downloadUrl"], s["eventSourceUrl"])
	}
}

func TestRequestLevelErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, body, typ string
		status          int
	}{
		{"not JSON", `{"using": [`, "urn:ietf:params:jmap:error:notJSON", 400},
		{"not a request", `{"using": ["urn:ietf:params:jmap:core"]}`, "urn:ietf:params:jmap:error:notRequest", 400},
		{"bad invocation", `{"using": [], "methodCalls": [["Core/echo", {}]]}`, "urn:ietf:params:jmap:error:notRequest", 400},
		{"unknown capability", `{"using": ["urn:example:nope"], "methodCalls": []}`, "urn:ietf:params:jmap:error:unknownCapability", 400},
		{"too many calls", fmt.Sprintf(`{"using": ["urn:ietf:params:jmap:core"], "methodCalls": [%s]}`,
			strings.TrimSuffix(strings.Repeat(`["Core/echo", {}, "c"],`, 65), ",")), "urn:ietf:params:jmap:error:limit", 400},
		{"too large", `{"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {"x": "` + strings.Repeat("a", 11<<20) + `"}, "c"]]}`,
			"urn:ietf:params:jmap:error:limit", 413},
	} {
		status, body := e.post([]byte(c.body))
		var p map[string]any
		json.Unmarshal(body, &p)
		if status != c.status || p["type"] != c.typ {
			t.Errorf("%s: %d %v, want %d %s", c.name, status, p, c.status, c.typ)
		}
		if c.typ == "urn:ietf:params:jmap:error:limit" && p["limit"] == nil {
			t.Errorf("%s: no limit property: %v", c.name, p)
		}
	}
}

// TestEcho is RFC 8620 §4.1's example.
func TestEcho(t *testing.T) {
	e := newEnv(t)
	r := e.api(inv{"Core/echo", map[string]any{"hello": true, "high": 5}, "b3ff"})
	name, args := decodeInv(t, r.MethodResponses[0])
	var id string
	json.Unmarshal(r.MethodResponses[0][2], &id)
	if name != "Core/echo" || args["hello"] != true || args["high"] != float64(5) || id != "b3ff" {
		t.Errorf("echo = %s %v %s", name, args, id)
	}
	if r.SessionState == "" {
		t.Error("no sessionState")
	}
}

func TestMethodLevelErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name string
		args map[string]any
		want string
	}{
		{"Foo/bar", map[string]any{}, "unknownMethod"},
		{"Mailbox/get", map[string]any{"accountId": "A999"}, "accountNotFound"},
		{"Mailbox/get", map[string]any{"bogus": 1}, "invalidArguments"},
		{"Mailbox/get", map[string]any{"ids": "not a list"}, "invalidArguments"},
		{"Mailbox/changes", map[string]any{"sinceState": "garbage"}, "cannotCalculateChanges"},
		{"Email/query", map[string]any{"sort": []any{map[string]any{"property": "color"}}}, "unsupportedSort"},
		{"Email/query", map[string]any{"filter": map[string]any{"header": []string{"X-Foo"}}}, "unsupportedFilter"},
		{"Email/query", map[string]any{"filter": map[string]any{"operator": "XOR", "conditions": []any{}}}, "invalidArguments"},
		{"Email/query", map[string]any{"anchor": "E99999"}, "anchorNotFound"},
		{"Email/get", map[string]any{"ids": []string{}, "properties": []string{"header:From:asDate"}}, "invalidArguments"},
		{"Mailbox/set", map[string]any{"ifInState": "1-1"}, "stateMismatch"},
	} {
		if got := e.callErr(c.name, c.args); got != c.want {
			t.Errorf("%s %v: %s, want %s", c.name, c.args, got, c.want)
		}
	}
	ids := make([]string, 501)
	for i := range ids {
		ids[i] = fmt.Sprintf("E%d", i+1)
	}
	if got := e.callErr("Email/get", map[string]any{"ids": ids}); got != "requestTooLarge" {
		t.Errorf("501 ids: %s, want requestTooLarge", got)
	}
	// A method of a capability the request does not use is unknown.
	b := []byte(`{"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Mailbox/get", {"accountId": "` + e.acct + `"}, "c"]]}`)
	_, body := e.post(b)
	if !strings.Contains(string(body), "unknownMethod") {
		t.Errorf("Mailbox/get without the mail capability: %s", body)
	}
}

// TestResultReferences runs RFC 8620 §3.7's example: the newest emails,
// their threads, and all emails of those threads, in one request.
func TestResultReferences(t *testing.T) {
	e := newEnv(t)
	inbox := e.mailboxes()["inbox"]
	root := e.importMessage(inbox, []byte("Subject: root\r\nMessage-ID: <root@x>\r\n\r\nhello\r\n"), nil)
	reply := e.importMessage(inbox, []byte("Subject: Re: root\r\nMessage-ID: <r1@x>\r\nIn-Reply-To: <root@x>\r\n\r\nreply\r\n"), nil)
	r := e.api(
		inv{"Email/query", map[string]any{"accountId": e.acct, "filter": map[string]any{"inMailbox": inbox},
			"sort": []any{map[string]any{"property": "receivedAt", "isAscending": false}}, "collapseThreads": true, "position": 0, "limit": 10}, "t0"},
		inv{"Email/get", map[string]any{"accountId": e.acct, "#ids": map[string]any{"resultOf": "t0", "name": "Email/query", "path": "/ids"},
			"properties": []string{"threadId"}}, "t1"},
		inv{"Thread/get", map[string]any{"accountId": e.acct, "#ids": map[string]any{"resultOf": "t1", "name": "Email/get", "path": "/list/*/threadId"}}, "t2"},
		inv{"Email/get", map[string]any{"accountId": e.acct, "#ids": map[string]any{"resultOf": "t2", "name": "Thread/get", "path": "/list/*/emailIds"},
			"properties": []string{"subject"}}, "t3"},
	)
	if len(r.MethodResponses) != 4 {
		t.Fatalf("%d responses", len(r.MethodResponses))
	}
	_, q := decodeInv(t, r.MethodResponses[0])
	if ids := q["ids"].([]any); len(ids) != 1 {
		t.Errorf("collapsed query ids = %v, want one thread", ids)
	}
	_, th := decodeInv(t, r.MethodResponses[2])
	thread := th["list"].([]any)[0].(map[string]any)
	if got := fmt.Sprint(thread["emailIds"]); got != fmt.Sprint([]any{root, reply}) {
		t.Errorf("thread emailIds = %s, want [%s %s]", got, root, reply)
	}
	_, all := decodeInv(t, r.MethodResponses[3])
	if n := len(all["list"].([]any)); n != 2 {
		t.Errorf("emails of the thread: %d", n)
	}

	// Errors: a call that does not exist, the wrong name, a path that
	// does not match, and both "ids" and "#ids".
	for _, ref := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"#ids": map[string]any{"resultOf": "nope", "name": "Email/query", "path": "/ids"}}, "invalidResultReference"},
		{map[string]any{"#ids": map[string]any{"resultOf": "q", "name": "Email/get", "path": "/ids"}}, "invalidResultReference"},
		{map[string]any{"#ids": map[string]any{"resultOf": "q", "name": "Email/query", "path": "/nothing/here"}}, "invalidResultReference"},
		{map[string]any{"ids": []string{}, "#ids": map[string]any{"resultOf": "q", "name": "Email/query", "path": "/ids"}}, "invalidArguments"},
	} {
		ref.args["accountId"] = e.acct
		r := e.api(inv{"Email/query", map[string]any{"accountId": e.acct}, "q"}, inv{"Email/get", ref.args, "g"})
		name, out := decodeInv(t, r.MethodResponses[1])
		if name != "error" || out["type"] != ref.want {
			t.Errorf("reference %v: %s %v, want %s", ref.args, name, out, ref.want)
		}
	}
}
