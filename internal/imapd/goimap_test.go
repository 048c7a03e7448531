package imapd

import (
	"crypto/tls"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// Integration tests with a real client: go-imap v2's imapclient over
// 127.0.0.1, STARTTLS with the harness's self-signed certificate.

func dialGoIMAP(t *testing.T, h *harness, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	c, err := imapclient.DialStartTLS(h.addr, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("alice@example.test", testPassword).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

func TestGoIMAPCapabilities(t *testing.T) {
	h := newHarness(t)
	c := dialGoIMAP(t, h, nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{imap.CapIMAP4rev1, imap.CapIMAP4rev2, imap.CapIdle, imap.CapUIDPlus, imap.CapMove,
		imap.CapCondStore, imap.CapQResync, imap.CapSort, imap.CapESearch, imap.CapSearchRes, imap.CapBinary,
		imap.CapSpecialUse, imap.CapListStatus, imap.CapLiteralPlus} {
		if !caps.Has(want) {
			t.Errorf("capability %s missing", want)
		}
	}
	if caps.Has(imap.CapStartTLS) {
		t.Error("STARTTLS advertised after TLS")
	}
}

func TestGoIMAPMailboxes(t *testing.T) {
	h := newHarness(t)
	c := dialGoIMAP(t, h, nil)
	if err := c.Create("Projects/2024/Q1", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Zürich", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*imap.ListData{}
	for _, l := range list {
		names[l.Mailbox] = l
	}
	for _, n := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Projects", "Projects/2024", "Projects/2024/Q1", "Zürich"} {
		if names[n] == nil {
			t.Errorf("LIST lacks %q (got %v)", n, names)
		}
	}
	if l := names["Sent"]; l == nil || !hasAttr(l.Attrs, imap.MailboxAttrSent) {
		t.Errorf("Sent lacks \\Sent: %+v", l)
	}
	if l := names["Projects"]; l == nil || !hasAttr(l.Attrs, imap.MailboxAttrHasChildren) {
		t.Errorf("Projects lacks \\HasChildren: %+v", l)
	}
	if err := c.Rename("Projects", "Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("Work/2024/Q1", &imap.StatusOptions{NumMessages: true, UIDValidity: true}).Wait()
	if err != nil {
		t.Fatalf("children did not follow RENAME: %v", err)
	}
	if st.NumMessages == nil || *st.NumMessages != 0 {
		t.Errorf("STATUS %+v", st)
	}
	if err := c.Delete("Zürich").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Error("DELETE INBOX succeeded")
	}
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

func TestGoIMAPAppendFetchStore(t *testing.T) {
	h := newHarness(t)
	c := dialGoIMAP(t, h, nil)
	date := time.Date(2023, 3, 4, 5, 6, 7, 0, time.FixedZone("", 2*3600))
	cmd := c.Append("INBOX", int64(len(simpleMessage)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagFlagged, "$Work"}, Time: date})
	io.WriteString(cmd, simpleMessage)
	cmd.Close()
	ad, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ad.UID != 1 || ad.UIDValidity == 0 {
		t.Errorf("APPENDUID %+v", ad)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 || sel.UIDValidity != ad.UIDValidity {
		t.Fatalf("SELECT %+v", sel)
	}
	secHeader := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	secPart := &imap.FetchItemBodySection{Part: []int{1}, Peek: true}
	secFields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	secPartial := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: 4}}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, InternalDate: true, RFC822Size: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{secHeader, secPart, secFields, secPartial},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.UID != 1 || m.Envelope.Subject != "Hello there" || m.Envelope.From[0].Addr() != "alice@example.test" {
		t.Errorf("FETCH %+v / %+v", m, m.Envelope)
	}
	if !m.InternalDate.Equal(date) || m.RFC822Size != int64(len(simpleMessage)) {
		t.Errorf("INTERNALDATE %v RFC822.SIZE %d", m.InternalDate, m.RFC822Size)
	}
	if !hasFlag(m.Flags, imap.FlagFlagged) || !hasFlag(m.Flags, "$Work") || hasFlag(m.Flags, imap.FlagSeen) {
		t.Errorf("FLAGS %v", m.Flags)
	}
	bs, ok := m.BodyStructure.(*imap.BodyStructureSinglePart)
	if !ok || bs.Type != "TEXT" || bs.Subtype != "PLAIN" || bs.Size != 26 {
		t.Errorf("BODYSTRUCTURE %#v", m.BodyStructure)
	}
	if s := string(m.FindBodySection(secHeader)); !strings.HasSuffix(s, "<hello@example.test>\r\n\r\n") {
		t.Errorf("BODY[HEADER] = %q", s)
	}
	if s := string(m.FindBodySection(secPart)); s != "Hi Bob,\r\nthis is a test.\r\n" {
		t.Errorf("BODY[1] = %q", s)
	}
	if s := string(m.FindBodySection(secFields)); s != "Subject: Hello there\r\n\r\n" {
		t.Errorf("HEADER.FIELDS = %q", s)
	}
	if s := string(m.FindBodySection(secPartial)); s != "From" {
		t.Errorf("partial = %q", s)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	msgs, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || !hasFlag(msgs[0].Flags, imap.FlagSeen) {
		t.Errorf("after STORE: %v %v", msgs[0].Flags, err)
	}
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

func TestGoIMAPCopyMoveExpunge(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 5; i++ {
		h.deliver(h.alice, "INBOX", simpleMessage, 0)
	}
	c := dialGoIMAP(t, h, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(imap.SeqSetNum(1, 2), "Archive").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if cd.DestUIDs.String() != "1:2" || cd.SourceUIDs.String() != "1:2" {
		t.Errorf("COPYUID %+v", cd)
	}
	md, err := c.Move(imap.SeqSetNum(3), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.SourceUIDs.String() != "3" {
		t.Errorf("MOVE COPYUID %+v", md)
	}
	if n := c.Mailbox().NumMessages; n != 4 {
		t.Errorf("after MOVE: %d messages", n)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	exp, err := c.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 1 || exp[0] != 1 {
		t.Errorf("EXPUNGE %v", exp)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := data.AllUIDs(); len(got) != 3 || got[0] != 2 || got[2] != 5 {
		t.Errorf("UIDs left %v", got)
	}
}

func TestGoIMAPIdleSeesOtherSession(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	exists := make(chan uint32, 10)
	expunged := make(chan uint32, 10)
	c := dialGoIMAP(t, h, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				mu.Lock()
				exists <- *d.NumMessages
				mu.Unlock()
			}
		},
		Expunge: func(seq uint32) { expunged <- seq },
	}})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	h.deliver(h.alice, "INBOX", simpleMessage, 0)
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EXISTS during IDLE")
	}
	other := dialGoIMAP(t, h, nil)
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := other.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-expunged:
		if n != 1 {
			t.Errorf("EXPUNGE %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EXPUNGE during IDLE")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestGoIMAPSearchSortThread(t *testing.T) {
	h := newHarness(t)
	msg := func(subj, date, id, refs, body string) string {
		s := "From: x@example.test\r\nSubject: " + subj + "\r\nDate: " + date + "\r\nMessage-ID: " + id + "\r\n"
		if refs != "" {
			s += "References: " + refs + "\r\n"
		}
		return s + "\r\n" + body + "\r\n"
	}
	h.deliver(h.alice, "INBOX", msg("Apples", "Mon, 1 Jan 2024 10:00:00 +0000", "<a@x>", "", "We talk about marmalade here."), 0)
	h.deliver(h.alice, "INBOX", msg("Re: Apples", "Tue, 2 Jan 2024 10:00:00 +0000", "<b@x>", "<a@x>", "Reply."), 0)
	h.deliver(h.alice, "INBOX", msg("Bananas", "Sun, 31 Dec 2023 10:00:00 +0000", "<c@x>", "", "Nothing."), 0)
	c := dialGoIMAP(t, h, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "apples"}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := data.AllUIDs(); len(got) != 2 {
		t.Errorf("SUBJECT apples: %v", got)
	}
	data, err = c.UIDSearch(&imap.SearchCriteria{Body: []string{"marmalade"}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := data.AllUIDs(); len(got) != 1 || got[0] != 1 {
		t.Errorf("BODY marmalade: %v", got)
	}
	sorted, err := c.UIDSort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{},
		SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKeyDate, Reverse: true}}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(sorted) != 3 || sorted[0] != 2 || sorted[2] != 3 {
		t.Errorf("SORT (REVERSE DATE) %v", sorted)
	}
	threads, err := c.UIDThread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences, SearchCriteria: &imap.SearchCriteria{}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(threads) != 2 || threads[0].Chain[0] != 3 || len(threads[1].Chain) != 2 {
		t.Errorf("THREAD REFERENCES %+v", threads)
	}
}

func TestGoIMAPAuthenticatePlain(t *testing.T) {
	h := newHarness(t)
	c, err := imapclient.DialInsecure(h.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", "bob@example.test", testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.Authenticate(sasl.NewPlainClient("", "bob@example.test", testPassword)); err == nil {
		t.Error("second AUTHENTICATE accepted")
	}
}
