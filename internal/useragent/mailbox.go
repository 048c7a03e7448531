package useragent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"posthorn/internal/message"
	"posthorn/internal/useragent/imapclient"
)

// Folder is one mailbox of the account.
type Folder struct {
	Name string
	// SpecialUse is the RFC 6154 role ("\Sent"), "" if none.
	SpecialUse string
	// Selectable is false for mere levels of the hierarchy; those have no
	// counts.
	Selectable       bool
	Messages, Unseen uint32
}

// Folders lists the mailboxes with their message counts (STATUS, RFC 3501
// §6.3.10), INBOX first, the rest by name.
func (a *Agent) Folders(ctx context.Context) ([]Folder, error) {
	var out []Folder
	err := a.session(ctx, func(c *imapclient.Client) error {
		boxes, err := c.List(ctx)
		if err != nil {
			return err
		}
		for _, m := range boxes {
			f := Folder{Name: m.Name, SpecialUse: m.SpecialUse(), Selectable: m.Selectable()}
			if f.Selectable {
				st, err := c.Status(ctx, m.Name)
				if err != nil {
					return err
				}
				f.Messages, f.Unseen = st.Messages, st.Unseen
			}
			out = append(out, f)
		}
		return nil
	})
	slices.SortStableFunc(out, func(x, y Folder) int {
		switch {
		case x.Name == "INBOX":
			return -1
		case y.Name == "INBOX":
			return 1
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out, err
}

// Summary is one line of a listing.
type Summary struct {
	// UID is the message's ID in its folder (the IMAP UID).
	UID   uint32
	Flags []string
	// Date is the Date field, else the internal (arrival) date.
	Date time.Time
	// From and To are the decoded first author and recipients.
	From, To string
	// Subject is the decoded subject.
	Subject string
	Size    int64
}

// Seen reports the \Seen flag (RFC 3501 §2.3.2).
func (s Summary) Seen() bool { return hasFlag(s.Flags, `\Seen`) }

// Flagged reports the \Flagged flag.
func (s Summary) Flagged() bool { return hasFlag(s.Flags, `\Flagged`) }

// Answered reports the \Answered flag.
func (s Summary) Answered() bool { return hasFlag(s.Flags, `\Answered`) }

func hasFlag(flags []string, f string) bool {
	return slices.ContainsFunc(flags, func(x string) bool { return strings.EqualFold(x, f) })
}

// Listing is the result of List or Search.
type Listing struct {
	Folder string
	// Total is how many messages matched; Messages may hold fewer (Limit).
	Total int
	// Messages are the newest matches, newest (highest ID) first.
	Messages []Summary
}

// ListOptions select what List shows.
type ListOptions struct {
	// Folder is the mailbox; "" means INBOX.
	Folder string
	// Unseen shows only messages without \Seen.
	Unseen bool
	// Limit keeps the newest Limit messages; 0 means all.
	Limit int
}

// List shows the messages of a folder. The folder is examined read-only
// (RFC 3501 §6.3.2), so listing changes nothing.
func (a *Agent) List(ctx context.Context, o ListOptions) (*Listing, error) {
	return a.query(ctx, folderOr(o.Folder), imapclient.SearchCriteria{Unseen: o.Unseen}, o.Limit)
}

// Search shows the messages of a folder that match a query (see
// ParseQuery), newest first, at most limit (0: all).
func (a *Agent) Search(ctx context.Context, folder string, query []string, limit int) (*Listing, error) {
	crit, err := ParseQuery(query)
	if err != nil {
		return nil, err
	}
	return a.query(ctx, folderOr(folder), crit, limit)
}

func folderOr(f string) string {
	if f == "" {
		return "INBOX"
	}
	return f
}

func (a *Agent) query(ctx context.Context, folder string, crit imapclient.SearchCriteria, limit int) (*Listing, error) {
	l := &Listing{Folder: folder}
	err := a.session(ctx, func(c *imapclient.Client) error {
		if _, err := c.Select(ctx, folder, true); err != nil {
			return err
		}
		uids, err := c.UIDSearch(ctx, crit)
		if err != nil {
			return err
		}
		l.Total = len(uids)
		if limit > 0 && len(uids) > limit {
			uids = uids[len(uids)-limit:]
		}
		l.Messages, err = summaries(ctx, c, uids)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// summaryItems are what a listing line needs (RFC 3501 §6.4.5).
var summaryItems = []string{"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}

// summaries fetches the listing lines of uids, highest UID first.
func summaries(ctx context.Context, c *imapclient.Client, uids []uint32) ([]Summary, error) {
	out := make([]Summary, 0, len(uids))
	err := c.UIDFetch(ctx, uids, summaryItems, func(m *imapclient.Message) error {
		out = append(out, summarize(m))
		return nil
	})
	slices.SortFunc(out, func(x, y Summary) int { return int(int64(y.UID) - int64(x.UID)) })
	return out, err
}

func summarize(m *imapclient.Message) Summary {
	s := Summary{UID: m.UID, Flags: m.Flags, Date: m.InternalDate, Size: m.Size}
	if e := m.Envelope; e != nil {
		if t, ok := message.ParseDate(e.Date); ok {
			s.Date = t
		}
		s.Subject = e.DecodedSubject()
		s.From = message.DisplayList(e.From)
		s.To = message.DisplayList(e.To)
	}
	return s
}

// ParseQuery turns search words into IMAP criteria (RFC 3501 §6.4.4). All
// must match. A word may name where to look: from:, to:, cc:, subject:,
// body:; "is:unseen" and "is:flagged" select by flag; any other word is
// looked for in the header and text (TEXT). A word with spaces, as a shell
// passes a quoted argument, is one phrase.
func ParseQuery(words []string) (imapclient.SearchCriteria, error) {
	var c imapclient.SearchCriteria
	for _, w := range words {
		if strings.TrimSpace(w) == "" {
			continue
		}
		key, val, ok := strings.Cut(w, ":")
		if !ok || strings.ContainsAny(key, " \t") {
			c.Text = append(c.Text, w)
			continue
		}
		if val == "" {
			return c, fmt.Errorf("search: %q needs something after the colon", w)
		}
		switch strings.ToLower(key) {
		case "from":
			c.From = append(c.From, val)
		case "to":
			c.To = append(c.To, val)
		case "cc":
			c.Cc = append(c.Cc, val)
		case "subject":
			c.Subject = append(c.Subject, val)
		case "body":
			c.Body = append(c.Body, val)
		case "is":
			switch strings.ToLower(val) {
			case "unseen", "unread", "new":
				c.Unseen = true
			case "flagged", "starred":
				c.Flagged = true
			default:
				return c, fmt.Errorf("search: unknown %q (is:unseen or is:flagged)", w)
			}
		default:
			c.Text = append(c.Text, w) // "re:", "http://...": just text
		}
	}
	if len(c.Text)+len(c.From)+len(c.To)+len(c.Cc)+len(c.Subject)+len(c.Body) == 0 && !c.Unseen && !c.Flagged {
		return c, fmt.Errorf("search: empty query")
	}
	return c, nil
}
