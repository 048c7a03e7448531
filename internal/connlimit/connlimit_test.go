package connlimit

import (
	"bufio"
	"net"
	"testing"
	"time"
)

func TestLimitPerIP(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := New(raw, 2, "421 busy\r\n")
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 hello\r\n"))
			accepted <- c
		}
	}()
	dial := func() string {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		t.Cleanup(func() { c.Close() })
		return line
	}
	if dial() != "220 hello\r\n" || dial() != "220 hello\r\n" {
		t.Fatal("first two connections refused")
	}
	if got := dial(); got != "421 busy\r\n" {
		t.Fatalf("third connection got %q", got)
	}
	// Closing one frees a slot.
	(<-accepted).Close()
	time.Sleep(50 * time.Millisecond)
	if got := dial(); got != "220 hello\r\n" {
		t.Fatalf("after a close got %q", got)
	}
}
