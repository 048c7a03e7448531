package useragent

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"posthorn/internal/message"
	"posthorn/internal/useragent/imapclient"
)

// ReadOptions select how Read works.
type ReadOptions struct {
	// Folder is the mailbox; "" means INBOX.
	Folder string
	// SaveDir, when set, is where attachments are saved (created if
	// missing).
	SaveDir string
	// Peek leaves the message unseen; otherwise reading sets \Seen.
	Peek bool
}

// Letter is a message as Read shows it.
type Letter struct {
	UID    uint32
	Folder string
	Flags  []string
	// Date is the Date field as written; Time is it parsed, else the
	// arrival time.
	Date string
	Time time.Time
	// From, To, Cc, ReplyTo and Subject are decoded for display.
	From, To, Cc, ReplyTo, Subject string
	// Text is the message text (the text/plain part, or text/html turned
	// into text when there is no plain one), with LF line ends.
	Text string
	// Attachments are the other parts, in order.
	Attachments []AttachmentInfo
}

// AttachmentInfo describes one attachment.
type AttachmentInfo struct {
	// Section is the IMAP part number ("2", "1.3").
	Section string
	// Filename is the part's file name, or one made up from the section
	// and type when it has none.
	Filename string
	// Type is the media type ("application/pdf").
	Type string
	// Size is the encoded size in octets, as BODYSTRUCTURE reports it.
	Size int64
	// SavedAs is the path it was saved to, "" when not saved.
	SavedAs string
}

