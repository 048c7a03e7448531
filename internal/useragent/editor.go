package useragent

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// Editor runs a text editor, the way mail(1) and git do.
type Editor struct {
	// Command is the editor command line, run by /bin/sh with the file
	// name appended ($VISUAL or $EDITOR; "vi" when empty).
	Command string
	// Stdin, Stdout and Stderr are the terminal.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Edit writes initial to a private temporary file, lets the editor change
// it and returns the result. The file is removed afterwards.
func (e Editor) Edit(ctx context.Context, initial string) (string, error) {
	f, err := os.CreateTemp("", "posthorn-mail-*.txt")
	if err != nil {
		return "", err
	}
	path := f.Name()
	defer os.Remove(path)
	_, werr := f.WriteString(initial)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", werr
	}
	command := e.Command
	if command == "" {
		command = "vi"
	}
	// "$EDITOR" may carry arguments ("emacs -nw"); the file name is passed
	// as $1, never spliced into the command text.
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command+` "$1"`, "sh", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.Stdin, e.Stdout, e.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("editor %q: %w", command, err)
	}
	b, err := os.ReadFile(path)
	return string(b), err
}
