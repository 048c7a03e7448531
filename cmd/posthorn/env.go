package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"posthorn/internal/config"
)

func realEnv() *env {
	return &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		isTerminal: func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		readPassword: func() (string, error) {
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			return string(b), err
		},
	}
}

// flags makes a FlagSet for a subcommand with the common --config flag.
func flags(name string, e *env) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfg := fs.String("config", "", "configuration file (default $POSTHORN_CONFIG, else the development instance)")
	return fs, cfg
}

// loadConfig reads the file named by the flag or $POSTHORN_CONFIG; with
// neither it is the development instance's configuration.
func loadConfig(flagValue string) (config.Config, error) {
	path := config.FromEnvOrFlag(flagValue)
	if path == "" {
		return config.Dev(), nil
	}
	return config.Load(path)
}

// readNewPassword reads a password: the first line of stdin when it is not
// a terminal, else a prompt twice.
func readNewPassword(e *env) (string, error) {
	if !e.isTerminal() {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("no password on standard input")
		}
		return pw, nil
	}
	fmt.Fprint(e.stderr, "New password: ")
	pw, err := e.readPassword()
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.stderr, "Repeat it: ")
	again, err := e.readPassword()
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the passwords differ")
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

// parseInterspersed parses flags that may stand before, between or after
// the positional arguments ("user add ADDR --config F"), which package flag
// alone does not allow, and returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
