package mailbox

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"posthorn/internal/store"
)

// plainStore hides store.Searcher, so searches read the messages.
type plainStore struct{ store.Store }

func searchIndex(t *testing.T, scan bool) (*fixture, *Index, *Snapshot) {
	var fx *fixture
	if scan {
		fx = newFixture(t, func(s store.Store) store.Store { return plainStore{s} })
	} else {
		fx = newFixture(t)
	}
	bodies := []string{
		"From: Ann <ann@example.test>\r\nSubject: Budget message\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\nMessage-ID: <a@x>\r\n\r\nThe budget is fine.\r\n",
		"From: Bob <bob@example.test>\r\nSubject: Re: Budget message\r\nDate: Wed, 3 Jan 2024 10:00:00 +0000\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\n\r\nAgreed, marmalade.\r\n",
		"From: Cy <cy@example.test>\r\nSubject: Lunch\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <c@x>\r\n" +
			"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nD=E9jeuner =E0 midi\r\n",
	}
	fx.add("INBOX", len(bodies), func(i int) string { return bodies[i] }, 0)
	ix, err := fx.svc.OpenIndex(fx.ctx, fx.acct.ID, fx.mailbox("INBOX").ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ix.Close)
	snap, _ := ix.Snapshot(fx.ctx)
	return fx, ix, snap
}

func TestSearchCriteria(t *testing.T) {
	for _, scan := range []bool{false, true} {
		t.Run(fmt.Sprintf("scan=%v", scan), func(t *testing.T) {
			fx, ix, snap := searchIndex(t, scan)
			day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
			for name, c := range map[string]struct {
				crit *Criterion
				want []store.UID
			}{
				"body in subject only": {&Criterion{Kind: CritBody, Text: "message"}, nil},
				"text in subject":      {&Criterion{Kind: CritText, Text: "LUNCH"}, []store.UID{3}},
				"body word":            {&Criterion{Kind: CritBody, Text: "Marmalade"}, []store.UID{2}},
				"body charset":         {&Criterion{Kind: CritBody, Text: "déjeuner"}, []store.UID{3}},
				"from":                 {&Criterion{Kind: CritHeader, Header: "from", Text: "BOB"}, []store.UID{2}},
				"header message-id":    {&Criterion{Kind: CritHeader, Header: "Message-ID", Text: "<c@"}, []store.UID{3}},
				"header present":       {&Criterion{Kind: CritHeader, Header: "References"}, []store.UID{2}},
				"sent since":           {&Criterion{Kind: CritSentSince, Day: day(2)}, []store.UID{1, 2}},
				"internal before":      {&Criterion{Kind: CritBefore, Day: day(2)}, []store.UID{1}},
				"not/or":               {&Criterion{Kind: CritNot, Sub: []*Criterion{{Kind: CritOr, Sub: []*Criterion{{Kind: CritUIDs, UIDs: []store.UID{1}}, {Kind: CritSentOn, Day: day(1)}}}}}, []store.UID{2}},
				"unseen and larger":    {&Criterion{Kind: CritAnd, Sub: []*Criterion{{Kind: CritNoFlag, Flag: store.FlagSeen}, {Kind: CritLarger, Size: 100}}}, []store.UID{1, 2, 3}},
				"none":                 {&Criterion{Kind: CritNone}, nil},
			} {
				got, err := ix.Search(fx.ctx, snap, snap.UIDs(), c.crit)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("%s: %v, want %v", name, got, c.want)
				}
			}
		})
	}
}

func TestSortAndThread(t *testing.T) {
	fx, ix, snap := searchIndex(t, false)
	all := snap.UIDs()
	for name, c := range map[string]struct {
		keys []SortKey
		want []store.UID
	}{
		"date":            {[]SortKey{{Field: SortDate}}, []store.UID{3, 1, 2}},
		"reverse date":    {[]SortKey{{Field: SortDate, Reverse: true}}, []store.UID{2, 1, 3}},
		"subject, date":   {[]SortKey{{Field: SortSubject}, {Field: SortDate}}, []store.UID{1, 2, 3}},
		"from":            {[]SortKey{{Field: SortFrom}}, []store.UID{1, 2, 3}},
		"arrival reverse": {[]SortKey{{Field: SortArrival, Reverse: true}}, []store.UID{3, 2, 1}},
	} {
		got, err := ix.Sort(fx.ctx, snap, all, c.keys)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v %v, want %v", name, got, err, c.want)
		}
	}
	threads, err := ix.ThreadReferences(fx.ctx, snap, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(threads) != 2 || threads[0].UID != 3 || threads[1].UID != 1 || len(threads[1].Children) != 1 || threads[1].Children[0].UID != 2 {
		t.Errorf("REFERENCES: %+v %+v", threads[0], threads[1])
	}
	threads, _ = ix.ThreadOrderedSubject(fx.ctx, snap, all)
	if len(threads) != 2 || threads[1].UID != 1 || threads[1].Children[0].UID != 2 {
		t.Errorf("ORDEREDSUBJECT: %+v", threads)
	}
}

func TestThreadLoopsAndDuplicates(t *testing.T) {
	// References that point at each other in a loop, and a duplicate
	// Message-ID, still give every message exactly once.
	fx := newFixture(t)
	bodies := []string{
		"Message-ID: <a@x>\r\nReferences: <b@x>\r\nSubject: x\r\n\r\n.\r\n",
		"Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: x\r\n\r\n.\r\n",
		"Message-ID: <a@x>\r\nSubject: x\r\n\r\n.\r\n",
		"Subject: no id\r\n\r\n.\r\n",
	}
	fx.add("INBOX", len(bodies), func(i int) string { return bodies[i] }, 0)
	ix, _ := fx.svc.OpenIndex(fx.ctx, fx.acct.ID, fx.mailbox("INBOX").ID)
	defer ix.Close()
	snap, _ := ix.Snapshot(fx.ctx)
	threads, err := ix.ThreadReferences(fx.ctx, snap, snap.UIDs())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[store.UID]int{}
	var walk func([]*Thread)
	walk = func(ts []*Thread) {
		for _, th := range ts {
			if th.UID != 0 {
				seen[th.UID]++
			}
			walk(th.Children)
		}
	}
	walk(threads)
	if len(seen) != 4 {
		t.Errorf("threaded %v", seen)
	}
	for u, n := range seen {
		if n != 1 {
			t.Errorf("UID %d appears %d times", u, n)
		}
	}
}