// Read fetches one message by ID (its UID in the folder): the structure
// first, then only the text part, and each attachment only when it is to
// be saved.
func (a *Agent) Read(ctx context.Context, uid uint32, o ReadOptions) (*Letter, error) {
	folder := folderOr(o.Folder)
	var l *Letter
	err := a.session(ctx, func(c *imapclient.Client) error {
		if _, err := c.Select(ctx, folder, o.Peek); err != nil {
			return err
		}
		var m *imapclient.Message
		items := append(summaryItems[:len(summaryItems):len(summaryItems)], "BODYSTRUCTURE")
		if err := c.UIDFetch(ctx, []uint32{uid}, items, func(fm *imapclient.Message) error {
			m = fm
			return nil
		}); err != nil {
			return err
		}
		if m == nil || m.Structure == nil {
			return fmt.Errorf("%w: ID %d in %s", ErrNoMessage, uid, folder)
		}
		var err error
		if l, err = a.letter(ctx, c, m, folder, o); err != nil {
			return err
		}
		if !o.Peek && !m.HasFlag(`\Seen`) {
			return c.UIDStore(ctx, []uint32{uid}, "+FLAGS.SILENT", []string{`\Seen`})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// letter builds the Letter: header fields from the envelope, the text
// parts fetched and decoded, attachments listed and saved.
func (a *Agent) letter(ctx context.Context, c *imapclient.Client, m *imapclient.Message, folder string, o ReadOptions) (*Letter, error) {
	s := summarize(m)
	l := &Letter{UID: m.UID, Folder: folder, Flags: m.Flags, Time: s.Date, From: s.From, To: s.To, Subject: s.Subject}
	if e := m.Envelope; e != nil {
		l.Date = e.Date
		l.Cc = message.DisplayList(e.Cc)
		if !sameAddresses(e.ReplyTo, e.From) {
			l.ReplyTo = message.DisplayList(e.ReplyTo)
		}
	}
	texts, atts := splitParts(m.Structure)
	var texts2 []string
	for _, t := range texts {
		raw, err := fetchSection(ctx, c, m.UID, t.section)
		if err != nil {
			return nil, err
		}
		texts2 = append(texts2, strings.TrimRight(message.PartText(t.part, raw), "\n"))
	}
	l.Text = strings.Join(texts2, "\n\n")
	for _, at := range atts {
		info := AttachmentInfo{Section: at.section, Filename: attachmentName(at), Type: at.part.MediaType(), Size: at.part.Size}
		if o.SaveDir != "" {
			raw, err := fetchSection(ctx, c, m.UID, at.section)
			if err != nil {
				return nil, err
			}
			if info.SavedAs, err = saveFile(o.SaveDir, info.Filename, decodeTransfer(at.part.Encoding, raw)); err != nil {
				return nil, err
			}
		}
		l.Attachments = append(l.Attachments, info)
	}
	return l, nil
}

func sameAddresses(a, b []message.Address) bool {
	return message.DisplayList(a) == message.DisplayList(b)
}

// fetchSection fetches BODY.PEEK[section] (RFC 3501 §6.4.5): PEEK, so that
// \Seen is set only on purpose.
func fetchSection(ctx context.Context, c *imapclient.Client, uid uint32, section string) ([]byte, error) {
	var out []byte
	found := false
	err := c.UIDFetch(ctx, []uint32{uid}, []string{"BODY.PEEK[" + section + "]"}, func(m *imapclient.Message) error {
		if b, ok := m.Sections[section]; ok {
			out, found = b, true
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("the server sent no BODY[%s]", section)
	}
	return out, err
}

// partRef is a leaf part and its IMAP section number.
type partRef struct {
	part    *message.Part
	section string
}

// splitParts decides what a reader sees as text and what as attachments.
// In a multipart/alternative (RFC 2046 §5.1.4) the plain text wins over
// HTML and the other alternatives are neither shown nor listed; in other
// multiparts every inline text/plain part is text. An HTML part is text
// only when no plain text was found. Everything else, encapsulated
// messages included, is an attachment.
func splitParts(root *message.Part) (texts, atts []partRef) {
	var html []partRef
	var walk func(p *message.Part, section string)
	walk = func(p *message.Part, section string) {
		switch {
		case p.IsMultipart() && p.Subtype == "alternative":
			if best, sec := chooseAlternative(p, section); best != nil {
				walk(best, sec)
			}
		case p.IsMultipart():
			for i, c := range p.Parts {
				walk(c, childSection(section, i))
			}
		case isInlineText(p, "plain"):
			texts = append(texts, partRef{p, leafSection(section)})
		case isInlineText(p, "html"):
			html = append(html, partRef{p, leafSection(section)})
		default:
			atts = append(atts, partRef{p, leafSection(section)})
		}
	}
	walk(root, "")
	if len(texts) == 0 && len(html) > 0 {
		texts, html = html[:1], html[1:]
	}
	// HTML parts that are not the text (inline HTML next to plain text in
	// a multipart/mixed) are listed so that nothing goes unseen.
	return texts, append(atts, html...)
}

// chooseAlternative picks from a multipart/alternative: text/plain first,
// then a nested multipart (which may hold it), then text/html.
func chooseAlternative(p *message.Part, section string) (*message.Part, string) {
	for _, want := range []func(*message.Part) bool{
		func(c *message.Part) bool { return isInlineText(c, "plain") },
		func(c *message.Part) bool { return c.IsMultipart() },
		func(c *message.Part) bool { return isInlineText(c, "html") },
	} {
		for i, c := range p.Parts {
			if want(c) {
				return c, childSection(section, i)
			}
		}
	}
	if len(p.Parts) > 0 {
		return p.Parts[0], childSection(section, 0)
	}
	return nil, ""
}

func isInlineText(p *message.Part, subtype string) bool {
	return p.Type == "text" && p.Subtype == subtype && p.Disposition != "attachment"
}

// childSection numbers the i-th part of a multipart (RFC 3501 §6.4.5).
func childSection(parent string, i int) string {
	if parent == "" {
		return strconv.Itoa(i + 1)
	}
	return parent + "." + strconv.Itoa(i+1)
}

// leafSection is the section of a leaf: a message that is not multipart
// has its body as part "1".
func leafSection(section string) string {
	if section == "" {
		return "1"
	}
	return section
}

// attachmentName is the part's file name, else "part-N.ext".
func attachmentName(r partRef) string {
	if n := r.part.Filename(); n != "" {
		return n
	}
	ext := ".bin"
	switch mt := r.part.MediaType(); mt {
	case "message/rfc822", "message/global":
		ext = ".eml"
	case "text/plain":
		ext = ".txt"
	default:
		if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
			ext = exts[0]
		}
	}
	return "part-" + r.section + ext
}

// decodeTransfer undoes a Content-Transfer-Encoding (RFC 2045 §6). Broken
// encodings yield what can be read, as readers do.
func decodeTransfer(enc string, raw []byte) []byte {
	switch strings.ToLower(enc) {
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, raw)
		clean = bytes.TrimRight(clean, "=")
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
		n, _ := base64.RawStdEncoding.Decode(out, clean)
		return out[:n]
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		return out
	}
	return raw
}

// saveFile writes data to a new file in dir named after name. The name is
// cut to its last path element and cleaned; an existing file is never
// overwritten: "a.pdf" becomes "a-1.pdf" and so on.
func saveFile(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name = safeFilename(name)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 1000; i++ {
		candidate := name
		if i > 0 {
			candidate = stem + "-" + strconv.Itoa(i) + ext
		}
		path := filepath.Join(dir, candidate)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, werr := f.Write(data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return "", werr
		}
		return path, nil
	}
	return "", fmt.Errorf("no free file name for %q in %s", name, dir)
}

// safeFilename keeps a file name inside the directory: no separators, no
// control characters, no leading dots (no hidden files, no "..").
func safeFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if len(name) > 200 {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		name = strings.ToValidUTF8(name[:200-len(ext)], "") + ext
	}
	if name == "" {
		name = "attachment"
	}
	return name
}
