package main

import (
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"posthorn/internal/servertest"
)

// mailEnv boots a Posthorn and writes a mail.toml for it under a fresh
// $XDG_CONFIG_HOME; the password comes from $POSTHORN_PASSWORD.
func mailEnv(t *testing.T) string {
	t.Helper()
	s := servertest.Start(t)
	s.AddUser(t, "carol@example.test")
	_, smtpPort, _ := net.SplitHostPort(s.Addr("submission"))
	_, imapPort, _ := net.SplitHostPort(s.Addr("imap"))
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("POSTHORN_PASSWORD", servertest.Password)
	t.Setenv("VISUAL", "")
	dir := filepath.Join(cfg, "posthorn")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	body := "server = \"127.0.0.1\"\nsmtp_port = " + smtpPort + "\nimap_port = " + imapPort + "\ninsecure = true\n"
	if err := os.WriteFile(filepath.Join(dir, "mail.toml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "mail.toml")
}

// mailOK runs `posthorn mail --user USER ARGS...` and wants exit status 0.
func mailOK(t *testing.T, stdin, user string, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, stdin, append([]string{"mail", "--user", user}, args...)...)
	if code != 0 {
		t.Fatalf("posthorn mail %q: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// idOf finds the message ID of the listing line that contains text.
func idOf(t *testing.T, listing, text string) string {
	t.Helper()
	for _, line := range strings.Split(listing, "\n") {
		if strings.Contains(line, text) {
			return strings.Fields(line)[0]
		}
	}
	t.Fatalf("no line with %q in\n%s", text, listing)
	return ""
}

func TestMailCommands(t *testing.T) {
	mailEnv(t)
	const bob, alice = "bob@example.test", "alice@example.test"
	att := filepath.Join(t.TempDir(), "bericht.pdf")
	if err := os.WriteFile(att, []byte("%PDF-1.4\nbericht\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mailOK(t, "Grüße und Käse\nZeile 2\n", alice, "send", "--to", bob, "--cc", "carol@example.test",
		"--bcc", alice, "-s", "Grüße tok1", "--attach", att)
	if !regexp.MustCompile(`sent <[0-9a-f]+@example.test> to bob@example.test, carol@example.test, alice@example.test\ncopy saved in Sent\n`).MatchString(out) {
		t.Errorf("send said %q", out)
	}

	list := mailOK(t, "", bob, "list", "--unseen")
	id := idOf(t, list, "Grüße tok1")
	if !strings.HasPrefix(list, "ID") || !regexp.MustCompile(id+`\s+N\s`).MatchString(list) {
		t.Errorf("list --unseen:\n%s", list)
	}
	save := filepath.Join(t.TempDir(), "att")
	read := mailOK(t, "", bob, "read", id, "--save", save)
	for _, want := range []string{"Subject: Grüße tok1", "From: alice@example.test", "Cc: carol@example.test", "Grüße und Käse\nZeile 2\n", "[2]", "bericht.pdf", "application/pdf", "saved as " + filepath.Join(save, "bericht.pdf")} {
		if !strings.Contains(read, want) {
			t.Errorf("read lacks %q:\n%s", want, read)
		}
	}
	if data, err := os.ReadFile(filepath.Join(save, "bericht.pdf")); err != nil || string(data) != "%PDF-1.4\nbericht\n" {
		t.Errorf("saved attachment: %q %v", data, err)
	}
	if list := mailOK(t, "", bob, "list", "--unseen"); strings.Contains(list, "tok1") {
		t.Errorf("still unseen after read:\n%s", list)
	}
	if got := mailOK(t, "", bob, "search", "subject:tok1", "Käse"); idOf(t, got, "tok1") != id {
		t.Errorf("search:\n%s", got)
	}
	if got := mailOK(t, "", bob, "flag", id); got != "flagged "+id+" in INBOX\n" {
		t.Errorf("flag said %q", got)
	}
	if got := mailOK(t, "", bob, "search", "is:flagged"); !regexp.MustCompile(id + `\s+F\s`).MatchString(got) {
		t.Errorf("flagged listing:\n%s", got)
	}
	mailOK(t, "", bob, "flag", "--clear", id)
	if got := mailOK(t, "", bob, "search", "is:flagged"); strings.Contains(got, "tok1") {
		t.Errorf("still flagged:\n%s", got)
	}
	if got := mailOK(t, "", bob, "move", id, "Archive"); got != "moved "+id+" from INBOX to Archive\n" {
		t.Errorf("move said %q", got)
	}
	archived := idOf(t, mailOK(t, "", bob, "list", "--folder", "Archive"), "tok1")
	if got := mailOK(t, "", bob, "delete", "--folder", "Archive", archived); !strings.Contains(got, "to Trash") {
		t.Errorf("delete said %q", got)
	}
	idOf(t, mailOK(t, "", bob, "list", "--folder", "Trash", "--limit", "0"), "tok1")
	folders := mailOK(t, "", bob, "folders")
	for _, want := range []*regexp.Regexp{regexp.MustCompile(`(?m)^INBOX\s+0\s+0$`), regexp.MustCompile(`(?m)^Trash\s+trash\s+1\s+0$`), regexp.MustCompile(`(?m)^Sent\s+sent\s+0\s+0$`)} {
		if !want.MatchString(folders) {
			t.Errorf("folders lack %v:\n%s", want, folders)
		}
	}
	idOf(t, mailOK(t, "", alice, "list", "--folder", "Sent"), "tok1")
	idOf(t, mailOK(t, "", "carol@example.test", "list"), "tok1")
	idOf(t, mailOK(t, "", alice, "list"), "tok1") // the Bcc to herself
}

func TestMailSendWithEditorAndLimit(t *testing.T) {
	mailEnv(t)
	script := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf 'Written in the editor.\\n' > \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDITOR", script)
	for _, s := range []string{"first", "second"} {
		mailOK(t, "", "alice@example.test", "send", "--edit", "-s", s, "bob@example.test")
	}
	code, out, errOut := runCLI(t, "", "mail", "--user", "bob@example.test", "list", "--limit", "1")
	if code != 0 || !strings.Contains(out, "second") || strings.Contains(out, "first") || !strings.Contains(errOut, "1 of 2 shown") {
		t.Errorf("list --limit 1: %d\n%s%s", code, out, errOut)
	}
	read := mailOK(t, "", "bob@example.test", "read", "--peek", idOf(t, out, "second"))
	if !strings.Contains(read, "Written in the editor.") {
		t.Errorf("read:\n%s", read)
	}
	if list := mailOK(t, "", "bob@example.test", "list", "--unseen"); !strings.Contains(list, "second") {
		t.Errorf("read --peek marked the message seen:\n%s", list)
	}
	t.Setenv("EDITOR", "true") // leaves the file empty
	code, _, errOut = runCLI(t, "", "mail", "--user", "alice@example.test", "send", "--edit", "-s", "x", "bob@example.test")
	if code != 1 || !strings.Contains(errOut, "nothing sent") {
		t.Errorf("empty text: %d %s", code, errOut)
	}
}

func TestMailErrors(t *testing.T) {
	conf := mailEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mail"}, 2, "no command"},
		{[]string{"mail", "frobnicate"}, 2, "unknown command"},
		{[]string{"mail", "--bogus", "list"}, 2, "bogus"},
		{[]string{"mail", "read"}, 2, "want a message ID"},
		{[]string{"mail", "read", "x1"}, 2, "not a message ID"},
		{[]string{"mail", "read", "0"}, 2, "not a message ID"},
		{[]string{"mail", "move", "1"}, 2, "want a message ID and a folder"},
		{[]string{"mail", "search"}, 2, "want a query"},
		{[]string{"mail", "list", "--user", "bob@example.test", "extra"}, 2, "want no arguments"},
		{[]string{"mail", "--user", "bob@example.test", "read", "4242"}, 1, "no such message"},
		{[]string{"mail", "--user", "bob@example.test", "search", "is:spam"}, 1, "unknown"},
		{[]string{"mail", "--user", "bob@example.test", "--insecure=false", "folders"}, 1, "certificate"},
		{[]string{"mail", "--user", "bob@example.test", "--server", "", "folders"}, 1, "no server"},
		{[]string{"mail", "folders"}, 1, "no user"},
		{[]string{"mail", "--user", "bob@example.test", "send", "-s", "x", "--body", "y"}, 1, "no recipients"},
		{[]string{"mail", "--user", "bob@example.test", "send", "--attach", "/nonexistent/file", "--to", "a@example.test"}, 1, "nonexistent"},
		{[]string{"mail", "--config", "/nonexistent/mail.toml", "--user", "bob@example.test", "folders"}, 1, "no such file"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	if code, out, _ := runCLI(t, "", "mail", "help"); code != 0 || !strings.Contains(out, "Commands:") || !strings.Contains(out, "IMAP UID") {
		t.Errorf("mail help: %d %q", code, out)
	}

	t.Setenv("POSTHORN_PASSWORD", "")
	if code, _, errOut := runCLI(t, "", "mail", "--user", "bob@example.test", "folders"); code != 1 || !strings.Contains(errOut, "POSTHORN_PASSWORD") {
		t.Errorf("no password: %d %q", code, errOut)
	}
	if err := os.WriteFile(conf, []byte("server = \"127.0.0.1\"\npassword = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "", "mail", "--user", "bob@example.test", "folders"); code != 1 || !strings.Contains(errOut, "password does not belong") {
		t.Errorf("password in the file: %d %q", code, errOut)
	}
}

func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  string
		save string
	}{
		{[]string{"5", "--save", "d"}, "5", "d"},
		{[]string{"--save", "d", "5", "x"}, "5 x", "d"},
		{[]string{"5", "--", "--save", "d"}, "5 --save d", ""},
		{[]string{"a", "b", "--save=d", "c"}, "a b c", "d"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		save := fs.String("save", "", "")
		pos, err := parseInterleaved(fs, tc.args)
		if err != nil || strings.Join(pos, " ") != tc.pos || *save != tc.save {
			t.Errorf("%q: %q save=%q %v", tc.args, pos, *save, err)
		}
	}
}
