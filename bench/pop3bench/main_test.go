package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/mailbox"
	"posthorn/internal/pop3d"
	"posthorn/internal/smtpd"
	"posthorn/internal/store/sqlite"
)

// TestFillRetrClear runs every subcommand against a real Posthorn SMTP
// and POP3 server on 127.0.0.1, in process.
func TestFillRetrClear(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accts := account.New(account.Options{Store: st, Logger: log})
	if _, err := accts.AddDomain(ctx, "bench.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := accts.AddUser(ctx, "bench@bench.test", "password"); err != nil {
		t.Fatal(err)
	}
	mboxes := mailbox.New(mailbox.Options{Store: st, Logger: log})
	defer mboxes.Close()
	deliv := delivery.New(delivery.Options{Store: st, Accounts: accts, Hostname: "mx.bench.test", Logger: log})
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	mx := smtpd.NewServer(smtpd.Options{Role: smtpd.MX, Hostname: "mx.bench.test", Delivery: deliv, Accounts: accts, Logger: log})
	mxln := listen()
	go mx.Serve(mxln)
	pop := pop3d.NewServer(pop3d.Options{Hostname: "pop.bench.test", Mailboxes: mboxes, Accounts: accts, AllowPlaintextOnLoopback: true, Logger: log})
	popln := listen()
	go pop.Serve(popln)
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		mx.Shutdown(sctx)
		pop.Shutdown(sctx)
	}()
	popArgs := []string{"-pop3", popln.Addr().String(), "-user", "bench@bench.test", "-pass", "password"}

	if err := cmdFill([]string{"-smtp", mxln.Addr().String(), "-to", "bench@bench.test", "-n", "20", "-size", "5000"}); err != nil {
		t.Fatal(err)
	}
	if err := cmdWait(append(popArgs, "-n", "20", "-timeout", "30s")); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"", "-pipeline"} {
		var out strings.Builder
		args := append([]string{}, popArgs...)
		if mode != "" {
			args = append(args, mode)
		}
		if err := cmdRetr(args, &out); err != nil {
			t.Fatal(err)
		}
		var r result
		if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
			t.Fatalf("%q: %v", out.String(), err)
		}
		// Each message: at least its 5000 octets of body on the wire.
		if r.Messages != 20 || r.Octets < 20*5000 || r.Seconds <= 0 {
			t.Fatalf("retr %s: %+v", mode, r)
		}
	}
	if err := cmdClear(popArgs); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := cmdCount(popArgs, &out); err != nil || out.String() != "0\n" {
		t.Fatalf("count after clear = %q, %v", out.String(), err)
	}
	if err := loopback("192.0.2.1:110"); err == nil {
		t.Fatal("a non-loopback address was accepted")
	}
}

func TestMessageSize(t *testing.T) {
	m := string(message(rand.New(rand.NewPCG(1, 2)), 1, 51200))
	_, body, ok := strings.Cut(m, "\r\n\r\n")
	if !ok || len(body) != 51200 || strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
		t.Fatalf("body of %d octets (want 51200), header end found: %v", len(body), ok)
	}
}
