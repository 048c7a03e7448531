package message

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// sameMeta compares two Metas ignoring Text (not stored) and the time
// zone's identity (only its offset is stored).
func sameMeta(t *testing.T, name string, a, b *Meta) {
	t.Helper()
	if !a.Date.Equal(b.Date) {
		t.Errorf("%s: Date %v != %v", name, a.Date, b.Date)
	}
	_, oa := a.Date.Zone()
	_, ob := b.Date.Zone()
	if oa != ob {
		t.Errorf("%s: zone offset %d != %d", name, oa, ob)
	}
	x, y := *a, *b
	x.Text, y.Text = "", ""
	x.Date, y.Date = x.Date.UTC(), y.Date.UTC()
	if !reflect.DeepEqual(x, y) {
		t.Errorf("%s: round trip differs\n got %+v\nwant %+v", name, y, x)
	}
}

func TestMarshalRoundTripCorpus(t *testing.T) {
	total, orig := 0, 0
	for _, f := range loadCorpus(t) {
		m, err := Analyze(bytes.NewReader(f.data))
		if err != nil {
			t.Fatal(err)
		}
		b := m.Marshal()
		total += len(b)
		orig += len(f.data)
		back, err := UnmarshalMeta(b)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		sameMeta(t, f.name, m, back)
		if !bytes.Equal(back.Marshal(), b) {
			t.Errorf("%s: Marshal is not stable", f.name)
		}
	}
	t.Logf("serialized Meta: %d octets for %d octets of mail", total, orig)
}

func TestMarshalEmpty(t *testing.T) {
	back, err := UnmarshalMeta((&Meta{}).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if back.Structure == nil || back.Structure.MediaType() != "text/plain" || back.Envelope == nil {
		t.Errorf("empty Meta round trip: %+v", back)
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	m := mustAnalyze(t, nestedMsg)
	b := m.Marshal()
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalMeta(b[:i]); err == nil {
			t.Fatalf("truncation at %d accepted", i)
		}
	}
	if _, err := UnmarshalMeta(append(b[:len(b):len(b)], 0)); err == nil {
		t.Error("trailing octet accepted")
	}
	for i := 4; i < len(b); i++ {
		c := bytes.Clone(b)
		c[i] ^= 0xff
		UnmarshalMeta(c) // must not panic
	}
	v2 := bytes.Clone(b)
	v2[3] = 2
	if _, err := UnmarshalMeta(v2); !errors.Is(err, ErrMetaVersion) {
		t.Errorf("version 2: err = %v", err)
	}
	if _, err := UnmarshalMeta([]byte("{}")); err == nil {
		t.Error("JSON accepted")
	}
	// A length that claims more than there is must not allocate it.
	huge := append([]byte(metaMagic), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	if _, err := UnmarshalMeta(huge); err == nil {
		t.Error("huge size accepted")
	}
}
