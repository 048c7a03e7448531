package postgres

import (
	"reflect"
	"testing"

	"posthorn/internal/store"
)

func TestChangePayloadChunks(t *testing.T) {
	var in []store.Change
	for i := 0; i < 2000; i++ {
		in = append(in, store.Change{AccountID: store.AccountID(1 << 40), MailboxID: store.MailboxID(i), Kind: store.ChangeMessageFlags,
			ModSeq: store.ModSeq(1<<50 + i)})
	}
	in = append(in, store.Change{Kind: store.ChangeQueue})
	payloads := encodeChanges(in)
	if len(payloads) < 2 {
		t.Fatalf("%d changes fit one payload?", len(in))
	}
	var out []store.Change
	for i, p := range payloads {
		if len(p) >= 8000 {
			t.Fatalf("payload %d has %d bytes", i, len(p))
		}
		cs, more, err := decodeChanges(p)
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if more != (i < len(payloads)-1) {
			t.Fatalf("payload %d: more = %v", i, more)
		}
		out = append(out, cs...)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the changes")
	}
	if encodeChanges(nil) != nil {
		t.Fatalf("no changes, yet a payload")
	}
	if _, _, err := decodeChanges("2 1,2,3,4"); err == nil {
		t.Fatalf("unknown version accepted")
	}
}
