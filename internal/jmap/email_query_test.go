package jmap_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// queryFixture imports messages with known dates, senders and keywords.
type queryFixture struct {
	e   *env
	mbs map[string]string
	ids []string // in import order
}

func newQueryFixture(t *testing.T) *queryFixture {
	e := newEnv(t)
	q := &queryFixture{e: e, mbs: e.mailboxes()}
	msgs := []struct {
		mbox, from, subject, body string
		day                       int
		kw                        map[string]bool
		attach                    bool
	}{
		{"inbox", "anna@example.test", "Lunch plans", "Shall we meet at noon?", 1, map[string]bool{"$seen": true}, false},
		{"inbox", "bob@example.test", "Quarterly report", "The quarterly numbers are in.", 3, nil, true},
		{"archive", "anna@example.test", "Old news", "Nothing to report here.", 2, map[string]bool{"$flagged": true}, false},
		{"inbox", "carol@example.test", "Re: Lunch plans", "Noon works for me.", 4, map[string]bool{"$seen": true}, false},
	}
	for i, m := range msgs {
		ct := "Content-Type: text/plain\r\n\r\n" + m.body + "\r\n"
		if m.attach {
			ct = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + m.body +
				"\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=r.pdf\r\n\r\nx\r\n--b--\r\n"
		}
		refs := ""
		if strings.HasPrefix(m.subject, "Re:") {
			refs = "In-Reply-To: <m0@example.test>\r\n"
		}
		raw := fmt.Sprintf("From: %s\r\nTo: alice@example.test\r\nSubject: %s\r\nMessage-ID: <m%d@example.test>\r\n%s%s", m.from, m.subject, i, refs, ct)
		blob := e.upload("message/rfc822", []byte(raw))
		kw := m.kw
		if kw == nil {
			kw = map[string]bool{}
		}
		res := e.call("Email/import", map[string]any{"emails": map[string]any{"x": map[string]any{"blobId": blob,
			"mailboxIds": map[string]bool{q.mbs[m.mbox]: true}, "keywords": kw,
			"receivedAt": time.Date(2026, 3, m.day, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)}}})
		q.ids = append(q.ids, res["created"].(map[string]any)["x"].(map[string]any)["id"].(string))
	}
	return q
}

func (q *queryFixture) query(args map[string]any) map[string]any {
	return q.e.call("Email/query", args)
}

func (q *queryFixture) want(idx ...int) string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = q.ids[j]
	}
	return fmt.Sprint(out)
}

func idsOf(r map[string]any) string {
	var out []string
	for _, id := range r["ids"].([]any) {
		out = append(out, id.(string))
	}
	return fmt.Sprint(out)
}

