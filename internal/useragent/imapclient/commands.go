package imapclient

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"
)

// saslResp is a client response in an AUTHENTICATE exchange: sent on its
// own line after the server's continuation request (RFC 3501 §6.2.2).
type saslResp string

// Login authenticates: AUTHENTICATE PLAIN (RFC 4616) when the server
// offers it, with the initial response on the command line under SASL-IR
// (RFC 4959), else LOGIN (RFC 3501 §6.2.3). Either way the connection is
// already encrypted. Afterwards the capabilities are those of the
// authenticated state.
func (c *Client) Login(ctx context.Context, user, password string) error {
	before := c.caps
	var err error
	switch {
	case c.Has("AUTH=PLAIN"):
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
		if !c.Has("SASL-IR") {
			_, err = c.execute(ctx, "AUTHENTICATE", []any{"PLAIN", saslResp(ir)}, nil)
		} else {
			_, err = c.execute(ctx, "AUTHENTICATE", []any{"PLAIN", ir}, nil)
		}
	case c.Has("LOGINDISABLED"):
		return errors.New("imap: the server allows neither LOGIN nor AUTHENTICATE PLAIN")
	default:
		_, err = c.execute(ctx, "LOGIN", []any{qstr(user), qstr(password)}, nil)
	}
	if err != nil {
		return err
	}
	if sameCaps(before, c.caps) { // no CAPABILITY code in the reply
		return c.Capability(ctx)
	}
	return nil
}

func sameCaps(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// Logout ends the session (RFC 3501 §6.1.3) and closes the connection.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.execute(ctx, "LOGOUT", nil, nil)
	c.conn.Close()
	return err
}

// Special-use attributes of RFC 6154 §2.
const (
	SpecialAll     = `\All`
	SpecialArchive = `\Archive`
	SpecialDrafts  = `\Drafts`
	SpecialFlagged = `\Flagged`
	SpecialJunk    = `\Junk`
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
)

// Mailbox is one LIST reply (RFC 3501 §7.2.2).
type Mailbox struct {
	// Name is the mailbox name in UTF-8 (modified UTF-7 decoded); INBOX is
	// always spelled "INBOX".
	Name string
	// Delim is the hierarchy delimiter, "" if there is none.
	Delim string
	// Attrs are the name attributes as sent ("\HasNoChildren", "\Sent").
	Attrs []string
}

// HasAttr reports whether the mailbox has the attribute (case-insensitive).
func (m Mailbox) HasAttr(attr string) bool {
	return slices.ContainsFunc(m.Attrs, func(a string) bool { return strings.EqualFold(a, attr) })
}

// SpecialUse returns the mailbox's RFC 6154 special use ("\Sent"), or "".
func (m Mailbox) SpecialUse() string {
	for _, u := range []string{SpecialAll, SpecialArchive, SpecialDrafts, SpecialFlagged, SpecialJunk, SpecialSent, SpecialTrash} {
		if m.HasAttr(u) {
			return u
		}
	}
	return ""
}

// Selectable reports whether the mailbox can be selected (RFC 3501
// \Noselect, RFC 5258 \NonExistent).
func (m Mailbox) Selectable() bool {
	return !m.HasAttr(`\Noselect`) && !m.HasAttr(`\NonExistent`)
}

