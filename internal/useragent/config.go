package useragent

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// Default ports: submission (RFC 6409 §3.1) and IMAP (RFC 3501 §2.1).
const (
	DefaultSMTPPort = 587
	DefaultIMAPPort = 143
)

// Config is the per-user configuration file, mail.toml:
//
//	server = "mail.example.org"
//	smtp_port = 587
//	imap_port = 143
//	user = "alice@example.org"
//	insecure = false
//
// Command-line flags override it. There is deliberately no password key.
type Config struct {
	Server   string `toml:"server"`
	SMTPPort int    `toml:"smtp_port"`
	IMAPPort int    `toml:"imap_port"`
	User     string `toml:"user"`
	Insecure bool   `toml:"insecure"`
}

// ConfigPath returns where the configuration file lives:
// $XDG_CONFIG_HOME/posthorn/mail.toml, else ~/.config/posthorn/mail.toml
// (XDG Base Directory Specification). It returns "" when neither variable
// is set.
func ConfigPath(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "posthorn", "mail.toml")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "posthorn", "mail.toml")
	}
	return ""
}

// LoadConfig reads a configuration file. A missing file is an empty
// configuration unless mustExist is set. Unknown keys are errors, and a
// "password" key is refused outright.
func LoadConfig(path string, mustExist bool) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !mustExist {
			return Config{}, nil
		}
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	var unknown []string
	for _, k := range md.Undecoded() {
		if strings.EqualFold(k.String(), "password") {
			return Config{}, fmt.Errorf("%s: a password does not belong in the file; use $POSTHORN_PASSWORD or the prompt", path)
		}
		unknown = append(unknown, k.String())
	}
	if len(unknown) > 0 {
		return Config{}, fmt.Errorf("%s: unknown key %s", path, strings.Join(unknown, ", "))
	}
	for _, p := range []struct {
		key string
		v   int
	}{{"smtp_port", c.SMTPPort}, {"imap_port", c.IMAPPort}} {
		if p.v < 0 || p.v > 65535 {
			return Config{}, fmt.Errorf("%s: %s: %d is not a port", path, p.key, p.v)
		}
	}
	return c, nil
}