func TestEmailQueryFilters(t *testing.T) {
	q := newQueryFixture(t)
	for _, c := range []struct {
		name   string
		filter any
		want   []int
	}{
		{"inbox", map[string]any{"inMailbox": q.mbs["inbox"]}, []int{3, 1, 0}},
		{"not inbox", map[string]any{"inMailboxOtherThan": []string{q.mbs["inbox"]}}, []int{2}},
		{"unknown mailbox", map[string]any{"inMailbox": "M99999"}, nil},
		{"text", map[string]any{"text": "report"}, []int{1, 2}},
		{"text prefix", map[string]any{"text": "quart"}, []int{1}},
		{"from", map[string]any{"from": "anna"}, []int{2, 0}},
		{"to", map[string]any{"to": "alice@"}, []int{3, 1, 2, 0}},
		{"subject", map[string]any{"subject": "lunch"}, []int{3, 0}},
		{"body", map[string]any{"body": "noon"}, []int{3, 0}},
		{"before", map[string]any{"before": "2026-03-03T00:00:00Z"}, []int{2, 0}},
		{"after", map[string]any{"after": "2026-03-03T00:00:00Z"}, []int{3, 1}},
		{"hasKeyword $seen", map[string]any{"hasKeyword": "$seen"}, []int{3, 0}},
		{"notKeyword $seen", map[string]any{"notKeyword": "$seen"}, []int{1, 2}},
		{"hasKeyword $flagged", map[string]any{"hasKeyword": "$flagged"}, []int{2}},
		{"hasAttachment", map[string]any{"hasAttachment": true}, []int{1}},
		{"minSize", map[string]any{"minSize": 300}, []int{1}},
		{"OR", map[string]any{"operator": "OR", "conditions": []any{map[string]any{"from": "bob"}, map[string]any{"from": "carol"}}}, []int{3, 1}},
		{"NOT", map[string]any{"operator": "NOT", "conditions": []any{map[string]any{"inMailbox": q.mbs["inbox"]}}}, []int{2}},
		{"AND", map[string]any{"operator": "AND", "conditions": []any{map[string]any{"from": "anna"}, map[string]any{"hasKeyword": "$seen"}}}, []int{0}},
	} {
		r := q.query(map[string]any{"filter": c.filter, "calculateTotal": true})
		if got := idsOf(r); got != q.want(c.want...) {
			t.Errorf("%s: %s, want %s", c.name, got, q.want(c.want...))
		}
		if r["total"] != float64(len(c.want)) || r["canCalculateChanges"] != true {
			t.Errorf("%s: total %v canCalculateChanges %v", c.name, r["total"], r["canCalculateChanges"])
		}
	}
}

func TestEmailQuerySortAndWindow(t *testing.T) {
	q := newQueryFixture(t)
	r := q.query(map[string]any{"sort": []any{map[string]any{"property": "receivedAt", "isAscending": true}}})
	if got := idsOf(r); got != q.want(0, 2, 1, 3) {
		t.Errorf("oldest first: %s", got)
	}
	r = q.query(map[string]any{"sort": []any{map[string]any{"property": "from"}, map[string]any{"property": "receivedAt", "isAscending": false}}})
	if got := idsOf(r); got != q.want(2, 0, 1, 3) {
		t.Errorf("by sender then newest: %s", got)
	}
	r = q.query(map[string]any{"sort": []any{map[string]any{"property": "size", "isAscending": false}}, "limit": 1})
	if got := idsOf(r); got != q.want(1) {
		t.Errorf("largest: %s", got)
	}
	r = q.query(map[string]any{"position": 1, "limit": 2, "calculateTotal": true})
	if got := idsOf(r); got != q.want(1, 2) || r["position"] != float64(1) || r["total"] != float64(4) {
		t.Errorf("page 2: %s at %v of %v", got, r["position"], r["total"])
	}
	r = q.query(map[string]any{"position": -1})
	if got := idsOf(r); got != q.want(0) || r["position"] != float64(3) {
		t.Errorf("last: %s at %v", got, r["position"])
	}
	r = q.query(map[string]any{"anchor": q.ids[1], "anchorOffset": 1, "limit": 5})
	if got := idsOf(r); got != q.want(2, 0) || r["position"] != float64(2) {
		t.Errorf("after the anchor: %s at %v", got, r["position"])
	}
	r = q.query(map[string]any{"collapseThreads": true, "calculateTotal": true})
	if got := idsOf(r); got != q.want(3, 1, 2) || r["total"] != float64(3) {
		t.Errorf("collapsed: %s total %v", got, r["total"])
	}
	r = q.query(map[string]any{"limit": 100000})
	if r["limit"] == nil {
		t.Error("a capped limit must be reported")
	}
}

