package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	for _, c := range []Config{Default(), Dev()} {
		if err := c.Validate(); err != nil {
			t.Fatalf("default config invalid: %v", err)
		}
	}
	d := Default()
	if d.Queue.Retry[3].D() != 30*time.Minute || d.Queue.Lifetime.D() != 120*time.Hour || d.Queue.DelayNotice.D() != 4*time.Hour {
		t.Fatalf("queue defaults = %+v", d.Queue)
	}
	if d.Listen.SMTP != "127.0.0.1:2525" || d.Listen.HTTP != "127.0.0.1:8080" || d.Store.Driver != "sqlite" {
		t.Fatalf("dev listeners = %+v", d.Listen)
	}
}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "posthorn.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	c, err := Load(write(t, `
hostname = "mx.example.test"
data_dir = "/var/lib/posthorn"
[store]
driver = "postgres"
dsn = "postgres://127.0.0.1/test"
[listen]
smtp = "0.0.0.0:25"
imap = ""
[limits]
max_message_size = 1048576
[queue]
retry = ["1m", "2m"]
lifetime = "48h"
smarthost = "relay.example.test:587"
[[queue.route]]
domain = "peer.test"
host = "127.0.0.1:10025"
`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Hostname != "mx.example.test" || c.Store.Driver != "postgres" || c.Listen.SMTP != "0.0.0.0:25" || c.Listen.IMAP != "" {
		t.Fatalf("loaded %+v", c)
	}
	// Unset keys keep their defaults.
	if c.Listen.POP3 != "127.0.0.1:2110" || c.Limits.MaxRecipients != 100 {
		t.Fatalf("defaults lost: %+v", c)
	}
	if len(c.Queue.Retry) != 2 || c.Queue.Retry[1].D() != 2*time.Minute || c.Queue.Lifetime.D() != 48*time.Hour {
		t.Fatalf("queue = %+v", c.Queue)
	}
	if len(c.Queue.Routes) != 1 || c.Queue.Routes[0].Host != "127.0.0.1:10025" {
		t.Fatalf("routes = %+v", c.Queue.Routes)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		`[store]` + "\n" + `driver = "mysql"`:                           "store.driver",
		`[listen]` + "\n" + `smtp = "nonsense"`:                         "listen.smtp",
		`[limits]` + "\n" + `max_recipients = 0`:                        "limits.max_recipients",
		`[queue]` + "\n" + `retry = []`:                                 "queue.retry",
		`[queue]` + "\n" + `lifetime = "soon"`:                          "lifetime",
		`[[queue.route]]` + "\n" + `domain = "a"` + "\n" + `host = "x"`: "queue.route[0].host",
		`hostnme = "typo"`:                                              "hostnme",
		`[tls]` + "\n" + `cert_file = "a.pem"`:                          "tls.cert_file",
		`[store]` + "\n" + `driver = "postgres"`:                        "store.dsn",
	}
	for body, key := range cases {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: err = %v, want it to name %s", body, err, key)
		}
	}
}

func TestFromEnvOrFlag(t *testing.T) {
	t.Setenv("POSTHORN_CONFIG", "/env.toml")
	if FromEnvOrFlag("/flag.toml") != "/flag.toml" || FromEnvOrFlag("") != "/env.toml" {
		t.Fatal("flag must win over the environment")
	}
}
