package useragent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/posthorn/mail.toml"},
		{map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/h"}, "/h/.config/posthorn/mail.toml"},
		{map[string]string{"HOME": "/h"}, "/h/.config/posthorn/mail.toml"},
		{map[string]string{}, ""},
	} {
		if got := ConfigPath(env(tc.env)); got != tc.want {
			t.Errorf("ConfigPath(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.toml", "server = \"mail.example.org\"\nsmtp_port = 2587\nimap_port = 2143\nuser = \"alice@example.org\"\ninsecure = true\n")
	c, err := LoadConfig(good, true)
	if err != nil || c != (Config{Server: "mail.example.org", SMTPPort: 2587, IMAPPort: 2143, User: "alice@example.org", Insecure: true}) {
		t.Errorf("LoadConfig = %+v, %v", c, err)
	}
	if c, err := LoadConfig(filepath.Join(dir, "missing.toml"), false); err != nil || c != (Config{}) {
		t.Errorf("missing optional file: %+v %v", c, err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.toml"), true); err == nil {
		t.Error("missing required file accepted")
	}
	for body, want := range map[string]string{
		"password = \"secret\"\n":        "does not belong",
		"sever = \"typo\"\n":             "unknown key sever",
		"smtp_port = 70000\n":            "not a port",
		"server = \n":                    "good.toml", // TOML syntax error names the file
		"imap_port = \"143\"\n":          "imap_port",
		"[server]\nname = \"x\"\n":       "",
		"server = \"a\"\nserver = \"b\"": "",
	} {
		p := write("bad.toml", body)
		_, err := LoadConfig(p, true)
		if err == nil {
			t.Errorf("%q accepted", body)
			continue
		}
		if want == "good.toml" {
			want = "bad.toml"
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q lacks %q", body, err, want)
		}
	}
}
