package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs one command line in-process with stdin and returns the exit
// status and outputs.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		isTerminal: func() bool { return false }, readPassword: func() (string, error) { return "", fmt.Errorf("no terminal") }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "posthorn.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sqliteConfig(t *testing.T) string {
	return writeConfig(t, fmt.Sprintf("hostname = \"mx.example.test\"\ndata_dir = %q\n", filepath.Join(t.TempDir(), "data")))
}

// postgresConfig returns a config on a fresh schema, or skips without a
// database (failing under CI).
func postgresConfig(t *testing.T) string {
	dsn := os.Getenv("POSTHORN_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("POSTHORN_TEST_POSTGRES is not set under CI")
		}
		t.Skip("POSTHORN_TEST_POSTGRES not set")
	}
	schema := fmt.Sprintf("cli_test_%d", os.Getpid())
	t.Cleanup(func() {
		exec.Command("psql", dsn, "-qc", "DROP SCHEMA IF EXISTS "+schema+" CASCADE").Run()
	})
	return writeConfig(t, fmt.Sprintf("hostname = \"mx.example.test\"\n[store]\ndriver = \"postgres\"\ndsn = %q\nschema = %q\n", dsn, schema))
}

func TestAdminCommands(t *testing.T) {
	for name, cfg := range map[string]func(*testing.T) string{"sqlite": sqliteConfig, "postgres": postgresConfig} {
		t.Run(name, func(t *testing.T) {
			conf := cfg(t)
			steps := []struct {
				stdin string
				args  []string
				code  int
				out   string
			}{
				{"", []string{"domain", "add", "Example.TEST", "--config", conf}, 0, "added domain example.test"},
				{"pw\n", []string{"user", "add", "alice@example.test", "--config", conf}, 0, "added user alice@example.test"},
				{"", []string{"user", "list", "--config", conf}, 0, "alice@example.test"},
				{"", []string{"domain", "list", "--config", conf}, 0, "example.test"},
				{"pw\n", []string{"user", "add", "alice@example.test", "--config", conf}, 1, ""},
				{"pw\n", []string{"user", "add", "bob@nowhere.test", "--config", conf}, 1, ""},
				{"", []string{"user", "add", "carol@example.test", "--config", conf}, 1, ""},
				{"", []string{"alias", "add", "team@example.test", "alice@example.test", "ext@remote.test", "--config", conf}, 0, "team@example.test -> alice@example.test, ext@remote.test"},
				{"", []string{"alias", "list", "--config", conf}, 0, "team@example.test -> alice@example.test, ext@remote.test"},
				{"", []string{"domain", "del", "example.test", "--config", conf}, 1, ""},
				{"new\n", []string{"user", "passwd", "alice@example.test", "--config", conf}, 0, "changed the password"},
				{"", []string{"queue", "list", "--config", conf}, 0, "the queue is empty"},
				{"", []string{"queue", "show", "42", "--config", conf}, 1, ""},
				{"", []string{"alias", "del", "team@example.test", "--config", conf}, 0, "deleted alias"},
				{"", []string{"user", "del", "alice@example.test", "--config", conf}, 0, "deleted user"},
				{"", []string{"domain", "del", "example.test", "--config", conf}, 0, "deleted domain"},
				{"", []string{"domain", "frobnicate", "--config", conf}, 2, ""},
				{"", []string{"nonsense"}, 2, ""},
			}
			for _, s := range steps {
				code, out, errOut := runCLI(t, s.stdin, s.args...)
				if code != s.code || !strings.Contains(out, s.out) {
					t.Fatalf("posthorn %s: exit %d (want %d)\nstdout: %s\nstderr: %s", strings.Join(s.args, " "), code, s.code, out, errOut)
				}
				if code == 1 && !strings.HasPrefix(errOut, "posthorn ") {
					t.Fatalf("posthorn %s failed without a message: %q", strings.Join(s.args, " "), errOut)
				}
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	conf := sqliteConfig(t)
	t.Setenv("POSTHORN_CONFIG", conf)
	if code, out, errOut := runCLI(t, "", "domain", "add", "env.test"); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if _, out, _ := runCLI(t, "", "domain", "list"); !strings.Contains(out, "env.test") {
		t.Fatalf("domain list via POSTHORN_CONFIG: %q", out)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	conf := writeConfig(t, "[store]\ndriver = \"mongo\"\n")
	code, _, errOut := runCLI(t, "", "domain", "list", "--config", conf)
	if code != 1 || !strings.Contains(errOut, "store.driver") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
