// Command sinkcount is the far end of the relay benchmark (bench/relay.sh):
// an SMTP server on a loopback address that accepts every message, keeps
// nothing, and counts. When N distinct messages have arrived it prints one
// JSON object with the times of the first and the N-th arrival (Unix
// nanoseconds) and exits 0; it exits 1 if they have not arrived within
// -timeout.
//
//	sinkcount -listen 127.0.0.1:2526 -n 5000
//
// Messages are told apart by their Message-ID and X-Seq fields (what
// bench/smtpload writes), so a message a relay delivers twice is counted
// once, and reported as a duplicate. The sink offers PIPELINING, 8BITMIME
// and SIZE, no STARTTLS and no CHUNKING: both relays under test speak to it
// the same plain way. It answers each pipelined group of commands with one
// write, and every reply only after it has read what it answers, so a
// message is counted when its 250 is sent.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// result is what sinkcount prints.
type result struct {
	Messages   int     `json:"messages"`   // distinct messages counted
	Duplicates int     `json:"duplicates"` // messages that arrived again
	Bytes      int64   `json:"bytes"`      // data octets of the distinct ones, as sent (dot-stuffed)
	FirstNs    int64   `json:"first_unix_ns"`
	LastNs     int64   `json:"last_unix_ns"`
	Rate       float64 `json:"rate"` // messages/s from the first to the N-th arrival
	// Connections is how many SMTP connections the relay opened (the
	// parallelism of its delivery).
	Connections int `json:"connections"`
}

// counter gathers arrivals from all connections.
type counter struct {
	mu   sync.Mutex
	want int
	seen map[string]bool
	res  result
	done chan struct{}
}

// add counts one message; key "" is always new.
func (c *counter) add(key string, size int64) {
	now := time.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if key != "" && c.seen[key] {
		c.res.Duplicates++
		return
	}
	if key != "" {
		c.seen[key] = true
	}
	if c.res.Messages == 0 {
		c.res.FirstNs = now
	}
	c.res.Messages++
	c.res.Bytes += size
	if c.res.Messages == c.want {
		c.res.LastNs = now
		close(c.done)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:2526", "loopback address to listen on")
	n := flag.Int("n", 0, "messages to wait for (required)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "sinkcount: -n is required")
		os.Exit(2)
	}
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintln(os.Stderr, "sinkcount: -listen must be a loopback address")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinkcount:", err)
		os.Exit(1)
	}
	c := &counter{want: *n, seen: map[string]bool{}, done: make(chan struct{})}
	go serve(ln, c)
	select {
	case <-c.done:
	case <-time.After(*timeout):
		c.mu.Lock()
		fmt.Fprintf(os.Stderr, "sinkcount: %d of %d messages after %v\n", c.res.Messages, c.want, *timeout)
		c.mu.Unlock()
		os.Exit(1)
	}
	c.mu.Lock()
	r := c.res
	c.mu.Unlock()
	if r.LastNs > r.FirstNs {
		r.Rate = float64(r.Messages-1) / (float64(r.LastNs-r.FirstNs) / 1e9)
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

// serve accepts connections until the listener closes.
func serve(ln net.Listener, c *counter) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.res.Connections++
		c.mu.Unlock()
		go session(conn, c)
	}
}

// maxLine bounds a command line and a data line (RFC 5321 §4.5.3.1 allows
// 1000 octets; relays may send longer ones, which are accepted).
const maxLine = 64 << 10

// session speaks SMTP on one connection.
func session(conn net.Conn, c *counter) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 64<<10)
	w := bufio.NewWriterSize(conn, 4096)
	w.WriteString("220 sink.test ESMTP sinkcount\r\n")
	w.Flush()
	rcpts := 0
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
		line, err := readLine(r)
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(string(line), " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			w.WriteString("250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n250 ENHANCEDSTATUSCODES\r\n")
		case "HELO":
			w.WriteString("250 sink.test\r\n")
		case "MAIL":
			rcpts = 0
			w.WriteString("250 2.1.0 Ok\r\n")
		case "RCPT":
			rcpts++
			w.WriteString("250 2.1.5 Ok\r\n")
		case "DATA":
			if rcpts == 0 {
				w.WriteString("554 5.5.1 No valid recipients\r\n")
				break
			}
			w.WriteString("354 End data with <CR><LF>.<CR><LF>\r\n")
			w.Flush()
			key, size, err := readData(r)
			if err != nil {
				return
			}
			c.add(key, size)
			rcpts = 0
			w.WriteString("250 2.0.0 Ok: counted\r\n")
		case "RSET", "NOOP":
			rcpts = 0
			w.WriteString("250 2.0.0 Ok\r\n")
		case "QUIT":
			w.WriteString("221 2.0.0 Bye\r\n")
			w.Flush()
			return
		default:
			w.WriteString("502 5.5.2 Command not implemented\r\n")
		}
		// RFC 2920: answer a pipelined group in one write, once its last
		// command has been read.
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// readLine reads one CRLF line without its end.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, errors.New("line too long")
	}
	if err != nil {
		return nil, err
	}
	if len(line) > maxLine {
		return nil, errors.New("line too long")
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// readData reads message data up to the end-of-data line and returns the
// message's key (its Message-ID and X-Seq fields) and its size.
func readData(r *bufio.Reader) (string, int64, error) {
	var size int64
	var msgID, seq string
	header := true
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A very long line: count it, it cannot be a field we want.
			size += int64(len(line))
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", 0, err
		}
		if bytes.Equal(line, []byte(".\r\n")) {
			key := ""
			if msgID != "" || seq != "" {
				key = msgID + "|" + seq
			}
			return key, size, nil
		}
		size += int64(len(line))
		if !header {
			continue
		}
		if len(line) <= 2 {
			header = false
			continue
		}
		if v, ok := field(line, "message-id:"); ok {
			msgID = v
		} else if v, ok := field(line, "x-seq:"); ok {
			seq = v
		}
	}
}

// field returns the value of a header line named name (lower case, with
// its colon).
func field(line []byte, name string) (string, bool) {
	if len(line) < len(name) || !strings.EqualFold(string(line[:len(name)]), name) {
		return "", false
	}
	return strings.TrimSpace(string(line[len(name):])), true
}
