package imapclient

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"testing"
	"time"

	"posthorn/internal/servertest"
)

// The client against a whole Posthorn on 127.0.0.1 (servertest): real
// sockets, STARTTLS with the server's self-signed certificate.

func dialPosthorn(t *testing.T, s *servertest.Server, ignore ...string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), s.Addr("imap"), Options{
		TLS: &tls.Config{InsecureSkipVerify: true}, IgnoreCapabilities: ignore, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(t *testing.T, c *Client, user string) {
	t.Helper()
	if err := c.Login(context.Background(), user, servertest.Password); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
}

func TestClientTLSAndLogin(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()

	// The certificate is verified unless the caller says otherwise.
	if _, err := Dial(ctx, s.Addr("imap"), Options{}); err == nil {
		t.Fatal("a self-signed certificate was accepted without InsecureSkipVerify")
	}

	for _, ignore := range [][]string{nil, {"SASL-IR"}, {"AUTH=PLAIN"}} {
		c := dialPosthorn(t, s, ignore...)
		if st := c.TLSConnectionState(); !st.HandshakeComplete {
			t.Fatal("no TLS after Dial")
		}
		if c.Has("STARTTLS") {
			t.Error("STARTTLS still announced after the upgrade")
		}
		err := c.Login(ctx, "alice@example.test", "wrong")
		var ie *Error
		if !errors.As(err, &ie) || ie.Status != "NO" {
			t.Fatalf("ignore %v: bad password gave %v", ignore, err)
		}
		login(t, c, "alice@example.test")
		if !c.Has("MOVE") || !c.Has("UIDPLUS") {
			t.Errorf("ignore %v: authenticated capabilities %v", ignore, c.Capabilities())
		}
		if err := c.Logout(ctx); err != nil {
			t.Errorf("logout: %v", err)
		}
		if err := c.Noop(ctx); err == nil {
			t.Error("command after LOGOUT succeeded")
		}
	}
}

func TestClientMailboxes(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	c := dialPosthorn(t, s)
	login(t, c, "alice@example.test")
	if err := c.Create(ctx, "Zürich & Co", ""); err != nil {
		t.Fatal(err)
	}
	boxes, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Mailbox{}
	for _, m := range boxes {
		byName[m.Name] = m
	}
	for name, use := range map[string]string{"INBOX": "", "Sent": SpecialSent, "Trash": SpecialTrash, "Zürich & Co": ""} {
		m, ok := byName[name]
		if !ok {
			t.Errorf("LIST lacks %q: %v", name, boxes)
			continue
		}
		if m.SpecialUse() != use || !m.Selectable() {
			t.Errorf("%q: special use %q, selectable %v", name, m.SpecialUse(), m.Selectable())
		}
	}
	if err := c.Create(ctx, "Zürich & Co", ""); err == nil {
		t.Error("creating an existing mailbox succeeded")
	}
	st, err := c.Status(ctx, "Zürich & Co")
	if err != nil || st.Messages != 0 || st.UIDValidity == 0 {
		t.Errorf("STATUS: %+v %v", st, err)
	}
	if _, err := c.Select(ctx, "Nope", false); err == nil {
		t.Error("SELECT of a missing mailbox succeeded")
	}
}

const sampleMessage = "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <s1@example.test>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nK=C3=A4se und Brot\r\n--b\r\nContent-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename*=utf-8''d%C3%A4ta.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"

// exerciseMessages appends, searches, fetches, flags and moves; ignore
// switches server extensions off to take the fallback paths.
func exerciseMessages(t *testing.T, s *servertest.Server, ignore ...string) {
	ctx := context.Background()
	c := dialPosthorn(t, s, ignore...)
	login(t, c, "bob@example.test")
	date := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	uid, err := c.Append(ctx, "INBOX", []string{`\Seen`}, date, []byte(sampleMessage))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(ctx, "INBOX", nil, time.Time{}, []byte("Subject: other\r\n\r\nnothing\r\n")); err != nil {
		t.Fatal(err)
	}
	st, err := c.Select(ctx, "INBOX", false)
	if err != nil || st.Messages != 2 || st.ReadOnly || st.UIDValidity == 0 || st.UIDNext == 0 {
		t.Fatalf("SELECT: %+v %v", st, err)
	}
	if c.Has("UIDPLUS") && uid == 0 {
		t.Error("no APPENDUID")
	}
	found, err := c.UIDSearch(ctx, SearchCriteria{Text: []string{"Käse"}})
	if err != nil || len(found) != 1 {
		t.Fatalf("SEARCH TEXT Käse: %v %v", found, err)
	}
	uid = found[0]
	if all, err := c.UIDSearch(ctx, SearchCriteria{}); err != nil || len(all) != 2 {
		t.Errorf("SEARCH ALL: %v %v", all, err)
	}
	if unseen, err := c.UIDSearch(ctx, SearchCriteria{Unseen: true}); err != nil || len(unseen) != 1 || unseen[0] == uid {
		t.Errorf("SEARCH UNSEEN: %v %v", unseen, err)
	}
	var got *Message
	err = c.UIDFetch(ctx, []uint32{uid}, []string{"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY.PEEK[1]", "BODY.PEEK[2]"}, func(m *Message) error {
		got = m
		return nil
	})
	if err != nil || got == nil {
		t.Fatalf("FETCH: %v %v", got, err)
	}
	if got.Envelope.DecodedSubject() != "Grüße" || got.Size != int64(len(sampleMessage)) || !got.InternalDate.Equal(date) || !got.HasFlag(`\Seen`) {
		t.Errorf("fetched %+v %+v", got, got.Envelope)
	}
	if p := got.Structure.Section(2); p == nil || p.Filename() != "däta.bin" {
		t.Errorf("structure %+v", got.Structure)
	}
	if string(got.Sections["1"]) != "K=C3=A4se und Brot" || string(got.Sections["2"]) != "AAEC" {
		t.Errorf("sections %q", got.Sections)
	}
	if err := c.UIDStore(ctx, []uint32{uid}, "+FLAGS.SILENT", []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	if flagged, err := c.UIDSearch(ctx, SearchCriteria{Flagged: true}); err != nil || !slices.Equal(flagged, []uint32{uid}) {
		t.Errorf("SEARCH FLAGGED after STORE: %v %v", flagged, err)
	}
	if err := c.UIDMove(ctx, []uint32{uid}, "Trash"); err != nil {
		t.Fatal(err)
	}
	if left, err := c.UIDSearch(ctx, SearchCriteria{}); err != nil || len(left) != 1 || left[0] == uid {
		t.Errorf("INBOX after MOVE: %v %v", left, err)
	}
	if st, err := c.Status(ctx, "Trash"); err != nil || st.Messages != 1 {
		t.Errorf("Trash after MOVE: %+v %v", st, err)
	}
	var ie *Error
	if err := c.UIDMove(ctx, []uint32{uid + 100}, "Nope"); !errors.As(err, &ie) {
		t.Errorf("MOVE to a missing mailbox: %v", err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Errorf("connection unusable after a NO: %v", err)
	}
}

func TestClientMessages(t *testing.T) {
	exerciseMessages(t, servertest.Start(t))
}

// TestClientFallbacks runs the same as a server without MOVE, UIDPLUS,
// LITERAL+/- (synchronizing literals) and SASL-IR would make the client do.
func TestClientFallbacks(t *testing.T) {
	exerciseMessages(t, servertest.Start(t), "MOVE", "UIDPLUS", "LITERAL+", "LITERAL-", "SASL-IR")
}

func TestClientContextCancel(t *testing.T) {
	s := servertest.Start(t)
	c := dialPosthorn(t, s)
	login(t, c, "alice@example.test")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Noop(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("NOOP with a cancelled context: %v", err)
	}
	if err := c.Noop(context.Background()); err != nil {
		t.Errorf("a command refused before it was sent spoiled the connection: %v", err)
	}
}
