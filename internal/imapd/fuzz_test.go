package imapd

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession runs the whole command loop on arbitrary client input,
// logged in and with a selected mailbox holding messages: no input may
// panic a session (a panic would answer BYE [SERVERBUG]), hang it past
// its deadlines, or stop the server from serving the next connection.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a SELECT INBOX\r\nb FETCH 1:* (FLAGS BODY[1.MIME] BODYSTRUCTURE)\r\nc LOGOUT\r\n",
		"a SEARCH OR FROM x (NOT 1:*) MODSEQ 5\r\nb SORT (REVERSE DATE) UTF-8 ALL\r\n",
		"a STORE 1:* +FLAGS ($x)\r\nb EXPUNGE\r\nc IDLE\r\nDONE\r\n",
		"a APPEND INBOX (\\Seen) {5+}\r\nhello\r\nb THREAD REFERENCES UTF-8 ALL\r\n",
		"a LIST (SUBSCRIBED) \"\" * RETURN (STATUS (MESSAGES))\r\nb UID MOVE 1 Trash\r\n",
		"a COMPRESS DEFLATE\r\n\x00\x01\x02", "a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (1 1 1:*))\r\n",
	} {
		f.Add([]byte(s))
	}
	h := newHarness(f, func(o *Options) { o.IdleTimeout = 2 * time.Second })
	for i := 0; i < 3; i++ {
		h.deliver(h.alice, "INBOX", multipartMessage, 0)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "L LOGIN alice@example.test password\r\nS SELECT INBOX\r\n")
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("session did not end: %v", err)
		}
		if containsBytes(out, "[SERVERBUG]") {
			t.Fatalf("server bug for input %q:\n%s", data, out)
		}
	})
}

func containsBytes(b []byte, s string) bool {
	return len(s) <= len(b) && indexOf(b, s) >= 0
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}
