package imapd

import (
	"fmt"
	"strings"
	"testing"
)

// benchMessage makes a message of about size octets.
func benchMessage(i, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender %d <s%d@example.org>\r\nTo: bench@example.test\r\nSubject: Message number %d about the budget\r\n"+
		"Date: Mon, 6 May 2024 07:08:09 +0000\r\nMessage-ID: <%d.bench@example.org>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n", i, i, i, i)
	for b.Len() < size {
		b.WriteString("The quick brown fox jumps over the lazy dog near the project meeting room.\r\n")
	}
	return b.String()
}

// BenchmarkAppend measures MULTIAPPEND of 200 messages of 8 KiB in one
// command (the bulk-ingest path of bench-imap-large.py).
func BenchmarkAppend(b *testing.B) {
	h := newHarness(b, func(o *Options) {})
	rc := h.login()
	msgs := make([]string, 200)
	for i := range msgs {
		msgs[i] = benchMessage(i, 8192)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		var cmd strings.Builder
		cmd.WriteString("A APPEND INBOX")
		for _, m := range msgs {
			fmt.Fprintf(&cmd, " (\\Seen) {%d+}\r\n%s", len(m), m)
		}
		cmd.WriteString("\r\n")
		rc.send(cmd.String())
		_, done := rc.until("A")
		if !strings.Contains(done, "OK") {
			b.Fatal(done)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msg/s")
}
