package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestSinkCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := &counter{want: 3, seen: map[string]bool{}, done: make(chan struct{})}
	go serve(ln, c)

	cl, err := smtp.Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Hello("loadgen.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := cl.Extension("PIPELINING"); !ok {
		t.Error("PIPELINING not offered")
	}
	if ok, _ := cl.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered")
	}
	msg := func(seq int) string {
		return fmt.Sprintf("Message-ID: <m@x>\r\nX-Seq: %08d\r\nSubject: s\r\n\r\n.leading dot\r\nbody\r\n", seq)
	}
	// Seq 2 twice: a relay's second delivery is a duplicate, not a message.
	for _, seq := range []int{1, 2, 2} {
		if err := cl.SendMail("a@b.test", []string{"c@sink.test"}, strings.NewReader(msg(seq))); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	if c.res.Messages != 2 || c.res.Duplicates != 1 {
		t.Fatalf("after 3 sends: %+v", c.res)
	}
	c.mu.Unlock()
	select {
	case <-c.done:
		t.Fatal("done before the third distinct message")
	default:
	}
	if err := cl.SendMail("a@b.test", []string{"c@sink.test", "d@sink.test"}, strings.NewReader(msg(3))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("not done after the third distinct message")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Each message is 70 octets, 71 with its dot stuffed.
	if c.res.Messages != 3 || c.res.Bytes != 3*71 || c.res.LastNs < c.res.FirstNs || c.res.FirstNs == 0 || c.res.Connections != 1 {
		t.Fatalf("result %+v", c.res)
	}
	if err := cl.Mail("a@b.test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Data(); err == nil {
		t.Error("DATA without recipients was accepted")
	}
}
