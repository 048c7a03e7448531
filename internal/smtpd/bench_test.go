package smtpd

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
)

// BenchmarkMX measures the whole MX path in one process (go-smtp, the
// session, delivery, the SQLite store with its group commit and fsync)
// with 20 connections sending 4 KiB messages, MAIL/RCPT/DATA pipelined,
// logging as the server does (formatted, then discarded).
// It is the in-process twin of bench/smtp.sh, for profiling:
//
//	go test -run '^$' -bench MX -benchtime 5000x -cpuprofile cpu.out ./internal/smtpd
func BenchmarkMX(b *testing.B) {
	e := newEnv(b, withSMTPD(func(o *Options) { o.MaxConnectionsPerIP = 100 }), withHandler(slog.NewTextHandler(io.Discard, nil)))
	const sessions = 20
	body := "From: <x@remote.test>\r\nTo: <alice@example.test>\r\nSubject: bench\r\n\r\n" +
		strings.Repeat(strings.Repeat("y", 76)+"\r\n", 4096/78) + ".\r\n"
	conns := make([]*bufio.ReadWriter, sessions)
	for i := range conns {
		c, err := net.Dial("tcp", e.mx)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriterSize(c, 16<<10))
		readReply(b, rw.Reader, "220")
		rw.WriteString("EHLO bench.test\r\n")
		rw.Flush()
		readReply(b, rw.Reader, "250")
		conns[i] = rw
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, rw := range conns {
		n := b.N / sessions
		if i < b.N%sessions {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				rw.WriteString("MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
				rw.Flush()
				readReply(b, rw.Reader, "250")
				readReply(b, rw.Reader, "250")
				readReply(b, rw.Reader, "354")
				rw.WriteString(body)
				rw.Flush()
				readReply(b, rw.Reader, "250")
			}
		}()
	}
	wg.Wait()
}

func readReply(b *testing.B, r *bufio.Reader, code string) {
	for {
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, code) {
			panic(fmt.Sprintf("want %s, got %q (%v)", code, line, err))
		}
		if line[3] == ' ' {
			return
		}
	}
}
