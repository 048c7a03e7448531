package interop

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// curl runs curl with the suite's authority (so the server is verified)
// and alice's or bob's login, and wants exit status 0.
func curl(t *testing.T, user string, args ...string) string {
	t.Helper()
	base := []string{"--silent", "--show-error", "--max-time", "30", "--cacert", testPKI(t).CAFile}
	if user != "" {
		base = append(base, "--user", user+":"+password)
	}
	return toolRun{}.ok(t, "curl", append(base, args...)...)
}

// tlsModes are the two ways into a protocol: STARTTLS on the plain port
// (curl's --ssl-reqd makes it mandatory) and implicit TLS.
var tlsModes = []struct {
	name             string
	implicit         bool
	smtp, imap, pop3 string // [listen] keys
}{
	{name: "STARTTLS", smtp: "submission", imap: "imap", pop3: "pop3"},
	{name: "ImplicitTLS", implicit: true, smtp: "submissions", imap: "imaps", pop3: "pop3s"},
}

// url makes a curl URL for a listener; "s" is appended to the scheme for
// implicit TLS.
func url(implicit bool, scheme, addr, path string) string {
	if implicit {
		scheme += "s"
	}
	return scheme + "://" + addr + path
}

// TestCurl sends with curl over SMTP, then reads the messages back with
// curl over IMAP (fetch and search) and POP3 (list and retr), each over
// STARTTLS and over implicit TLS.
func TestCurl(t *testing.T) {
	need(t, "curl")
	s := startPosthorn(t)
	var sent []string
	for _, m := range tlsModes {
		t.Run("SMTP"+m.name, func(t *testing.T) {
			msg := testMessage(alice, bob, "curl smtp "+m.name)
			file := writeFile(t, t.TempDir(), "msg.eml", msg, 0o644)
			curl(t, alice, "--ssl-reqd", "--url", url(m.implicit, "smtp", s.Addr(m.smtp), "/client.example.test"),
				"--mail-from", alice, "--mail-rcpt", bob, "--upload-file", file)
			sent = append(sent, msg)
			got := inbox(t, s, bob)
			if len(got) != len(sent) {
				t.Fatalf("bob has %d messages, want %d", len(got), len(sent))
			}
			trace := checkArrived(t, got[len(got)-1].Data, msg)
			if !strings.Contains(trace, "Received: from client.example.test") || !strings.Contains(trace, "with ESMTPSA") {
				t.Errorf("trace fields:\n%s", trace)
			}
		})
	}
	if len(sent) != len(tlsModes) {
		t.Fatal("the SMTP cases failed; nothing to read")
	}
	msgs := inbox(t, s, bob)

	for _, m := range tlsModes {
		t.Run("IMAPFetch"+m.name, func(t *testing.T) {
			for _, want := range msgs {
				path := fmt.Sprintf("/INBOX;UID=%d", want.UID)
				got := curl(t, bob, "--ssl-reqd", "--url", url(m.implicit, "imap", s.Addr(m.imap), path))
				if got != want.Data {
					t.Errorf("UID %d: curl fetched\n%q\nthe store has\n%q", want.UID, got, want.Data)
				}
			}
		})
		t.Run("IMAPSearch"+m.name, func(t *testing.T) {
			// Each message's subject names its TLS mode: one hit each.
			for i, mode := range tlsModes {
				out := curl(t, bob, "--ssl-reqd", "--url", url(m.implicit, "imap", s.Addr(m.imap), "/INBOX"),
					"--request", `UID SEARCH SUBJECT "curl smtp `+mode.name+`"`)
				if want := fmt.Sprintf("* SEARCH %d\r\n", msgs[i].UID); out != want {
					t.Errorf("UID SEARCH SUBJECT %s: got %q, want %q", mode.name, out, want)
				}
			}
			out := curl(t, bob, "--ssl-reqd", "--url", url(m.implicit, "imap", s.Addr(m.imap), "/INBOX"),
				"--request", `SEARCH BODY "Interop-Test"`)
			if want := "* SEARCH 1 2\r\n"; out != want {
				t.Errorf("SEARCH BODY: got %q, want %q", out, want)
			}
		})
		t.Run("POP3"+m.name, func(t *testing.T) {
			list := curl(t, bob, "--ssl-reqd", "--url", url(m.implicit, "pop3", s.Addr(m.pop3), "/"))
			sizes := parsePOP3List(t, list)
			if len(sizes) != len(msgs) {
				t.Fatalf("LIST shows %d messages, the store %d:\n%s", len(sizes), len(msgs), list)
			}
			for i, want := range msgs {
				got := curl(t, bob, "--ssl-reqd", "--url", url(m.implicit, "pop3", s.Addr(m.pop3), "/"+strconv.Itoa(i+1)))
				if got != want.Data {
					t.Errorf("RETR %d:\n%q\nthe store has\n%q", i+1, got, want.Data)
				}
				if sizes[i] != len(got) {
					t.Errorf("LIST says message %d has %d octets, RETR gave %d", i+1, sizes[i], len(got))
				}
			}
		})
	}
	// Reading (curl's POP3 sends no DELE) leaves both messages in place.
	if after := inbox(t, s, bob); len(after) != len(msgs) || !slices.EqualFunc(after, msgs, func(a, b stored) bool { return a.Data == b.Data }) {
		t.Errorf("bob's INBOX changed: %d messages, had %d", len(after), len(msgs))
	}
}

// pop3ListLine is one line of a LIST response as curl prints it.
var pop3ListLine = regexp.MustCompile(`^(\d+) (\d+)$`)

// parsePOP3List returns the sizes of a LIST response, by message number.
func parsePOP3List(t *testing.T, list string) []int {
	t.Helper()
	var sizes []int
	for _, line := range strings.Split(strings.TrimSuffix(list, "\r\n"), "\r\n") {
		m := pop3ListLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("LIST line %q in\n%q", line, list)
		}
		n, _ := strconv.Atoi(m[1])
		size, _ := strconv.Atoi(m[2])
		if n != len(sizes)+1 {
			t.Fatalf("LIST numbers out of order:\n%s", list)
		}
		sizes = append(sizes, size)
	}
	return sizes
}
