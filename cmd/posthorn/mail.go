package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"posthorn/internal/useragent"
)

// `posthorn mail` is the user agent: it reads and sends one account's mail
// over IMAP and SMTP submission, like any other client (package useragent).

const mailUsage = `usage: posthorn mail [CONNECTION FLAGS] COMMAND [FLAGS] [ARGS]

Commands:
  send [--to ADDR]... [--cc ADDR]... [--bcc ADDR]... [-s SUBJECT] [--attach FILE]...
       [--from ADDR] [--body TEXT | --edit] [ADDR...]
                      compose and send; the text comes from --body, from $VISUAL or
                      $EDITOR (--edit, or when standard input is a terminal), else
                      from standard input. A copy is saved in the Sent folder.
  folders             list the folders with their message counts
  list [--folder F] [--unseen] [--limit N]
                      list messages, newest first (--limit 50 by default, 0 for all)
  read ID [--folder F] [--save DIR] [--peek]
                      show a message's text, list its attachments, save them to DIR;
                      marks it seen unless --peek
  search QUERY... [--folder F] [--limit N]
                      find messages: words anywhere, or from:, to:, cc:, subject:,
                      body:, is:unseen, is:flagged; all must match
  move ID FOLDER [--folder F]   move a message to another folder
  delete ID [--folder F]        move a message to the Trash (in the Trash: remove it)
  flag ID [--folder F] [--clear]  flag a message (or clear the flag)

A message ID is the IMAP UID of the message in its folder (default INBOX), as
list and search show it; it stays the same as long as the message stays there.

Connection flags (also allowed after the command):
  --server HOST      IMAP and submission server
  --smtp-port N      submission port, STARTTLS (default 587)
  --imap-port N      IMAP port, STARTTLS (default 143)
  --user ADDRESS     login name
  --insecure         accept an unverified (self-signed) certificate
  --config FILE      settings file (default $XDG_CONFIG_HOME/posthorn/mail.toml
                     or ~/.config/posthorn/mail.toml) with the keys server,
                     smtp_port, imap_port, user and insecure; flags override it

The password comes from $POSTHORN_PASSWORD, else from a prompt on the terminal.
It is never stored. Connections always use TLS, verified unless --insecure.
`

// mailFlags are the connection settings, given before or after the command.
type mailFlags struct {
	config, server, user string
	smtpPort, imapPort   int
	insecure             bool
}

func (m *mailFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.config, "config", m.config, "settings file")
	fs.StringVar(&m.server, "server", m.server, "IMAP and submission server")
	fs.IntVar(&m.smtpPort, "smtp-port", m.smtpPort, "submission port")
	fs.IntVar(&m.imapPort, "imap-port", m.imapPort, "IMAP port")
	fs.StringVar(&m.user, "user", m.user, "login name")
	fs.BoolVar(&m.insecure, "insecure", m.insecure, "accept an unverified certificate")
}

// mailCmd is one parsed `posthorn mail` command line.
type mailCmd struct {
	e    *env
	conn mailFlags
	set  map[string]bool // connection flags given on the command line
	fs   *flag.FlagSet
	args []string // positional arguments after the command
}

// mailCommands are the subcommands: each defines its own flags on fs and
// returns what runs after parsing.
var mailCommands = map[string]func(c *mailCmd) func(ctx context.Context) error{
	"send": mailSend, "folders": mailFolders, "list": mailList, "read": mailRead,
	"search": mailSearch, "move": mailMove, "delete": mailDelete, "flag": mailFlag,
}

func cmdMail(ctx context.Context, e *env, args []string) error {
	c := &mailCmd{e: e, set: map[string]bool{}}
	top := flag.NewFlagSet("mail", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	c.conn.register(top)
	if err := top.Parse(args); err != nil {
		return c.usageError(err.Error())
	}
	top.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if top.NArg() == 0 {
		return c.usageError("no command")
	}
	name := top.Arg(0)
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Fprint(e.stdout, mailUsage)
		return nil
	}
	define, ok := mailCommands[name]
	if !ok {
		return c.usageError(fmt.Sprintf("unknown command %q", name))
	}
	c.fs = flag.NewFlagSet("mail "+name, flag.ContinueOnError)
	c.fs.SetOutput(io.Discard)
	c.conn.register(c.fs)
	run := define(c)
	var err error
	if c.args, err = parseInterleaved(c.fs, top.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, mailUsage)
			return nil
		}
		return c.usageError(err.Error())
	}
	c.fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	return run(ctx)
}

// usageError prints the problem and the full usage to stderr; main adds
// its one-line usage and exits with status 2.
func (c *mailCmd) usageError(msg string) error {
	fmt.Fprintln(c.e.stderr, "posthorn mail: "+msg)
	fmt.Fprint(c.e.stderr, mailUsage)
	return errUsage
}

