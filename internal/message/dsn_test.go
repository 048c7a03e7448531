package message

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

var (
	dsnDate    = time.Date(2024, 3, 9, 17, 4, 5, 0, time.UTC)
	dsnArrival = time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)
)

const dsnOriginal = "From: Alice <alice@posthorn.example>\n" +
	"To: bob@remote.example\n" +
	"Subject: Lunch?\n" +
	"Message-ID: <orig1@posthorn.example>\n" +
	"\n" +
	"Shall we?\n"

func TestBuildDSNGolden(t *testing.T) {
	tests := []struct {
		name string
		d    DSN
	}{
		{"failed-full", DSN{
			ReportingMTA: "mx.posthorn.example", To: "alice@posthorn.example", Date: dsnDate,
			MessageID: "<dsn1@mx.posthorn.example>", EnvelopeID: "QQ314159", ArrivalDate: dsnArrival,
			Recipients: []DSNRecipient{{
				FinalRecipient: "bob@remote.example", OriginalRecipient: "rfc822;Bob@Remote.example",
				Action: ActionFailed, Status: "5.1.1", RemoteMTA: "mx1.remote.example",
				DiagnosticCode: "550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown in virtual mailbox table",
				LastAttempt:    dsnDate,
			}},
			Original: []byte(dsnOriginal),
		}},
		{"delayed-headers", DSN{
			ReportingMTA: "mx.posthorn.example", To: "alice@posthorn.example", Date: dsnDate,
			MessageID: "<dsn2@mx.posthorn.example>", ArrivalDate: dsnArrival,
			Recipients: []DSNRecipient{
				{FinalRecipient: "bob@remote.example", Action: ActionDelayed, Status: "4.4.1",
					DiagnosticCode: "connect to mx1.remote.example[192.0.2.1]:25: Connection timed out",
					LastAttempt:    dsnDate, WillRetryUntil: dsnArrival.Add(5 * 24 * time.Hour)},
				{FinalRecipient: "carol@remote.example", Action: ActionDelayed, Status: "4.2.2",
					RemoteMTA: "mx1.remote.example", DiagnosticCode: "452 4.2.2 Mailbox full", LastAttempt: dsnDate},
			},
			Original: []byte(dsnOriginal), HeadersOnly: true,
		}},
		{"relayed-utf8", DSN{
			ReportingMTA: "mx.posthorn.example", To: "jörg@posthorn.example", Date: dsnDate,
			MessageID: "<dsn3@mx.posthorn.example>",
			Recipients: []DSNRecipient{{FinalRecipient: "dörte@remote.example", Action: ActionRelayed,
				Status: "2.0.0", RemoteMTA: "legacy.remote.example"}},
			Original: []byte("From: jörg@posthorn.example\r\nSubject: Grüße\r\n\r\nHallo\r\n"),
		}},
		{"failed-too-large", DSN{
			ReportingMTA: "mx.posthorn.example", To: "alice@posthorn.example", Date: dsnDate,
			Recipients: []DSNRecipient{{FinalRecipient: "bob@remote.example", Action: ActionFailed,
				Status: "5.3.4", DiagnosticCode: "552 5.3.4 Message too big"}},
			Original:    []byte(dsnOriginal + strings.Repeat("x", 100) + "\n"),
			MaxOriginal: 100,
		}},
	}
	for _, tt := range tests {
		out, err := BuildDSN(tt.d)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		checkGolden(t, "dsn/"+tt.name+".eml", out)
		checkDSN(t, tt.name, tt.d, out)
	}
}

// checkDSN parses a generated DSN and checks its RFC 3464 shape.
func checkDSN(t *testing.T, name string, d DSN, out []byte) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(out, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("%s: bare LF in DSN", name)
	}
	m, err := Analyze(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	root := m.Structure
	if root.MediaType() != "multipart/report" || root.Param("report-type") != "delivery-status" || len(root.Parts) != 3 {
		t.Fatalf("%s: structure %s %q with %d parts", name, root.MediaType(), root.Params, len(root.Parts))
	}
	h, _ := ParseHeader(out)
	if h.Get("Auto-Submitted") != "auto-replied" || !strings.HasPrefix(h.Get("From"), "Mail Delivery System <MAILER-DAEMON@") {
		t.Errorf("%s: header %q", name, h)
	}
	if root.Parts[0].MediaType() != "text/plain" {
		t.Errorf("%s: first part %s", name, root.Parts[0].MediaType())
	}
	st := root.Parts[1]
	if !strings.HasSuffix(st.MediaType(), "delivery-status") {
		t.Errorf("%s: second part %s", name, st.MediaType())
	}
	status := string(out[st.BodyStart:st.BodyEnd])
	groups := strings.Split(status, "\r\n\r\n")
	if len(groups) != 1+len(d.Recipients) {
		t.Errorf("%s: %d field groups, want %d:\n%s", name, len(groups), 1+len(d.Recipients), status)
	}
	for i, r := range d.Recipients {
		g, _ := ParseHeader([]byte(groups[i+1] + "\r\n"))
		if g.Get("Action") != string(r.Action) || g.Get("Status") != r.Status || !strings.HasSuffix(g.Get("Final-Recipient"), r.FinalRecipient) {
			t.Errorf("%s: recipient %d fields %q", name, i, g)
		}
	}
	orig := root.Parts[2]
	if d.HeadersOnly || (d.MaxOriginal > 0 && len(d.Original) > d.MaxOriginal) {
		if !strings.HasSuffix(orig.MediaType(), "-headers") {
			t.Errorf("%s: third part %s", name, orig.MediaType())
		}
	} else if !orig.IsMessage() {
		t.Errorf("%s: third part %s not parsed as a message", name, orig.MediaType())
	} else if got, want := string(out[orig.BodyStart:orig.BodyEnd]), string(toCRLF(d.Original)); got != want {
		t.Errorf("%s: returned message %q, want %q", name, got, want)
	}
}

func TestBuildDSNErrors(t *testing.T) {
	ok := DSN{ReportingMTA: "h", To: "a@b", Recipients: []DSNRecipient{{FinalRecipient: "c@d", Action: ActionFailed, Status: "5.0.0"}}}
	if _, err := BuildDSN(ok); err != nil {
		t.Errorf("minimal DSN: %v", err)
	}
	for _, bad := range []func(*DSN){
		func(d *DSN) { d.To = "" },
		func(d *DSN) { d.Recipients = nil },
		func(d *DSN) { d.ReportingMTA = "" },
	} {
		d := ok
		bad(&d)
		if _, err := BuildDSN(d); err == nil {
			t.Errorf("BuildDSN(%+v) succeeded", d)
		}
	}
}

func TestBuildDSNSubjects(t *testing.T) {
	for action, want := range map[DSNAction]string{
		ActionFailed:    "Undelivered Mail Returned to Sender",
		ActionDelayed:   "Delayed Mail (still being retried)",
		ActionDelivered: "Successful Mail Delivery Report",
	} {
		out, err := BuildDSN(DSN{ReportingMTA: "h", To: "a@b", Date: dsnDate,
			Recipients: []DSNRecipient{{FinalRecipient: "c@d", Action: action, Status: "2.0.0"}}})
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := ParseHeader(out); h.Get("Subject") != want {
			t.Errorf("%s: Subject %q", action, h.Get("Subject"))
		}
	}
}
