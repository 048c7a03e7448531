package jmap_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"posthorn/internal/servertest"
)

// env is a whole Posthorn on 127.0.0.1:0 and a JMAP client for one user.
type env struct {
	t      *testing.T
	srv    *servertest.Server
	base   string // http://127.0.0.1:port
	client *http.Client
	user   string
	acct   string // the user's JMAP account id
}

func newEnv(t *testing.T, opts ...servertest.Option) *env {
	t.Helper()
	srv := servertest.Start(t, opts...)
	e := &env{t: t, srv: srv, base: "http://" + srv.Addr("http"), client: &http.Client{Timeout: 30 * time.Second}, user: "alice@example.test"}
	var sess map[string]any
	e.getJSON("/.well-known/jmap", &sess)
	prim, _ := sess["primaryAccounts"].(map[string]any)
	e.acct, _ = prim["urn:ietf:params:jmap:mail"].(string)
	if e.acct == "" {
		t.Fatalf("no primary mail account in %v", sess)
	}
	return e
}

// as returns a client environment for another user of the same server.
func (e *env) as(user string) *env {
	o := &env{t: e.t, srv: e.srv, base: e.base, client: e.client, user: user}
	var sess map[string]any
	o.getJSON("/.well-known/jmap", &sess)
	o.acct = sess["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:mail"].(string)
	return o
}

func (e *env) do(method, path string, body io.Reader, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.SetBasicAuth(e.user, servertest.Password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func (e *env) getJSON(path string, v any) {
	e.t.Helper()
	resp := e.do("GET", path, nil, nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// response is a decoded API response.
type response struct {
	MethodResponses [][]json.RawMessage `json:"methodResponses"`
	CreatedIDs      map[string]string   `json:"createdIds"`
	SessionState    string              `json:"sessionState"`
}

// inv is a method call: name, arguments, call id.
type inv struct {
	name string
	args any
	id   string
}

// api posts a request using core and mail (and submission) and returns
// the raw response.
func (e *env) api(calls ...inv) response {
	e.t.Helper()
	mc := make([][]any, len(calls))
	for i, c := range calls {
		mc[i] = []any{c.name, c.args, c.id}
	}
	req := map[string]any{"using": []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission"}, "methodCalls": mc}
	b, _ := json.Marshal(req)
	status, body := e.post(b)
	if status != 200 {
		e.t.Fatalf("API: %d %s", status, body)
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		e.t.Fatalf("API response: %v: %s", err, body)
	}
	return r
}

func (e *env) post(body []byte) (int, []byte) {
	e.t.Helper()
	resp := e.do("POST", "/jmap/api", bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// call makes one method call and returns its response arguments; it
// fails the test when the response is an error or another method.
func (e *env) call(name string, args map[string]any) map[string]any {
	e.t.Helper()
	if _, ok := args["accountId"]; !ok {
		args["accountId"] = e.acct
	}
	r := e.api(inv{name, args, "c0"})
	n, out := decodeInv(e.t, r.MethodResponses[0])
	if n != name {
		e.t.Fatalf("%s answered %s %v", name, n, out)
	}
	return out
}

// callErr makes one method call that must fail, and returns the error type.
func (e *env) callErr(name string, args map[string]any) string {
	e.t.Helper()
	if _, ok := args["accountId"]; !ok {
		args["accountId"] = e.acct
	}
	r := e.api(inv{name, args, "c0"})
	n, out := decodeInv(e.t, r.MethodResponses[0])
	if n != "error" {
		e.t.Fatalf("%s succeeded, want an error: %v", name, out)
	}
	return out["type"].(string)
}

func decodeInv(t *testing.T, raw []json.RawMessage) (string, map[string]any) {
	t.Helper()
	if len(raw) != 3 {
		t.Fatalf("invocation with %d elements", len(raw))
	}
	var name string
	var args map[string]any
	json.Unmarshal(raw[0], &name)
	if err := json.Unmarshal(raw[1], &args); err != nil {
		t.Fatalf("arguments: %v", err)
	}
	return name, args
}

// mailboxes returns the account's mailboxes by role ("inbox", ...) and by
// name for those without one.
func (e *env) mailboxes() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	res := e.call("Mailbox/get", map[string]any{"ids": nil})
	for _, m := range res["list"].([]any) {
		mb := m.(map[string]any)
		key, _ := mb["role"].(string)
		if key == "" {
			key = mb["name"].(string)
		}
		out[key] = mb["id"].(string)
	}
	return out
}

// sendSMTP delivers a message to rcpt through the server's MX listener
// (without STARTTLS: the test's certificate is self-signed).
func (e *env) sendSMTP(from, rcpt, msg string) {
	e.t.Helper()
	c, err := smtp.Dial(e.srv.Addr("smtp"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	err = c.Hello("client.example.test")
	if err == nil {
		err = c.Mail(from)
	}
	if err == nil {
		err = c.Rcpt(rcpt)
	}
	var w io.WriteCloser
	if err == nil {
		w, err = c.Data()
	}
	if err == nil {
		_, err = w.Write([]byte(strings.ReplaceAll(msg, "\n", "\r\n")))
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		e.t.Fatalf("SMTP to %s: %v", rcpt, err)
	}
	c.Quit()
}

// upload stores a blob and returns its id.
func (e *env) upload(typ string, data []byte) string {
	e.t.Helper()
	resp := e.do("POST", "/jmap/upload/"+e.acct+"/", bytes.NewReader(data), map[string]string{"Content-Type": typ})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		e.t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	var r map[string]any
	json.Unmarshal(b, &r)
	return r["blobId"].(string)
}

// importMessage uploads a message and imports it into a mailbox.
func (e *env) importMessage(mailbox string, data []byte, keywords map[string]bool) string {
	e.t.Helper()
	blob := e.upload("message/rfc822", data)
	if keywords == nil {
		keywords = map[string]bool{}
	}
	res := e.call("Email/import", map[string]any{"emails": map[string]any{"i": map[string]any{
		"blobId": blob, "mailboxIds": map[string]bool{mailbox: true}, "keywords": keywords,
	}}})
	created, ok := res["created"].(map[string]any)["i"].(map[string]any)
	if !ok {
		e.t.Fatalf("import failed: %v", res["notCreated"])
	}
	return created["id"].(string)
}

// waitFor polls cond until it holds (changes reach the store's feed
// asynchronously); it fails the test after a generous time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func str(v any) string { return fmt.Sprint(v) }
