package message

import (
	"io"
	"strings"
	"testing"
)

func TestCRLFReader(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb":       "a\r\nb",
		"a\rb":       "a\r\nb",
		"a\r\nb":     "a\r\nb",
		"a\r\r\n":    "a\r\n\r\n",
		"\n\n":       "\r\n\r\n",
		"end\r":      "end\r\n",
		"x\r\n.\r.y": "x\r\n.\r\n.y",
	} {
		got, _ := io.ReadAll(NewCRLFReader(strings.NewReader(in)))
		if string(got) != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}
