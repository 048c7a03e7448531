package smtp_test

// Tests of the changes Posthorn made to go-smtp (see POSTHORN.md).

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// expect reads one reply line and fails unless it starts with prefix.
func expect(t *testing.T, scanner *bufio.Scanner, prefix string) {
	t.Helper()
	if !scanner.Scan() {
		t.Fatalf("connection ended, want %q (err %v)", prefix, scanner.Err())
	}
	if got := scanner.Text(); !strings.HasPrefix(got, prefix) {
		t.Fatalf("reply %q, want %q", got, prefix)
	}
}

// startTransaction sends MAIL and RCPT and DATA and reads their replies.
func startTransaction(t *testing.T, c net.Conn, scanner *bufio.Scanner) {
	t.Helper()
	io.WriteString(c, "MAIL FROM:<a@example.org>\r\n")
	expect(t, scanner, "250 ")
	io.WriteString(c, "RCPT TO:<b@example.org>\r\n")
	expect(t, scanner, "250 ")
	io.WriteString(c, "DATA\r\n")
	expect(t, scanner, "354 ")
}

func TestPosthornLineLimitExact(t *testing.T) {
	// Every line, the first one included, may have MaxLineLength octets
	// with its CRLF, and not one more.
	for _, first := range []bool{true, false} {
		_, s, c, scanner := testServerGreeted(t, func(s *smtp.Server) { s.MaxLineLength = 100 })
		if !first {
			io.WriteString(c, "NOOP\r\n")
			expect(t, scanner, "250 ")
		}
		io.WriteString(c, "NOOP "+strings.Repeat("x", 100-len("NOOP \r\n"))+"\r\n")
		expect(t, scanner, "250 ")
		io.WriteString(c, "NOOP "+strings.Repeat("x", 101-len("NOOP \r\n"))+"\r\n")
		expect(t, scanner, "500 5.5.2 ")
		if scanner.Scan() {
			t.Errorf("connection still open after an over-long line: %q", scanner.Text())
		}
		c.Close()
		s.Close()
	}
}

func TestPosthornLongLineInData(t *testing.T) {
	// Message data has no line limit (as with BDAT); the command line
	// limit applies again after the end of data.
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	s.MaxLineLength = 100
	startTransaction(t, c, scanner)
	long := strings.Repeat("y", 5000)
	io.WriteString(c, "Subject: long\r\n\r\n"+long+"\r\n.\r\n")
	expect(t, scanner, "250 ")
	if len(be.messages) != 1 || !strings.Contains(string(be.messages[0].Data), long) {
		t.Fatalf("message not stored whole")
	}
	io.WriteString(c, "NOOP "+strings.Repeat("x", 200)+"\r\n")
	expect(t, scanner, "500 5.5.2 ")
}

func TestPosthornExactMaxMessageBytes(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	s.MaxMessageBytes = 64
	body := strings.Repeat("z", 62) + "\r\n" // 64 octets
	startTransaction(t, c, scanner)
	io.WriteString(c, body+".\r\n")
	expect(t, scanner, "250 ")
	if len(be.messages) != 1 || string(be.messages[0].Data) != body {
		t.Fatalf("messages %d", len(be.messages))
	}
	startTransaction(t, c, scanner)
	io.WriteString(c, "z"+body+".\r\n")
	expect(t, scanner, "552 5.3.4 ")
	if len(be.messages) != 1 {
		t.Fatalf("an oversized message was stored")
	}
	// The connection is in step: the next command gets its own reply.
	io.WriteString(c, "NOOP\r\n")
	expect(t, scanner, "250 ")
}

func TestPosthornEndOfDataAfterCRCR(t *testing.T) {
	// "\r\r\n.\r\n" contains the end-of-data sequence; what follows is a
	// new command, not message data.
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	startTransaction(t, c, scanner)
	io.WriteString(c, "a\r\r\n.\r\nNOOP\r\n")
	expect(t, scanner, "250 ")
	expect(t, scanner, "250 2.0.0 I have successfully done nothing")
	if len(be.messages) != 1 || string(be.messages[0].Data) != "a\r\r\n" {
		t.Fatalf("stored %d messages", len(be.messages))
	}
}

func TestPosthornDotCRIsPassedOn(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	startTransaction(t, c, scanner)
	io.WriteString(c, "a\r\n.\rb\r\n.\r\n")
	expect(t, scanner, "250 ")
	if len(be.messages) != 1 || string(be.messages[0].Data) != "a\r\n\rb\r\n" {
		t.Fatalf("stored %q", be.messages[0].Data)
	}
}

func TestPosthorn421Closes(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	be.userErr = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "go away"}
	io.WriteString(c, "MAIL FROM:<a@example.org>\r\n")
	expect(t, scanner, "421 4.7.0 go away")
	if scanner.Scan() {
		t.Fatalf("connection open after 421: %q", scanner.Text())
	}
}

