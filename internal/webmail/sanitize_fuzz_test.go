package webmail_test

import (
	"testing"

	"posthorn/internal/webmail"
)

// FuzzSanitize feeds arbitrary markup to the viewer's sanitizer: whatever
// comes in, what goes out has nothing active, also after a reparse.
func FuzzSanitize(f *testing.F) {
	for _, p := range xssCorpus {
		f.Add(p)
	}
	f.Add(`<table><tr><td style="color:red;width:10px">x</td></tr></table><img src="cid:a@b">`)
	f.Fuzz(func(t *testing.T, doc string) {
		out := webmail.SanitizeForTest(doc)
		for round := 0; round < 2; round++ {
			if problems := activeContent(t, out); len(problems) > 0 {
				t.Fatalf("%q sanitized to %q, which has %v", doc, out, problems)
			}
			out = reserialize(t, out)
		}
	})
}
