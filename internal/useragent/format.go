package useragent

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// The functions here render results for a person at a terminal. Mail is
// written by strangers: every string is stripped of control characters
// first, so that a message cannot send escape sequences to the terminal.

// WriteFolders writes one line per folder: name, role, messages, unseen.
func WriteFolders(w io.Writer, folders []Folder) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FOLDER\tROLE\tMESSAGES\tUNSEEN")
	for _, f := range folders {
		role := strings.ToLower(strings.TrimPrefix(f.SpecialUse, `\`))
		if !f.Selectable {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\n", clean(f.Name), role)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", clean(f.Name), role, f.Messages, f.Unseen)
	}
	return tw.Flush()
}

// WriteListing writes one line per message, newest first: ID, flags (N
// new, F flagged, A answered, D deleted), date in loc, sender, subject.
func WriteListing(w io.Writer, l *Listing, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFLAGS\tDATE\tFROM\tSUBJECT")
	for _, s := range l.Messages {
		date := "-"
		if !s.Date.IsZero() {
			date = s.Date.In(loc).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", s.UID, flagLetters(s), date, shorten(clean(s.From), 30), clean(s.Subject))
	}
	return tw.Flush()
}

func flagLetters(s Summary) string {
	var b strings.Builder
	if !s.Seen() {
		b.WriteByte('N')
	}
	if s.Flagged() {
		b.WriteByte('F')
	}
	if s.Answered() {
		b.WriteByte('A')
	}
	if hasFlag(s.Flags, `\Deleted`) {
		b.WriteByte('D')
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// WriteLetter writes a message: the main header fields, the text, and the
// list of attachments with where they were saved.
func WriteLetter(w io.Writer, l *Letter) error {
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			b.WriteString(name + ": " + clean(value) + "\n")
		}
	}
	field("ID", strconv.FormatUint(uint64(l.UID), 10)+" in "+l.Folder)
	field("Date", l.Date)
	field("From", l.From)
	field("Reply-To", l.ReplyTo)
	field("To", l.To)
	field("Cc", l.Cc)
	field("Subject", l.Subject)
	b.WriteString("\n")
	if l.Text != "" {
		b.WriteString(cleanText(l.Text) + "\n")
	}
	if len(l.Attachments) > 0 {
		b.WriteString("\nAttachments:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, a := range l.Attachments {
			line := "  [" + a.Section + "]\t" + clean(a.Filename) + "\t" + a.Type + "\t" + humanSize(a.Size)
			if a.SavedAs != "" {
				line += "\tsaved as " + clean(a.SavedAs)
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clean makes one line of text safe to print: control characters (C0, DEL,
// C1, and line or paragraph separators) become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// cleanText is clean for text with lines: newlines and tabs stay.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// shorten cuts s to n characters, marking the cut with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1024*1024:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1024*1024), 'f', 1, 64) + " MiB"
}
