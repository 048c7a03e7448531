package jmap_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// eventStream reads server-sent events (event name and data).
type eventStream struct {
	t      *testing.T
	resp   *http.Response
	events chan [2]string
}

func (e *env) openEvents(query string) *eventStream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/jmap/eventsource?"+query, nil)
	req.SetBasicAuth(e.user, "password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		e.t.Fatalf("event source: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	es := &eventStream{t: e.t, resp: resp, events: make(chan [2]string, 16)}
	go func() {
		defer close(es.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				data = line[len("data: "):]
			case line == "":
				es.events <- [2]string{name, data}
				name, data = "", ""
			}
		}
	}()
	return es
}

// next returns the next event; ok is false when the stream ended.
func (es *eventStream) next() (name string, data map[string]any, ok bool) {
	es.t.Helper()
	select {
	case ev, open := <-es.events:
		if !open {
			return "", nil, false
		}
		json.Unmarshal([]byte(ev[1]), &data)
		return ev[0], data, true
	case <-time.After(20 * time.Second):
		es.t.Fatal("no event")
	}
	return "", nil, false
}

func TestEventSource(t *testing.T) {
	e := newEnv(t)
	es := e.openEvents("types=*&closeafter=no&ping=0")
	name, first, _ := es.next()
	states := first["changed"].(map[string]any)[e.acct].(map[string]any)
	if name != "state" || first["@type"] != "StateChange" || states["Email"] == nil || states["Mailbox"] == nil || states["EmailDelivery"] == nil {
		t.Fatalf("first event %s %v", name, first)
	}
	e.sendSMTP("bob@example.test", "alice@example.test", "From: bob@example.test\nSubject: push\n\nhello\n")
	_, second, _ := es.next()
	now := second["changed"].(map[string]any)[e.acct].(map[string]any)
	if now["Email"] == states["Email"] || now["EmailDelivery"] == states["EmailDelivery"] {
		t.Errorf("after delivery: %v, before %v", now, states)
	}
	// The pushed state is the one /changes starts from.
	res := e.call("Email/changes", map[string]any{"sinceState": states["Email"]})
	if len(res["created"].([]any)) != 1 || res["newState"] != now["Email"] {
		t.Errorf("changes since the first pushed state: %v (pushed %v)", res, now["Email"])
	}
	// A flag change changes Email but not EmailDelivery.
	id := res["created"].([]any)[0].(string)
	e.call("Email/set", map[string]any{"update": map[string]any{id: map[string]any{"keywords/$seen": true}}})
	_, third, _ := es.next()
	after := third["changed"].(map[string]any)[e.acct].(map[string]any)
	if after["Email"] == now["Email"] || after["EmailDelivery"] != now["EmailDelivery"] {
		t.Errorf("after a flag change: %v, before %v", after, now)
	}
}

func TestEventSourceOptions(t *testing.T) {
	e := newEnv(t)
	es := e.openEvents("types=Mailbox&closeafter=state&ping=1")
	_, first, _ := es.next()
	if got := first["changed"].(map[string]any)[e.acct].(map[string]any); len(got) != 1 || got["Mailbox"] == nil {
		t.Errorf("types=Mailbox: %v", got)
	}
	// The server pings no more often than every 5 seconds, then closes
	// after the first state change (closeafter=state).
	name, ping, _ := es.next()
	if name != "ping" || ping["interval"].(float64) < 5 {
		t.Errorf("ping = %s %v", name, ping)
	}
	e.call("Mailbox/set", map[string]any{"create": map[string]any{"x": map[string]any{"name": "X"}}})
	for {
		name, _, ok := es.next()
		if !ok {
			break
		}
		if name != "state" && name != "ping" {
			t.Errorf("unexpected event %q", name)
		}
	}
	resp := e.do("GET", "/jmap/eventsource?types=Nope", nil, nil)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown type: %d", resp.StatusCode)
	}
}