// parseInterleaved parses flags wherever they appear among the positional
// arguments ("read 5 --save dir"); after "--" everything is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		consumed := len(args) - fs.NArg()
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, fs.Args()...), nil
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// agent builds the Agent from the settings file, the flags over it, and
// the password.
func (c *mailCmd) agent() (*useragent.Agent, error) {
	path, must := c.conn.config, true
	if path == "" {
		path, must = useragent.ConfigPath(os.Getenv), false
	}
	cfg, err := useragent.LoadConfig(path, must)
	if err != nil {
		return nil, err
	}
	acct := useragent.Account{Server: cfg.Server, SMTPPort: cfg.SMTPPort, IMAPPort: cfg.IMAPPort, User: cfg.User, Insecure: cfg.Insecure}
	if c.set["server"] {
		acct.Server = c.conn.server
	}
	if c.set["smtp-port"] {
		acct.SMTPPort = c.conn.smtpPort
	}
	if c.set["imap-port"] {
		acct.IMAPPort = c.conn.imapPort
	}
	if c.set["user"] {
		acct.User = c.conn.user
	}
	if c.set["insecure"] {
		acct.Insecure = c.conn.insecure
	}
	for _, p := range []int{acct.SMTPPort, acct.IMAPPort} {
		if p < 0 || p > 65535 {
			return nil, fmt.Errorf("%d is not a port", p)
		}
	}
	if _, err := useragent.New(acct, useragent.Options{}); err != nil {
		return nil, err // incomplete: say so before asking for a password
	}
	if acct.Password, err = c.password(acct.User); err != nil {
		return nil, err
	}
	return useragent.New(acct, useragent.Options{})
}

