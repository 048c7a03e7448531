package imapd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"posthorn/internal/mailbox"
	"posthorn/internal/message"
)

// Golden files of ENVELOPE, BODYSTRUCTURE and BODY for the shared mail
// corpus (testdata/mail, see its README for sources and licences), and the
// mime4j oracles: every leaf body that BODY[section] returns must be the
// one mime4j's parser found.

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

type corpusFile struct {
	name string
	data []byte
}

func loadCorpus(t *testing.T) []corpusFile {
	t.Helper()
	var files []corpusFile
	err := filepath.WalkDir("testdata/mail", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".eml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/mail", path)
		files = append(files, corpusFile{name: filepath.ToSlash(rel), data: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 166 {
		t.Fatalf("corpus has %d messages, want 166", len(files))
	}
	return files
}

// deliverCorpus stores every corpus message, byte for byte, in INBOX.
func deliverCorpus(t *testing.T, h *harness, files []corpusFile) {
	t.Helper()
	mb, err := h.mbox.Get(context.Background(), h.alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		_, err := h.mbox.Append(context.Background(), h.alice.ID, mb.ID, []mailbox.NewMessage{{Body: bytes.NewReader(f.data),
			Date: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}})
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
	}
}

func TestGoldenEnvelopeBodyStructure(t *testing.T) {
	files := loadCorpus(t)
	h := newHarness(t)
	deliverCorpus(t, h, files)
	rc := h.login()
	rc.ok("EXAMINE INBOX")
	for i, f := range files {
		lines := rc.ok(fmt.Sprintf("FETCH %d (ENVELOPE BODYSTRUCTURE BODY)", i+1))
		if len(lines) != 1 {
			t.Fatalf("%s: %d responses", f.name, len(lines))
		}
		got := []byte(strings.ReplaceAll(lines[0], ") BODYSTRUCTURE (", ")\nBODYSTRUCTURE (") + "\n")
		got = bytes.ReplaceAll(got, []byte(") BODY ("), []byte(")\nBODY ("))
		checkGolden(t, strings.TrimSuffix(f.name, ".eml")+".txt", got)
	}
}

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
		t.Errorf("%s differs from its golden file (run go test -update and review the diff)\n got: %s\nwant: %s", name, got, want)
	}
}

var oracleBody = regexp.MustCompile(`(?s)<body>\r\n(.*?)</body>`)

// leafSections lists the IMAP section numbers of the leaf parts of a
// structure, in order, with the parts.
func leafSections(p *message.Part, path []int, out *[][]int, parts *[]*message.Part) {
	switch {
	case p.IsMultipart():
		for i, c := range p.Parts {
			leafSections(c, append(append([]int{}, path...), i+1), out, parts)
		}
	case p.IsMessage():
		inner := p.Parts[0]
		if inner.IsMultipart() {
			leafSections(inner, path, out, parts)
		} else {
			leafSections(inner, append(append([]int{}, path...), 1), out, parts)
		}
	default:
		if len(path) == 0 {
			path = []int{1}
		}
		*out = append(*out, path)
		*parts = append(*parts, p)
	}
}

func sectionString(path []int) string {
	s := make([]string, len(path))
	for i, n := range path {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}

func TestMime4jOracles(t *testing.T) {
	files := loadCorpus(t)
	var mime4j []corpusFile
	for _, f := range files {
		if strings.HasPrefix(f.name, "mime4j/") && !strings.HasPrefix(f.name, "mime4j/mimetools/") {
			mime4j = append(mime4j, f)
		}
	}
	h := newHarness(t)
	deliverCorpus(t, h, mime4j)
	rc := h.login()
	rc.ok("EXAMINE INBOX")
	checked := 0
	for i, f := range mime4j {
		xml, err := os.ReadFile(filepath.Join("testdata/mail", strings.TrimSuffix(f.name, ".eml")+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f.name, "StartsBody") {
			continue // mime4j ran with a non-default option for these
		}
		var want [][]byte
		for _, m := range oracleBody.FindAllSubmatch(xml, -1) {
			b := bytes.ReplaceAll(m[1], []byte("&lt;"), []byte("<"))
			b = bytes.ReplaceAll(b, []byte("&gt;"), []byte(">"))
			b = bytes.ReplaceAll(b, []byte("&amp;"), []byte("&"))
			// The mailbox service stores CRLF line ends (RFC 5322 §2.3).
			crlf, _ := io.ReadAll(message.NewCRLFReader(bytes.NewReader(b)))
			want = append(want, crlf)
		}
		meta, err := message.Analyze(bytes.NewReader(f.data))
		if err != nil {
			t.Fatal(err)
		}
		var paths [][]int
		var parts []*message.Part
		leafSections(meta.Structure, nil, &paths, &parts)
		if encodedMessage(meta.Structure) {
			// mime4j decodes a base64 message/rfc822 and parses it; IMAP
			// does not (RFC 2046 §5.2.1 forbids the encoding).
			continue
		}
		if len(paths) != len(want) {
			t.Errorf("%s: %d leaf parts, oracle has %d bodies", f.name, len(paths), len(want))
			continue
		}
		for k, path := range paths {
			lines := rc.ok(fmt.Sprintf("FETCH %d (BODY.PEEK[%s])", i+1, sectionString(path)))
			got := lines[0][strings.Index(lines[0], "\r\n")+2 : len(lines[0])-1]
			if got != string(want[k]) {
				t.Errorf("%s BODY[%s] = %q, oracle %q", f.name, sectionString(path), got, want[k])
			}
			if lf := int64(len(want[k]) + bytes.Count(want[k], []byte("\n")) - bytes.Count(want[k], []byte("\r\n"))); parts[k].Size != lf {
				t.Errorf("%s part %s size %d, oracle body measures %d in CRLF form", f.name, sectionString(path), parts[k].Size, lf)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d bodies checked against oracles", checked)
	}
}

// encodedMessage reports whether a message/* part has a transfer encoding
// other than an identity one.
func encodedMessage(p *message.Part) bool {
	found := false
	p.Walk(func(q *message.Part) bool {
		if q.Type == "message" && q.Encoding != "7bit" && q.Encoding != "8bit" && q.Encoding != "binary" {
			found = true
		}
		return true
	})
	return found
}
