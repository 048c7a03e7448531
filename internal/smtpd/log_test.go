package smtpd

import (
	"fmt"
	"strings"
	"testing"
)

// Logs (issue 3, item 7): one Info line per accepted or rejected message,
// with the session id, the message id, sender, recipients, size and TLS.

func TestLogAcceptedAndRejected(t *testing.T) {
	e := newEnv(t)
	rc := dialRaw(t, e.mx)
	rc.ehlo()
	rc.expect("MAIL FROM:<x@remote.test>", "250 ")
	rc.expect("RCPT TO:<nobody@example.test>", "550 ")
	rc.expect("RSET", "250 ")
	rc.startTLS(clientTLS())
	rc.ehlo()
	mailTo(rc, "x@remote.test", "alice@example.test")
	body := testMessage("logged")
	rc.send(body + ".\r\n")
	id := queuedID(t, rc.wait("250 "))
	mailTo(rc, "y@remote.test", "bob@example.test")
	rc.send("bare\nLF\r\n.\r\n")
	rc.wait("554 ")

	acc := e.logs.records("accepted")
	if len(acc) != 1 {
		t.Fatalf("%d accepted lines, want 1: %v", len(acc), acc)
	}
	a := acc[0]
	want := map[string]any{"level": "INFO", "id": id, "from": "x@remote.test", "rcpts": "alice@example.test",
		"tls": "TLS 1.3", "size": float64(len(body)), "local": float64(1), "queued": float64(0), "listener": "smtp"}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("accepted: %s = %v, want %v", k, a[k], v)
		}
	}
	rej := e.logs.records("rejected")
	if len(rej) != 2 {
		t.Fatalf("%d rejected lines, want 2: %v", len(rej), rej)
	}
	if rej[0]["stage"] != "rcpt" || rej[0]["rcpt"] != "nobody@example.test" || rej[0]["level"] != "INFO" {
		t.Errorf("RCPT rejection: %v", rej[0])
	}
	r := rej[1]
	if r["stage"] != "data" || r["from"] != "y@remote.test" || r["rcpts"] != "bob@example.test" || r["tls"] != "TLS 1.3" ||
		r["id"] == "" || !strings.Contains(fmt.Sprint(r["err"]), "bare") {
		t.Errorf("DATA rejection: %v", r)
	}
	// One connection, one session id, before and after STARTTLS.
	sid := a["session"]
	if sid == nil || sid == "" || rej[0]["session"] != sid || r["session"] != sid {
		t.Errorf("session ids: accepted %v, rejected %v and %v", sid, rej[0]["session"], r["session"])
	}
	// Another connection has another id.
	if err := send(e.mx, "z@remote.test", []string{"bob@example.test"}, testMessage("second")); err != nil {
		t.Fatal(err)
	}
	acc = e.logs.records("accepted")
	if len(acc) != 2 || acc[1]["session"] == sid {
		t.Errorf("second connection: %v", acc)
	}
	if errs := e.logs.records("DATA failed"); len(errs) != 0 {
		t.Errorf("client errors logged as server errors: %v", errs)
	}
}
