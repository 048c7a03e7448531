package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// checkGolden compares got with testdata/golden/name, or writes it there
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run go test -update and review the diff)\n got: %s", name, truncateUTF8(string(got), 3000))
	}
}

// goldenMeta is the JSON view of Meta kept in the golden files: Envelope,
// Structure and the index fields, with the start of Text for review.
type goldenMeta struct {
	Envelope      *Envelope
	Structure     *Part
	Size          int64
	Date          string
	Subject       string
	BaseSubject   string
	From, To, Cc  string
	Bcc           string
	SortFrom      string
	SortTo        string
	SortCc        string
	DisplayFrom   string
	DisplayTo     string
	MessageID     string
	InReplyTo     string
	References    []string
	HasAttachment bool
	Preview       string
	TextStart     string
}

func goldenJSON(t *testing.T, m *Meta) []byte {
	g := goldenMeta{
		Envelope: m.Envelope, Structure: m.Structure, Size: m.Size,
		Subject: m.Subject, BaseSubject: m.BaseSubject,
		From: m.From, To: m.To, Cc: m.Cc, Bcc: m.Bcc,
		SortFrom: m.SortFrom, SortTo: m.SortTo, SortCc: m.SortCc,
		DisplayFrom: m.DisplayFrom, DisplayTo: m.DisplayTo,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		HasAttachment: m.HasAttachment, Preview: m.Preview,
		TextStart: truncateUTF8(m.Text, 600),
	}
	if !m.Date.IsZero() {
		g.Date = m.Date.Format("2006-01-02T15:04:05-07:00")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGoldenCorpus keeps Envelope and Structure (and the index fields) of
// every corpus message in testdata/golden/<folder>/<name>.json.
func TestGoldenCorpus(t *testing.T) {
	for _, f := range loadCorpus(t) {
		m, err := Analyze(bytes.NewReader(f.data))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		checkGolden(t, "corpus/"+strings.TrimSuffix(f.name, ".eml")+".json", goldenJSON(t, m))
	}
}