func TestEmailQueryChanges(t *testing.T) {
	q := newQueryFixture(t)
	e := q.e
	args := func() map[string]any {
		return map[string]any{"filter": map[string]any{"inMailbox": q.mbs["inbox"]}, "sort": []any{map[string]any{"property": "receivedAt", "isAscending": false}}}
	}
	r := q.query(args())
	s0 := r["queryState"].(string)
	// New mail arrives; one message leaves the inbox; one changes flags.
	fresh := e.importMessage(q.mbs["inbox"], []byte("From: dave@example.test\r\nSubject: new\r\n\r\nhi\r\n"), nil)
	e.call("Email/set", map[string]any{"update": map[string]any{
		q.ids[1]: map[string]any{"mailboxIds": map[string]bool{q.mbs["archive"]: true}},
		q.ids[0]: map[string]any{"keywords/$flagged": true},
	}})
	a := args()
	a["sinceQueryState"] = s0
	a["calculateTotal"] = true
	qc := e.call("Email/queryChanges", a)
	removed := fmt.Sprint(qc["removed"])
	for _, id := range []string{q.ids[1], q.ids[0], fresh} {
		if !strings.Contains(removed, id) {
			t.Errorf("removed %s lacks %s", removed, id)
		}
	}
	added := map[string]float64{}
	for _, x := range qc["added"].([]any) {
		item := x.(map[string]any)
		added[item["id"].(string)] = item["index"].(float64)
	}
	if len(added) != 2 || added[fresh] != 0 || added[q.ids[0]] != 2 || qc["total"] != float64(3) {
		t.Errorf("added %v total %v", added, qc["total"])
	}
	// Applying the changes to the old list gives the new list.
	now := idsOf(q.query(args()))
	if now != fmt.Sprint([]string{fresh, q.ids[3], q.ids[0]}) {
		t.Errorf("query now: %s", now)
	}
	a["maxChanges"] = 1
	if got := e.callErr("Email/queryChanges", a); got != "tooManyChanges" {
		t.Errorf("maxChanges 1: %s", got)
	}
}

func TestThreadAndSnippets(t *testing.T) {
	q := newQueryFixture(t)
	e := q.e
	m := e.getEmail(q.ids[3], "threadId")
	th := e.call("Thread/get", map[string]any{"ids": []string{m["threadId"].(string), "T99999"}})
	if fmt.Sprint(th["list"].([]any)[0].(map[string]any)["emailIds"]) != q.want(0, 3) || fmt.Sprint(th["notFound"]) != "[T99999]" {
		t.Errorf("thread = %v", th)
	}
	sn := e.call("SearchSnippet/get", map[string]any{"filter": map[string]any{"text": "lunch noon"}, "emailIds": []string{q.ids[0], q.ids[1], "E99999"}})
	list := sn["list"].([]any)
	first := list[0].(map[string]any)
	if first["subject"] != "<mark>Lunch</mark> plans" || !strings.Contains(first["preview"].(string), "<mark>noon</mark>") {
		t.Errorf("snippet = %v", first)
	}
	if second := list[1].(map[string]any); second["subject"] != nil || second["preview"] != nil {
		t.Errorf("no match gives nulls: %v", second)
	}
	if fmt.Sprint(sn["notFound"]) != "[E99999]" {
		t.Errorf("notFound = %v", sn["notFound"])
	}
	sn = e.call("SearchSnippet/get", map[string]any{"filter": map[string]any{"subject": "<b>"}, "emailIds": []string{q.ids[0]}})
	if s := sn["list"].([]any)[0].(map[string]any)["subject"]; s != nil {
		t.Errorf("a term with markup matches nothing here: %v", s)
	}
}

func TestIdentityGet(t *testing.T) {
	e := newEnv(t)
	if _, err := e.srv.Accounts.AddAlias(t.Context(), "boss@example.test", []string{"alice@example.test"}); err != nil {
		t.Fatal(err)
	}
	res := e.call("Identity/get", map[string]any{"ids": nil})
	var emails []string
	for _, x := range res["list"].([]any) {
		id := x.(map[string]any)
		emails = append(emails, id["email"].(string))
		if id["mayDelete"] != false || !strings.HasPrefix(id["id"].(string), "I") {
			t.Errorf("identity = %v", id)
		}
	}
	if fmt.Sprint(emails) != "[alice@example.test boss@example.test]" || res["state"] == "" {
		t.Errorf("identities %v state %v", emails, res["state"])
	}
}
