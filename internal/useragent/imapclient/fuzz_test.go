package imapclient

import (
	"bytes"
	"strings"
	"testing"

	"posthorn/internal/message"
)

var fuzzSeeds = []string{
	"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n",
	"* OK [PERMANENTFLAGS (\\Answered \\*)] ok\r\nT1 OK [READ-WRITE] done\r\n",
	"* LIST (\\HasNoChildren) \"/\" {5}\r\na\"b c\r\n* 3 EXISTS\r\n",
	"* SEARCH 1 2 3\r\n* ESEARCH (TAG \"T1\") UID ALL 1:3,5\r\n",
	"+ Ready\r\n+\r\n",
	"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {4}\r\nab\r\n BINARY[1] ~{1}\r\n\x00)\r\n",
	"* 1 FETCH (X-A ([(] \"\\\\\" NIL nil))\r\n",
	nestedStructure,
}

// FuzzReadResponse feeds arbitrary server output to the reader and the
// FETCH interpreter. Neither may panic or exceed its limits, and every
// data response must survive rendering and re-reading unchanged.
func FuzzReadResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`* 12 FETCH (FLAGS (\Seen) ENVELOPE ("d" "s" ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL NIL NIL))` + "\r\n"))
	lim := Limits{MaxLine: 1 << 16, MaxLiteral: 1 << 16, MaxDepth: 64, MaxValues: 1 << 14}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), lim)
		for range 100 {
			resp, err := r.ReadResponse()
			if err != nil {
				return
			}
			if resp.Tag == "" {
				t.Fatalf("response without a tag: %+v", resp)
			}
			if resp.Name == "FETCH" {
				if m, err := ParseFetch(resp); err == nil && m.Structure != nil {
					m.Structure.Walk(func(p *message.Part) bool { _ = p.Filename(); return true })
				}
			}
			if resp.Name == "" || resp.HasNum {
				continue
			}
			wire := "* " + resp.Name + " " + render(resp.Fields) + "\r\n"
			again, err := NewReader(strings.NewReader(wire), Limits{}).ReadResponse()
			if err != nil {
				t.Fatalf("re-reading %q: %v", wire, err)
			}
			if !sameValue(Value{Kind: List, List: resp.Fields}, Value{Kind: List, List: again.Fields}) {
				t.Fatalf("round trip of %q changed the values:\n%v\n%v", wire, resp.Fields, again.Fields)
			}
		}
	})
}
