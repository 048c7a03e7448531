// Command posthorn is the whole mail system in one binary: `posthorn serve`
// runs it; the other commands administer it (safe while it runs) or use it
// as a mail client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name  string
	usage string
	run   func(ctx context.Context, env *env, args []string) error
}

// env is what commands read and write, so tests can run them in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// isTerminal reports whether stdin is a terminal (password prompts).
	isTerminal func() bool
	// readPassword reads a password from the terminal without echo.
	readPassword func() (string, error)
}

var commands []command

func init() {
	commands = []command{
		{"serve", "serve [--config FILE]                 run the mail system (no file: a development instance)", cmdServe},
		{"domain", "domain add|list|del [DOMAIN]            manage local domains", cmdDomain},
		{"user", "user add|passwd|list|del [ADDRESS]      manage accounts (password from stdin or a prompt)", cmdUser},
		{"alias", "alias add ADDRESS TARGET...|list|del ADDRESS  manage aliases (@domain is a catch-all)", cmdAlias},
		{"queue", "queue list|show ID|retry [ID]|delete ID|bounce ID  inspect and steer the outbound queue", cmdQueue},
		{"dns", "dns [check [--resolver ADDR]] DOMAIN    records to publish (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV); check compares with DNS", cmdDNS},
		{"dkim", "dkim list|rotate [--now]|activate DOMAIN | remove DOMAIN SELECTOR  manage a domain's DKIM keys", cmdDKIM},
		{"mail", "mail [--server HOST --user ADDR ...] send|folders|list|read|search|move|delete|flag  one account's mail (posthorn mail help)", cmdMail},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: posthorn COMMAND [ARGS]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintln(w, "  posthorn "+c.usage)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Administration commands take --config FILE (or $POSTHORN_CONFIG); without one they use the")
	fmt.Fprintln(w, "development instance's store in ./posthorn-data.")
}

// errUsage marks a mistake in the command line (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, realEnv(), os.Args[1:]))
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
				fmt.Fprintln(e.stderr, "usage: posthorn "+c.usage)
				return 2
			default:
				fmt.Fprintln(e.stderr, "posthorn "+c.name+": "+err.Error())
				return 1
			}
		}
	}
	fmt.Fprintf(e.stderr, "posthorn: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}
