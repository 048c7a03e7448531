package imapd

import (
	"slices"
	"testing"

	"posthorn/internal/mailbox"
)

func TestResolve(t *testing.T) {
	sel := &selection{uids: []mailbox.UID{2, 4, 5, 9, 10}}
	for _, c := range []struct {
		set  numSet
		uid  bool
		want []mailbox.UID
		err  bool
	}{
		{numSet{ranges: []numRange{{1, 2}}}, false, []mailbox.UID{2, 4}, false},
		{numSet{ranges: []numRange{{0, 4}}}, false, []mailbox.UID{9, 10}, false}, // *:4 = 4:5
		{numSet{ranges: []numRange{{6, 6}}}, false, nil, true},
		{numSet{ranges: []numRange{{3, 9}}}, true, []mailbox.UID{4, 5, 9}, false},
		{numSet{ranges: []numRange{{20, 0}}}, true, []mailbox.UID{10}, false}, // 20:* includes the last UID
		{numSet{ranges: []numRange{{5, 5}, {2, 4}}}, true, []mailbox.UID{2, 4, 5}, false},
		{numSet{ranges: []numRange{{1, 1}}}, true, nil, false},
	} {
		got, err := sel.resolve(c.set, c.uid)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("%+v uid=%v: %v %v, want %v", c.set, c.uid, got, err, c.want)
		}
	}
	empty := &selection{}
	if got, err := empty.resolve(numSet{ranges: []numRange{{1, 0}}}, false); err != nil || len(got) != 0 {
		t.Errorf("1:* in an empty mailbox: %v %v", got, err)
	}
	sel.saved = []mailbox.UID{4, 7, 10}
	if got, _ := sel.resolve(numSet{saved: true}, false); !slices.Equal(got, []mailbox.UID{4, 10}) {
		t.Errorf("$ = %v", got)
	}
}

func TestStoreSets(t *testing.T) {
	var view []mailbox.UID
	for u := mailbox.UID(1); u <= 2000; u++ {
		if u%10 != 0 { // every tenth UID is gone
			view = append(view, u)
		}
	}
	sel := &selection{uids: view}
	// A long run of the view is one range, across the gaps.
	sets := sel.storeSets(view[:500])
	if len(sets) != 1 || len(sets[0]) != 1 || sets[0][0] != (mailbox.UIDRange{First: 1, Last: view[499]}) {
		t.Errorf("run: %v", sets)
	}
	// Scattered UIDs are spelled out, at most maxSetUIDs per set.
	var scattered []mailbox.UID
	for i := 0; i < len(view); i += 2 {
		scattered = append(scattered, view[i])
	}
	sets = sel.storeSets(scattered)
	n := 0
	for _, s := range sets {
		if len(s) > maxSetUIDs {
			t.Errorf("set of %d ranges", len(s))
		}
		for _, r := range s {
			if r.First != r.Last {
				t.Errorf("range %v in a scattered set", r)
			}
			n++
		}
	}
	if n != len(scattered) {
		t.Errorf("%d UIDs in sets, want %d", n, len(scattered))
	}
}
