package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"posthorn/internal/store"
)

// Conformance of store.Searcher, for the backends that implement it.

func init() {
	register("Searcher/Summaries", testSearcherSummaries)
	register("Searcher/MatchText", testSearcherMatchText)
	register("Searcher/MatchTextAcrossReopen", testSearcherMatchTextReopen)
}

func searcher(t *testing.T, fx *fixture) store.Searcher {
	se, ok := fx.s.(store.Searcher)
	if !ok {
		t.Skip("store does not implement store.Searcher")
	}
	return se
}

func testSearcherSummaries(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	se := searcher(t, fx)
	date := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	var blobs []store.BlobID
	for i := 0; i < 5; i++ {
		body := sampleBody(i)
		id := fx.blob(body)
		blobs = append(blobs, id)
		m := fx.newMessage(fx.inbox, id, 0, nil)
		m.Index = store.MessageIndex{Date: date.Add(time.Duration(i) * time.Hour), Subject: "Subject " + string(rune('A'+i)),
			BaseSubject: "subject", From: "Bob <bob@example.test>", SortFrom: "bob", MessageID: "<m@x>", References: []string{"<a@x>", "<b@x>"}}
		if _, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{m}}); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := se.Summaries(fx.ctx, fx.inbox.ID, store.UIDSet{{First: 2, Last: 3}, {First: 5, Last: 9}})
	must(t, err, "Summaries")
	if len(sums) != 3 || sums[0].UID != 2 || sums[1].UID != 3 || sums[2].UID != 5 {
		t.Fatalf("Summaries UIDs = %+v", sums)
	}
	s := sums[0]
	if s.BlobID != blobs[1] || s.Size != int64(len(sampleBody(1))) || !s.Index.Date.Equal(date.Add(time.Hour)) ||
		s.Index.Subject != "Subject B" || s.Index.SortFrom != "bob" || !slices.Equal(s.Index.References, []string{"<a@x>", "<b@x>"}) {
		t.Errorf("Summary = %+v", s)
	}
	if !s.InternalDate.Equal(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("InternalDate = %v", s.InternalDate)
	}
	// Many ranges: more than one query's worth of parameters.
	var many store.UIDSet
	for u := store.UID(1); u <= 2000; u += 2 {
		many = append(many, store.UIDRange{First: u, Last: u})
	}
	sums, err = se.Summaries(fx.ctx, fx.inbox.ID, many)
	must(t, err, "Summaries with many ranges")
	if len(sums) != 3 {
		t.Errorf("odd UIDs: %d summaries, want 3", len(sums))
	}
}

func testSearcherMatchText(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	se := searcher(t, fx)
	texts := []string{"The marmalade is on the table", "Crème brûlée for dessert", "nothing here", "marmalades galore"}
	var blobs []store.BlobID
	for i, text := range texts {
		id := fx.blob(sampleBody(i))
		blobs = append(blobs, id)
		m := fx.newMessage(fx.inbox, id, 0, nil)
		m.Text = text
		if _, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{m}}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(q string, want ...int) {
		t.Helper()
		got, err := se.MatchText(fx.ctx, q)
		must(t, err, "MatchText "+q)
		var wantIDs []store.BlobID
		for _, w := range want {
			wantIDs = append(wantIDs, blobs[w])
		}
		slices.Sort(got)
		slices.Sort(wantIDs)
		if !slices.Equal(got, wantIDs) {
			t.Errorf("MatchText(%q) = %v, want %v", q, got, wantIDs)
		}
	}
	check("marmalade", 0, 3)
	check("MARMALADE is", 0)
	check("crème brûlée", 1)
	check("table marmalade")
	check("dessert", 1)
	if _, err := se.MatchText(fx.ctx, "-- !!"); !errors.Is(err, store.ErrNotIndexable) {
		t.Errorf("MatchText of punctuation: err = %v, want ErrNotIndexable", err)
	}
	// Expunged messages leave the index.
	if _, _, err := fx.s.Expunge(fx.ctx, fx.inbox.ID, store.UIDSet{{First: 1, Last: 1}}, false); err != nil {
		t.Fatal(err)
	}
	check("marmalade", 3)
}

// testSearcherMatchTextReopen: a backend may index text after the append
// returns; a search right after a burst of appends still finds every one,
// and text appended just before Close is found after reopening.
func testSearcherMatchTextReopen(t *testing.T, f Factory) {
	fx := newFixture(t, f)
	searcher(t, fx)
	var burst []store.NewMessage
	for i := 0; i < 50; i++ {
		m := fx.newMessage(fx.inbox, fx.blob(sampleBody(i)), 0, nil)
		m.Text = "quince number " + string(rune('a'+i%26))
		burst = append(burst, m)
	}
	if _, err := fx.s.Append(fx.ctx, store.Batch{Messages: burst}); err != nil {
		t.Fatal(err)
	}
	got, err := fx.s.(store.Searcher).MatchText(fx.ctx, "quince")
	must(t, err, "MatchText right after the burst")
	if len(got) != 50 {
		t.Fatalf("MatchText(quince) right after 50 appends: %d hits", len(got))
	}
	last := fx.newMessage(fx.inbox, fx.blob(sampleBody(99)), 0, nil)
	last.Text = "persimmon at closing time"
	if _, err := fx.s.Append(fx.ctx, store.Batch{Messages: []store.NewMessage{last}}); err != nil {
		t.Fatal(err)
	}
	must(t, fx.s.Close(), "Close")
	s2, err := f.Open(fx.ctx, fx.loc)
	must(t, err, "reopen")
	defer s2.Close()
	got, err = s2.(store.Searcher).MatchText(fx.ctx, "persimmon")
	must(t, err, "MatchText after reopen")
	if len(got) != 1 || got[0] != last.BlobID {
		t.Fatalf("MatchText(persimmon) after reopen = %v, want [%v]", got, last.BlobID)
	}
}