// List returns every mailbox (LIST "" "*"), with special-use attributes
// (RETURN (SPECIAL-USE), RFC 6154 §5.1) when the server offers them.
func (c *Client) List(ctx context.Context) ([]Mailbox, error) {
	args := []any{`""`, `"*"`}
	if c.Has("SPECIAL-USE") {
		args = append(args, "RETURN (SPECIAL-USE)")
	}
	var out []Mailbox
	_, err := c.execute(ctx, "LIST", args, func(r *Response) error {
		if r.Name != "LIST" {
			return nil
		}
		m, ok := parseList(r.Fields)
		if !ok {
			return protoErr("malformed LIST reply")
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// parseList reads mailbox-list: (attrs) delimiter name [extended data].
func parseList(f []Value) (Mailbox, bool) {
	if len(f) < 3 || f[0].Kind != List {
		return Mailbox{}, false
	}
	var m Mailbox
	for _, a := range f[0].List {
		if a.Kind == Atom {
			m.Attrs = append(m.Attrs, a.Str)
		}
	}
	d, ok := f[1].NString()
	name, ok2 := f[2].AString()
	if !ok || !ok2 {
		return Mailbox{}, false
	}
	m.Delim = d
	if u, err := DecodeMailbox(name); err == nil {
		name = u
	}
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	m.Name = name
	return m, true
}

// mailboxArg is a mailbox name as a command argument: modified UTF-7, as a
// string (RFC 3501 §5.1.3).
func mailboxArg(name string) qstr {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return qstr(EncodeMailbox(name))
}

// Create makes a mailbox (RFC 3501 §6.3.3); specialUse ("\Sent", or "")
// is asked for with CREATE-SPECIAL-USE (RFC 6154 §3) when offered.
func (c *Client) Create(ctx context.Context, name, specialUse string) error {
	args := []any{mailboxArg(name)}
	if specialUse != "" && c.Has("CREATE-SPECIAL-USE") {
		args = append(args, "(USE ("+specialUse+"))")
	}
	_, err := c.execute(ctx, "CREATE", args, nil)
	return err
}

// MailboxStatus is what STATUS or SELECT tells about a mailbox.
type MailboxStatus struct {
	Name        string
	Messages    uint32 // STATUS MESSAGES, SELECT EXISTS
	Unseen      uint32 // STATUS UNSEEN; not set by SELECT
	UIDNext     uint32
	UIDValidity uint32
	// ReadOnly is set by SELECT when the mailbox is read-only (EXAMINE
	// always is).
	ReadOnly bool
	// Flags and PermanentFlags are set by SELECT.
	Flags, PermanentFlags []string
}

// Status asks for a mailbox's counts without selecting it (RFC 3501 §6.3.10).
func (c *Client) Status(ctx context.Context, name string) (*MailboxStatus, error) {
	st := &MailboxStatus{Name: name}
	_, err := c.execute(ctx, "STATUS", []any{mailboxArg(name), "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)"}, func(r *Response) error {
		if r.Name != "STATUS" || len(r.Fields) < 2 || r.Fields[1].Kind != List {
			return nil
		}
		items := r.Fields[1].List
		for i := 0; i+1 < len(items); i += 2 {
			n, _ := items[i+1].Number()
			switch strings.ToUpper(items[i].Str) {
			case "MESSAGES":
				st.Messages = n
			case "UNSEEN":
				st.Unseen = n
			case "UIDNEXT":
				st.UIDNext = n
			case "UIDVALIDITY":
				st.UIDValidity = n
			}
		}
		return nil
	})
	return st, err
}

// Select opens a mailbox (RFC 3501 §6.3.1), or with readOnly examines it
// (§6.3.2) so that nothing in it changes.
func (c *Client) Select(ctx context.Context, name string, readOnly bool) (*MailboxStatus, error) {
	cmd := "SELECT"
	if readOnly {
		cmd = "EXAMINE"
	}
	st := &MailboxStatus{Name: name}
	resp, err := c.execute(ctx, cmd, []any{mailboxArg(name)}, func(r *Response) error {
		switch {
		case r.Name == "EXISTS":
			st.Messages = r.Num
		case r.Name == "FLAGS" && len(r.Fields) > 0:
			st.Flags = atoms(r.Fields[0])
		case r.Code == "UIDVALIDITY" && len(r.CodeArgs) > 0:
			st.UIDValidity, _ = r.CodeArgs[0].Number()
		case r.Code == "UIDNEXT" && len(r.CodeArgs) > 0:
			st.UIDNext, _ = r.CodeArgs[0].Number()
		case r.Code == "PERMANENTFLAGS" && len(r.CodeArgs) > 0:
			st.PermanentFlags = atoms(r.CodeArgs[0])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.ReadOnly = readOnly || resp.Code == "READ-ONLY"
	return st, nil
}

func atoms(v Value) []string {
	var out []string
	for _, a := range v.List {
		if a.Kind == Atom {
			out = append(out, a.Str)
		}
	}
	return out
}

// SearchCriteria select messages; all given criteria must match (RFC 3501
// §6.4.4). The zero value matches every message.
type SearchCriteria struct {
	Unseen  bool // UNSEEN
	Flagged bool // FLAGGED
	// Each string must occur (case-insensitive substring) in the named place.
	Text, Body, Subject, From, To, Cc []string
}

// args renders the criteria; utf8 reports whether a string is not ASCII,
// which needs CHARSET UTF-8.
func (s SearchCriteria) args() (args []any, utf8 bool) {
	if s.Unseen {
		args = append(args, "UNSEEN")
	}
	if s.Flagged {
		args = append(args, "FLAGGED")
	}
	for _, kv := range []struct {
		key  string
		vals []string
	}{{"TEXT", s.Text}, {"BODY", s.Body}, {"SUBJECT", s.Subject}, {"FROM", s.From}, {"TO", s.To}, {"CC", s.Cc}} {
		for _, v := range kv.vals {
			args = append(args, kv.key, qstr(v))
			for i := 0; i < len(v); i++ {
				utf8 = utf8 || v[i] >= 0x80
			}
		}
	}
	if len(args) == 0 {
		args = []any{"ALL"}
	}
	return args, utf8
}

// UIDSearch returns the UIDs of the selected mailbox's messages that match,
// ascending. It reads SEARCH (RFC 3501 §7.2.5) and ESEARCH (RFC 4731,
// IMAP4rev2) replies.
func (c *Client) UIDSearch(ctx context.Context, crit SearchCriteria) ([]uint32, error) {
	args, utf8 := crit.args()
	if utf8 {
		args = append([]any{"CHARSET", "UTF-8"}, args...)
	}
	var out []uint32
	_, err := c.execute(ctx, "UID SEARCH", args, func(r *Response) error {
		switch r.Name {
		case "SEARCH":
			for _, f := range r.Fields {
				if n, ok := f.Number(); ok {
					out = append(out, n)
				}
			}
		case "ESEARCH":
			for i, f := range r.Fields {
				if f.IsAtom("ALL") && i+1 < len(r.Fields) {
					set, ok := ParseSet(r.Fields[i+1].Str, c.r.lim.MaxValues)
					if !ok {
						return protoErr("malformed ESEARCH ALL")
					}
					out = append(out, set...)
				}
			}
		}
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// UIDFetch fetches items ("UID", "FLAGS", "ENVELOPE", "BODYSTRUCTURE",
// "BODY.PEEK[1]", ...) of the messages with the given UIDs (RFC 3501
// §6.4.5, §6.4.8) and calls fn for each, in the order the server sends
// them. Unsolicited FETCH replies for other messages are skipped.
func (c *Client) UIDFetch(ctx context.Context, uids []uint32, items []string, fn func(*Message) error) error {
	if len(uids) == 0 {
		return nil
	}
	want := map[uint32]bool{}
	for _, u := range uids {
		want[u] = true
	}
	set := FormatSet(uids)
	_, err := c.execute(ctx, "UID FETCH", []any{set, "(" + strings.Join(items, " ") + ")"}, func(r *Response) error {
		if r.Name != "FETCH" {
			return nil
		}
		m, err := ParseFetch(r)
		if err != nil {
			return err
		}
		if !want[m.UID] {
			return nil
		}
		return fn(m)
	})
	return err
}

// UIDStore changes flags (RFC 3501 §6.4.6): op is "+FLAGS.SILENT",
// "-FLAGS.SILENT" or "FLAGS.SILENT".
func (c *Client) UIDStore(ctx context.Context, uids []uint32, op string, flags []string) error {
	if len(uids) == 0 {
		return nil
	}
	_, err := c.execute(ctx, "UID STORE", []any{FormatSet(uids), op, "(" + strings.Join(flags, " ") + ")"}, nil)
	return err
}

// UIDCopy copies messages to another mailbox (RFC 3501 §6.4.7).
func (c *Client) UIDCopy(ctx context.Context, uids []uint32, dest string) error {
	_, err := c.execute(ctx, "UID COPY", []any{FormatSet(uids), mailboxArg(dest)}, nil)
	return err
}

// UIDMove moves messages to another mailbox: UID MOVE (RFC 6851) when the
// server has it, else the sequence §3.3 of that RFC describes: UID COPY,
// UID STORE +FLAGS.SILENT (\Deleted), UID EXPUNGE (RFC 4315). Without
// UIDPLUS the last step is a plain EXPUNGE, which also removes any other
// message marked \Deleted in the mailbox.
func (c *Client) UIDMove(ctx context.Context, uids []uint32, dest string) error {
	if len(uids) == 0 {
		return nil
	}
	if c.Has("MOVE") {
		_, err := c.execute(ctx, "UID MOVE", []any{FormatSet(uids), mailboxArg(dest)}, nil)
		return err
	}
	if err := c.UIDCopy(ctx, uids, dest); err != nil {
		return err
	}
	if err := c.UIDStore(ctx, uids, "+FLAGS.SILENT", []string{`\Deleted`}); err != nil {
		return err
	}
	return c.UIDExpunge(ctx, uids)
}

// UIDExpunge removes the given messages if they are marked \Deleted: UID
// EXPUNGE (RFC 4315 §2.1) when the server has UIDPLUS, else EXPUNGE
// (RFC 3501 §6.4.3), which removes every \Deleted message.
func (c *Client) UIDExpunge(ctx context.Context, uids []uint32) error {
	var err error
	if c.Has("UIDPLUS") {
		_, err = c.execute(ctx, "UID EXPUNGE", []any{FormatSet(uids)}, nil)
	} else {
		_, err = c.execute(ctx, "EXPUNGE", nil, nil)
	}
	return err
}

// Append adds a message to a mailbox (RFC 3501 §6.3.11) with the given
// flags and internal date (zero: the server's clock). It returns the new
// message's UID when the server tells it (RFC 4315 APPENDUID), else 0.
func (c *Client) Append(ctx context.Context, mailbox string, flags []string, date time.Time, msg []byte) (uint32, error) {
	args := []any{mailboxArg(mailbox), "(" + strings.Join(flags, " ") + ")"}
	if !date.IsZero() {
		args = append(args, `"`+date.Format("02-Jan-2006 15:04:05 -0700")+`"`)
	}
	args = append(args, lit(msg))
	resp, err := c.execute(ctx, "APPEND", args, nil)
	if err != nil {
		return 0, err
	}
	if resp.Code == "APPENDUID" && len(resp.CodeArgs) == 2 {
		uid, _ := resp.CodeArgs[1].Number()
		return uid, nil
	}
	return 0, nil
}

// Noop asks the server for pending updates (RFC 3501 §6.1.2).
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.execute(ctx, "NOOP", nil, nil)
	return err
}