func TestPosthornAuthWithoutTLS(t *testing.T) {
	_, s, c, scanner := testServerGreeted(t, func(s *smtp.Server) { s.AllowInsecureAuth = false })
	defer s.Close()
	defer c.Close()
	io.WriteString(c, "EHLO localhost\r\n")
	for scanner.Scan() {
		if strings.HasPrefix(scanner.Text(), "250-AUTH") {
			t.Errorf("AUTH offered without TLS")
		}
		if strings.HasPrefix(scanner.Text(), "250 ") {
			break
		}
	}
	io.WriteString(c, "AUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk\r\n")
	expect(t, scanner, "538 5.7.11 ")
}

func TestPosthornAllowInsecureAuthFunc(t *testing.T) {
	var asked *smtp.Conn
	_, s, c, scanner := testServerGreeted(t, func(s *smtp.Server) {
		s.AllowInsecureAuth = false
		s.AllowInsecureAuthFunc = func(c *smtp.Conn) bool { asked = c; return true }
	})
	defer s.Close()
	defer c.Close()
	io.WriteString(c, "EHLO localhost\r\n")
	sawAuth := false
	for scanner.Scan() {
		sawAuth = sawAuth || scanner.Text() == "250-AUTH PLAIN"
		if strings.HasPrefix(scanner.Text(), "250 ") {
			break
		}
	}
	if !sawAuth || asked == nil {
		t.Fatalf("AUTH not offered although the function allowed it")
	}
	io.WriteString(c, "AUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk\r\n")
	expect(t, scanner, "235 ")
}

func TestPosthornESMTP(t *testing.T) {
	for _, greet := range []string{"HELO", "EHLO"} {
		conns := make(chan *smtp.Conn, 1)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
			conns <- c // c.ESMTP is set before NewSession is called
			return &session{backend: new(backend), anonymous: true}, nil
		}))
		go s.Serve(l)
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		scanner := bufio.NewScanner(c)
		expect(t, scanner, "220 ")
		io.WriteString(c, greet+" client.example\r\n")
		for scanner.Scan() && !strings.HasPrefix(scanner.Text(), "250 ") {
		}
		if got := (<-conns).ESMTP(); got != (greet == "EHLO") {
			t.Errorf("%s: ESMTP() = %v", greet, got)
		}
		c.Close()
		s.Close()
	}
}

func TestPosthornHTTPVerbCloses(t *testing.T) {
	for _, req := range []string{"GET / HTTP/1.1", "POST /submit HTTP/1.1", "CONNECT example.org:443 HTTP/1.1",
		"OPTIONS * HTTP/1.1", "put /x HTTP/1.0", "HEAD / HTTP/1.0"} {
		_, s, c, scanner := testServerGreeted(t)
		io.WriteString(c, req+"\r\nHost: x\r\n\r\n")
		expect(t, scanner, "221 2.7.0 ")
		if scanner.Scan() {
			t.Errorf("%s: connection open after an HTTP request: %q", req, scanner.Text())
		}
		c.Close()
		s.Close()
	}
}

func TestPosthornSequenceErrors(t *testing.T) {
	_, s, c, scanner := testServerGreeted(t)
	defer s.Close()
	defer c.Close()
	io.WriteString(c, "MAIL FROM:<a@example.org>\r\n")
	expect(t, scanner, "503 5.5.1 ")
	io.WriteString(c, "EHLO localhost\r\n")
	for scanner.Scan() && !strings.HasPrefix(scanner.Text(), "250 ") {
	}
	io.WriteString(c, "RCPT TO:<b@example.org>\r\n")
	expect(t, scanner, "503 5.5.1 ")
	io.WriteString(c, "DATA\r\n")
	expect(t, scanner, "503 5.5.1 ")
	io.WriteString(c, "AUTH PLAIN !!!\r\n")
	expect(t, scanner, "501 5.5.2 ")
}

func TestPosthornRcptPostmaster(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	io.WriteString(c, "MAIL FROM:<a@example.org>\r\n")
	expect(t, scanner, "250 ")
	io.WriteString(c, "RCPT TO:<PostMaster>\r\n")
	expect(t, scanner, "250 ")
	io.WriteString(c, "RCPT TO:<postmasterx>\r\n")
	expect(t, scanner, "501 5.5.2 ")
	io.WriteString(c, "DATA\r\n")
	expect(t, scanner, "354 ")
	io.WriteString(c, "x\r\n.\r\n")
	expect(t, scanner, "250 ")
	if len(be.messages) != 1 || len(be.messages[0].To) != 1 || be.messages[0].To[0] != "postmaster" {
		t.Fatalf("recipients: %+v", be.messages)
	}
}
