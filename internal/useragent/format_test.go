package useragent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteListing(t *testing.T) {
	l := &Listing{Folder: "INBOX", Total: 2, Messages: []Summary{
		{UID: 12, Flags: []string{`\Flagged`}, Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), From: "Bob <bob@example.test>", Subject: "Grüße\x1b[2J"},
		{UID: 9, Flags: []string{`\Seen`, `\Answered`}, From: strings.Repeat("x", 40), Subject: "old"},
	}}
	var b bytes.Buffer
	if err := WriteListing(&b, l, time.UTC); err != nil {
		t.Fatal(err)
	}
	want := "ID  FLAGS  DATE              FROM                            SUBJECT\n" +
		"12  NF     2026-01-02 03:04  Bob <bob@example.test>          Grüße [2J\n" +
		"9   A      -                 xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…  old\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteFolders(t *testing.T) {
	var b bytes.Buffer
	WriteFolders(&b, []Folder{{Name: "INBOX", Selectable: true, Messages: 3, Unseen: 1}, {Name: "Sent", SpecialUse: `\Sent`, Selectable: true, Messages: 1}, {Name: "Archiv", Selectable: false}})
	want := "FOLDER  ROLE  MESSAGES  UNSEEN\nINBOX         3         1\nSent    sent  1         0\nArchiv        -         -\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWriteLetter(t *testing.T) {
	var b bytes.Buffer
	WriteLetter(&b, &Letter{
		UID: 7, Folder: "INBOX", Date: "Mon, 2 Jan 2026 03:04:00 +0000", From: "Bob <bob@example.test>", To: "alice@example.test",
		Subject: "Hi\r\nX-Injected: yes", Text: "Line 1\n\tindented\x07\nLine 3",
		Attachments: []AttachmentInfo{{Section: "2", Filename: "a.pdf", Type: "application/pdf", Size: 2048, SavedAs: "/tmp/a.pdf"}},
	})
	want := "ID: 7 in INBOX\nDate: Mon, 2 Jan 2026 03:04:00 +0000\nFrom: Bob <bob@example.test>\nTo: alice@example.test\n" +
		"Subject: Hi  X-Injected: yes\n\nLine 1\n\tindented\nLine 3\n\nAttachments:\n  [2]  a.pdf  application/pdf  2.0 KiB  saved as /tmp/a.pdf\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestEditor(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "ed.sh")
	// The "editor" appends a line and records its arguments.
	body := "#!/bin/sh\nfor last; do :; done\nprintf 'edited\\n' >> \"$last\"\nprintf '%s' \"$#\" > " + filepath.Join(dir, "argc") + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	got, err := Editor{Command: script + " --flag", Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out}.Edit(context.Background(), "start\n")
	if err != nil || got != "start\nedited\n" {
		t.Errorf("Edit = %q, %v (%s)", got, err, out.String())
	}
	if argc, _ := os.ReadFile(filepath.Join(dir, "argc")); string(argc) != "2" {
		t.Errorf("editor got %s arguments, want 2 (--flag and the file)", argc)
	}
	if _, err := (Editor{Command: "false"}).Edit(context.Background(), ""); err == nil {
		t.Error("a failing editor was not reported")
	}
}
