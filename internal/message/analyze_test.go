package message

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestAnalyzeIndex(t *testing.T) {
	msg := "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n" +
		"From: =?utf-8?q?J=C3=B6rg?= <Joerg@Example.COM>, b@x.example\r\n" +
		"To: Undisclosed:;, \"Zed\" <zed@x.example>\r\n" +
		"Cc: cc@x.example\r\n" +
		"Subject: =?utf-8?q?Re:_[list]_Fwd:_Gr=C3=BC=C3=9Fe?= (fwd)\r\n" +
		"Message-ID: <id1@x.example>\r\n" +
		"In-Reply-To: <id0@x.example> (comment)\r\n" +
		"References: <r1@x.example>\r\n <r2@x.example>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n" +
		"\r\n" +
		"--b\r\n" +
		"Content-Type: multipart/alternative; boundary=c\r\n" +
		"\r\n" +
		"--c\r\n" +
		"Content-Type: text/plain; charset=iso-8859-1\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"Hall=F6chen,   this is\r\n   the text.=\r\n\r\n" +
		"--c\r\n" +
		"Content-Type: text/html\r\n" +
		"\r\n" +
		"<html><head><title>T</title><style>p{}</style></head><body><p>Hall&ouml;chen</p><script>x()</script></body></html>\r\n" +
		"--c--\r\n" +
		"--b\r\n" +
		"Content-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"AAEC\r\n" +
		"--b--\r\n"
	m := mustAnalyze(t, msg)
	want := time.Date(2003, 7, 1, 10, 52, 37, 0, time.FixedZone("", 7200))
	if !m.Date.Equal(want) {
		t.Errorf("Date = %v", m.Date)
	}
	checks := []struct{ name, got, want string }{
		{"Subject", m.Subject, "Re: [list] Fwd: Grüße (fwd)"},
		{"BaseSubject", m.BaseSubject, "Grüße"},
		{"From", m.From, "Jörg <Joerg@Example.COM>, b@x.example"},
		{"To", m.To, "Undisclosed:;, Zed <zed@x.example>"},
		{"Cc", m.Cc, "cc@x.example"},
		{"SortFrom", m.SortFrom, "joerg"},
		{"SortTo", m.SortTo, "zed"},
		{"SortCc", m.SortCc, "cc"},
		{"DisplayFrom", m.DisplayFrom, "jörg"},
		{"DisplayTo", m.DisplayTo, "zed"},
		{"MessageID", m.MessageID, "<id1@x.example>"},
		{"InReplyTo", m.InReplyTo, "<id0@x.example>"},
		{"References", strings.Join(m.References, " "), "<r1@x.example> <r2@x.example>"},
		{"Preview", m.Preview, "Hallöchen, this is the text."},
		{"Envelope.Subject", m.Envelope.Subject, "=?utf-8?q?Re:_[list]_Fwd:_Gr=C3=BC=C3=9Fe?= (fwd)"},
		{"Envelope.InReplyTo", m.Envelope.InReplyTo, "<id0@x.example> (comment)"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !m.HasAttachment {
		t.Error("HasAttachment = false")
	}
	for _, s := range []string{"Grüße", "Jörg", "Hallöchen,   this is"} {
		if !strings.Contains(m.Text+"\n", s) {
			t.Errorf("Text lacks %q:\n%s", s, m.Text)
		}
	}
	for _, s := range []string{"x()", "p{}", "<p>", "AAEC"} {
		if strings.Contains(m.Text, s) {
			t.Errorf("Text has %q:\n%s", s, m.Text)
		}
	}
	if len(m.Envelope.Sender) != 2 || len(m.Envelope.ReplyTo) != 2 {
		t.Error("Sender and Reply-To must default to From (RFC 3501 §7.4.2)")
	}
}

func TestAnalyzeHTMLOnly(t *testing.T) {
	m := mustAnalyze(t, "Content-Type: multipart/alternative; boundary=b\r\n\r\n"+
		"--b\r\nContent-Type: text/html\r\n\r\n<p>Hall&ouml;chen</p><script>x()</script>\r\n--b--\r\n")
	if m.Text != "Hallöchen" || m.Preview != "Hallöchen" {
		t.Errorf("Text %q Preview %q", m.Text, m.Preview)
	}
}

func TestHasAttachment(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"Content-Type: text/plain\r\n\r\nx", false},
		{"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nx", true},
		{"Content-Type: text/plain; name=a.txt\r\n\r\nx", true},
		{"Content-Type: multipart/signed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--b--\r\n", false},
		{"Content-Type: multipart/related; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\nx\r\n--b\r\nContent-Type: image/png\r\nContent-ID: <i>\r\n\r\nimg\r\n--b--\r\n", false},
		{"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\nContent-Type: image/png\r\n\r\nimg\r\n--b--\r\n", true},
		{"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\ny\r\n--b--\r\n", true},
	}
	for _, tt := range tests {
		if got := mustAnalyze(t, tt.msg).HasAttachment; got != tt.want {
			t.Errorf("HasAttachment = %v, want %v for\n%s", got, tt.want, tt.msg)
		}
	}
}

func TestAnalyzeTextCap(t *testing.T) {
	body := strings.Repeat("abcdefghij\r\n", (MaxText/12)*2)
	m := mustAnalyze(t, "Subject: big\r\n\r\n"+body)
	if len(m.Text) > MaxText || len(m.Text) < MaxText/2 {
		t.Errorf("len(Text) = %d", len(m.Text))
	}
	if len(m.Preview) > previewLen+1 {
		t.Errorf("len(Preview) = %d", len(m.Preview))
	}
}

func TestHTMLToText(t *testing.T) {
	in := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head>
<body><!-- c --><h1>Title</h1><p>One&nbsp;&amp; <b>two</b></p><div>a<br>b</div>
<table><tr><td>c1</td><td>c2</td></tr></table><a href="x>y">link</a></body></html>`
	want := "Title\n\nOne & two\n\na\nb\n\nc1 c2\n\nlink"
	if got := htmlToText(in); got != want {
		t.Errorf("htmlToText =\n%q\nwant\n%q", got, want)
	}
}

func TestPartTextHTMLCharset(t *testing.T) {
	p := &Part{Type: "text", Subtype: "html", Encoding: "7bit"}
	body := []byte("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\"></head><body>\xf0\xd2\xc9\xd7\xc5\xd4</body></html>")
	if got := PartText(p, body); got != "Привет" {
		t.Errorf("PartText = %q", got)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestAnalyzeReadError(t *testing.T) {
	if _, err := Analyze(io.MultiReader(strings.NewReader("Subject: x\r\n"), errReader{})); err == nil {
		t.Error("Analyze ignored a read error")
	}
}
