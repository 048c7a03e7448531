package useragent

import (
	"reflect"
	"testing"

	"posthorn/internal/useragent/imapclient"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want imapclient.SearchCriteria
	}{
		{[]string{"invoice"}, imapclient.SearchCriteria{Text: []string{"invoice"}}},
		{[]string{"from:bob", "Subject:Quarterly report", "is:unseen"}, imapclient.SearchCriteria{From: []string{"bob"}, Subject: []string{"Quarterly report"}, Unseen: true}},
		{[]string{"to:a", "cc:b", "body:c", "is:Flagged"}, imapclient.SearchCriteria{To: []string{"a"}, Cc: []string{"b"}, Body: []string{"c"}, Flagged: true}},
		{[]string{"re: lunch", "https://x.example/a"}, imapclient.SearchCriteria{Text: []string{"re: lunch", "https://x.example/a"}}},
		{[]string{"Grüße", " "}, imapclient.SearchCriteria{Text: []string{"Grüße"}}},
	} {
		got, err := ParseQuery(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseQuery(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range [][]string{nil, {""}, {"from:"}, {"is:spam"}} {
		if got, err := ParseQuery(bad); err == nil {
			t.Errorf("ParseQuery(%q) = %+v, want an error", bad, got)
		}
	}
}

// FuzzParseQuery: any words either fail or give criteria with something
// to match, and never panic.
func FuzzParseQuery(f *testing.F) {
	f.Add("from:bob", "is:unseen")
	f.Add("subject:", "x")
	f.Add("is:flagged", "body:a:b")
	f.Fuzz(func(t *testing.T, a, b string) {
		c, err := ParseQuery([]string{a, b})
		if err != nil {
			return
		}
		n := len(c.Text) + len(c.From) + len(c.To) + len(c.Cc) + len(c.Subject) + len(c.Body)
		if n == 0 && !c.Unseen && !c.Flagged {
			t.Fatalf("empty criteria from %q %q", a, b)
		}
	})
}