// password reads $POSTHORN_PASSWORD, else asks on the terminal.
func (c *mailCmd) password(user string) (string, error) {
	if pw := os.Getenv("POSTHORN_PASSWORD"); pw != "" {
		return pw, nil
	}
	if !c.e.isTerminal() {
		return "", errors.New("no password: set $POSTHORN_PASSWORD (standard input is not a terminal)")
	}
	fmt.Fprintf(c.e.stderr, "Password for %s: ", user)
	pw, err := c.e.readPassword()
	fmt.Fprintln(c.e.stderr)
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

// wantArgs checks the number of positional arguments.
func (c *mailCmd) wantArgs(n int, what string) error {
	if len(c.args) != n {
		return c.usageError("want " + what)
	}
	return nil
}

// parseID reads a message ID (an IMAP UID: 1 to 2^32-1).
func (c *mailCmd) parseID(s string) (uint32, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil || id == 0 {
		return 0, c.usageError(fmt.Sprintf("%q is not a message ID (a number that list shows)", s))
	}
	return uint32(id), nil
}

// listFlag collects a repeatable flag.
type listFlag []string

// String implements flag.Value.
func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value: each use of the flag adds a value.
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func mailSend(c *mailCmd) func(context.Context) error {
	var to, cc, bcc, attach listFlag
	c.fs.Var(&to, "to", "recipient (repeatable; commas separate several)")
	c.fs.Var(&cc, "cc", "copy recipient")
	c.fs.Var(&bcc, "bcc", "blind copy recipient")
	c.fs.Var(&attach, "attach", "file to attach (repeatable)")
	subject := c.fs.String("subject", "", "subject")
	c.fs.StringVar(subject, "s", "", "subject")
	from := c.fs.String("from", "", "author (default: the user)")
	body := c.fs.String("body", "", "text of the message")
	edit := c.fs.Bool("edit", false, "write the text in $VISUAL or $EDITOR")
	return func(ctx context.Context) error {
		d := useragent.Draft{From: *from, To: append(to, c.args...), Cc: cc, Bcc: bcc, Subject: *subject}
		for _, path := range attach {
			a, err := useragent.ReadAttachment(path)
			if err != nil {
				return err
			}
			d.Attachments = append(d.Attachments, a)
		}
		// The text first: a person who gives up in the editor is not asked
		// for a password.
		var err error
		if d.Body, err = c.messageText(ctx, *body, c.set["body"], *edit); err != nil {
			return err
		}
		a, err := c.agent()
		if err != nil {
			return err
		}
		res, err := a.Send(ctx, d)
		if res != nil {
			fmt.Fprintf(c.e.stdout, "sent %s to %s\n", res.MessageID, strings.Join(res.Recipients, ", "))
			if res.SavedIn != "" {
				fmt.Fprintf(c.e.stdout, "copy saved in %s\n", res.SavedIn)
			}
		}
		return err
	}
}

// maxStdinText bounds a message text read from standard input.
const maxStdinText = 64 << 20

// messageText gets the text: the flag, the editor, or standard input.
func (c *mailCmd) messageText(ctx context.Context, flagBody string, flagSet, edit bool) (string, error) {
	if flagSet {
		return flagBody, nil
	}
	if edit || c.e.isTerminal() {
		editor := os.Getenv("VISUAL")
		if editor == "" {
			editor = os.Getenv("EDITOR")
		}
		text, err := useragent.Editor{Command: editor, Stdin: c.e.stdin, Stdout: c.e.stdout, Stderr: c.e.stderr}.Edit(ctx, "")
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(text) == "" {
			return "", errors.New("empty text: nothing sent")
		}
		return text, nil
	}
	b, err := io.ReadAll(io.LimitReader(c.e.stdin, maxStdinText+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxStdinText {
		return "", fmt.Errorf("the text on standard input is over %d MiB", maxStdinText>>20)
	}
	return string(b), nil
}

func mailFolders(c *mailCmd) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := c.wantArgs(0, "no arguments"); err != nil {
			return err
		}
		a, err := c.agent()
		if err != nil {
			return err
		}
		folders, err := a.Folders(ctx)
		if err != nil {
			return err
		}
		return useragent.WriteFolders(c.e.stdout, folders)
	}
}

func mailList(c *mailCmd) func(context.Context) error {
	folder := c.fs.String("folder", "INBOX", "folder")
	unseen := c.fs.Bool("unseen", false, "only unseen messages")
	limit := c.fs.Int("limit", 50, "newest N messages; 0 for all")
	return func(ctx context.Context) error {
		if err := c.wantArgs(0, "no arguments"); err != nil {
			return err
		}
		a, err := c.agent()
		if err != nil {
			return err
		}
		l, err := a.List(ctx, useragent.ListOptions{Folder: *folder, Unseen: *unseen, Limit: max(*limit, 0)})
		if err != nil {
			return err
		}
		return c.writeListing(l)
	}
}

func (c *mailCmd) writeListing(l *useragent.Listing) error {
	if err := useragent.WriteListing(c.e.stdout, l, time.Local); err != nil {
		return err
	}
	if l.Total > len(l.Messages) {
		fmt.Fprintf(c.e.stderr, "(%d of %d shown; --limit 0 shows all)\n", len(l.Messages), l.Total)
	}
	return nil
}

func mailSearch(c *mailCmd) func(context.Context) error {
	folder := c.fs.String("folder", "INBOX", "folder")
	limit := c.fs.Int("limit", 0, "newest N matches; 0 for all")
	return func(ctx context.Context) error {
		if len(c.args) == 0 {
			return c.usageError("want a query")
		}
		a, err := c.agent()
		if err != nil {
			return err
		}
		l, err := a.Search(ctx, *folder, c.args, max(*limit, 0))
		if err != nil {
			return err
		}
		return c.writeListing(l)
	}
}

func mailRead(c *mailCmd) func(context.Context) error {
	folder := c.fs.String("folder", "INBOX", "folder")
	save := c.fs.String("save", "", "save the attachments in this directory")
	peek := c.fs.Bool("peek", false, "do not mark the message seen")
	return func(ctx context.Context) error {
		id, a, err := c.onMessage(1, "a message ID")
		if err != nil {
			return err
		}
		l, err := a.Read(ctx, id, useragent.ReadOptions{Folder: *folder, SaveDir: *save, Peek: *peek})
		if err != nil {
			return err
		}
		return useragent.WriteLetter(c.e.stdout, l)
	}
}

func mailMove(c *mailCmd) func(context.Context) error {
	folder := c.fs.String("folder", "INBOX", "folder the message is in")
	return func(ctx context.Context) error {
		id, a, err := c.onMessage(2, "a message ID and a folder")
		if err != nil {
			return err
		}
		if err := a.Move(ctx, *folder, id, c.args[1]); err != nil {
			return err
		}
		fmt.Fprintf(c.e.stdout, "moved %d from %s to %s\n", id, *folder, c.args[1])
		return nil
	}
}

func mailDelete(c *mailCmd) func(context.Context) error {
	folder := c.fs.String("folder", "INBOX", "folder the message is in")
	return func(ctx context.Context) error {
		id, a, err := c.onMessage(1, "a message ID")
		if err != nil {
			return err
		}
		to, err := a.Delete(ctx, *folder, id)
		if err != nil {
			return err
		}
		if to != "" {
			fmt.Fprintf(c.e.stdout, "moved %d from %s to %s\n", id, *folder, to)
		} else {
			fmt.Fprintf(c.e.stdout, "removed %d from %s\n", id, *folder)
		}
		return nil
	}
}

func mailFlag(c *mailCmd) func(context.Context) error {
	folder := c.fs.String("folder", "INBOX", "folder the message is in")
	unflag := c.fs.Bool("clear", false, "clear the flag instead")
	return func(ctx context.Context) error {
		id, a, err := c.onMessage(1, "a message ID")
		if err != nil {
			return err
		}
		if err := a.Flag(ctx, *folder, id, !*unflag); err != nil {
			return err
		}
		verb := "flagged"
		if *unflag {
			verb = "unflagged"
		}
		fmt.Fprintf(c.e.stdout, "%s %d in %s\n", verb, id, *folder)
		return nil
	}
}

// onMessage checks that the command got n arguments, the first a message
// ID, and opens the agent: the start of every command about one message.
func (c *mailCmd) onMessage(n int, what string) (uint32, *useragent.Agent, error) {
	if err := c.wantArgs(n, what); err != nil {
		return 0, nil, err
	}
	id, err := c.parseID(c.args[0])
	if err != nil {
		return 0, nil, err
	}
	a, err := c.agent()
	return id, a, err
}
