// Package config reads Posthorn's one TOML file into plain structs. It is
// the one home of every default (Default) and of validation (Validate),
// whose errors name the offending key. Only package server and the command
// line import it; every other package takes its own Options.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	// Hostname is the server's fully qualified name: SMTP greeting, HELO of
	// the queue, Received headers, DSNs.
	Hostname string `toml:"hostname"`
	// DataDir holds the SQLite store, message files and the dev certificate.
	DataDir string `toml:"data_dir"`

	Store  Store  `toml:"store"`
	Listen Listen `toml:"listen"`
	TLS    TLS    `toml:"tls"`
	Auth   Auth   `toml:"auth"`
	Limits Limits `toml:"limits"`
	Queue  Queue  `toml:"queue"`
	Log    Log    `toml:"log"`
	// MX configures the checks of incoming mail (SPF, DKIM, DMARC).
	MX MX `toml:"mx"`
	// MTASTS configures the MTA-STS policy served for local domains.
	MTASTS MTASTS `toml:"mta_sts"`

	// Dev marks the built-in development instance (no file given): it
	// creates the demo domain and account on first start.
	Dev bool `toml:"-"`
}

// Store selects the storage backend.
type Store struct {
	Driver string `toml:"driver"` // "sqlite" or "postgres"
	DSN    string `toml:"dsn"`    // PostgreSQL connection string
	Schema string `toml:"schema"` // PostgreSQL schema; "" for the default search path
}

// Listen holds the listener addresses ("host:port"; empty = off).
type Listen struct {
	SMTP        string `toml:"smtp"`        // MX, port 25 role
	Submission  string `toml:"submission"`  // 587, STARTTLS
	Submissions string `toml:"submissions"` // 465, implicit TLS
	IMAP        string `toml:"imap"`
	IMAPS       string `toml:"imaps"`
	POP3        string `toml:"pop3"`
	POP3S       string `toml:"pop3s"`
	HTTP        string `toml:"http"`
	HTTPS       string `toml:"https"`
	Metrics     string `toml:"metrics"`
}

// TLS configures certificates.
type TLS struct {
	CertFile   string `toml:"cert_file"`
	KeyFile    string `toml:"key_file"`
	SelfSigned bool   `toml:"self_signed"` // make (once) and use a self-signed certificate in the data dir
	ACMEEmail  string `toml:"acme_email"`  // obtain certificates by ACME for hostname
	// ACMEDirectory is the ACME CA's directory URL (RFC 8555 §7.1.1).
	ACMEDirectory string `toml:"acme_directory"`
}

// MX configures the authentication checks of mail arriving on the MX.
type MX struct {
	// Checks runs SPF, DKIM and DMARC and adds Authentication-Results.
	Checks bool `toml:"checks"`
	// SPFEnforce rejects MAIL FROM when SPF fails (550 5.7.23).
	SPFEnforce bool `toml:"spf_enforce"`
	// DMARCEnforce rejects mail failing DMARC under p=reject (550 5.7.1);
	// without it such mail goes to Junk.
	DMARCEnforce bool `toml:"dmarc_enforce"`
}

// MTASTS configures MTA-STS (RFC 8461).
type MTASTS struct {
	// Mode of the policy served for local domains: enforce, testing, none.
	Mode   string   `toml:"mode"`
	MaxAge Duration `toml:"max_age"` // how long senders may cache it
}

// Auth configures authentication.
type Auth struct {
	// AllowPlaintextOnLoopback permits passwords without TLS from 127.0.0.1
	// and ::1 (tests, the dev instance).
	AllowPlaintextOnLoopback bool `toml:"allow_plaintext_on_loopback"`
}

// Limits bound what one client may make the server do.
type Limits struct {
	MaxMessageSize      int64 `toml:"max_message_size"` // octets
	MaxRecipients       int   `toml:"max_recipients"`
	MaxConnectionsPerIP int   `toml:"max_connections_per_ip"`
}

// Queue configures outbound delivery.
type Queue struct {
	// Retry lists the waits between attempts; the last one repeats.
	Retry       []Duration `toml:"retry"`
	Lifetime    Duration   `toml:"lifetime"`     // give up (and bounce) after this long
	DelayNotice Duration   `toml:"delay_notice"` // warn the sender once after this long
	Smarthost   string     `toml:"smarthost"`    // "host:port" that takes all remote mail; "" = MX lookup
	Routes      []Route    `toml:"route"`
	// MTASTS honours the MTA-STS policies of destination domains.
	MTASTS bool `toml:"mta_sts"`
	// PerDestination bounds the connections open at once to one
	// destination domain.
	PerDestination int `toml:"per_destination"`
	// MaxPerConnection bounds the messages sent over one connection.
	MaxPerConnection int `toml:"max_per_connection"`
}

// Route sends mail for one domain to a fixed host, before any MX lookup.
type Route struct {
	Domain string `toml:"domain"`
	Host   string `toml:"host"` // "host:port"
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Duration is a time.Duration written as a Go duration string ("30m").
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Default returns the configuration used where the file is silent. Its
// listeners are those of the development instance: loopback only,
// unprivileged ports.
func Default() Config {
	host, _ := os.Hostname()
	if host == "" || !strings.Contains(host, ".") {
		host = "localhost"
	}
	return Config{
		Hostname: host,
		DataDir:  "posthorn-data",
		Store:    Store{Driver: "sqlite"},
		Listen: Listen{
			SMTP:       "127.0.0.1:2525",
			Submission: "127.0.0.1:2587",
			IMAP:       "127.0.0.1:2143",
			POP3:       "127.0.0.1:2110",
			HTTP:       "127.0.0.1:8080",
		},
		TLS:  TLS{SelfSigned: true, ACMEDirectory: "https://acme-v02.api.letsencrypt.org/directory"},
		Auth: Auth{AllowPlaintextOnLoopback: true},
		Limits: Limits{
			MaxMessageSize:      50 << 20,
			MaxRecipients:       100,
			MaxConnectionsPerIP: 20,
		},
		Queue: Queue{
			Retry:       []Duration{Duration(5 * time.Minute), Duration(10 * time.Minute), Duration(20 * time.Minute), Duration(30 * time.Minute)},
			Lifetime:    Duration(120 * time.Hour),
			DelayNotice: Duration(4 * time.Hour),
			MTASTS:      true,

			PerDestination:   8,
			MaxPerConnection: 100,
		},
		MX:     MX{Checks: true},
		MTASTS: MTASTS{Mode: "testing", MaxAge: Duration(7 * 24 * time.Hour)},
		Log:    Log{Level: "info", Format: "text"},
	}
}

// Dev returns the configuration of `posthorn serve` without a file.
func Dev() Config {
	c := Default()
	c.Hostname = "localhost"
	c.Dev = true
	return c
}

// Load reads a file over the defaults and validates the result.
func Load(path string) (Config, error) {
	c := Default()
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("%s: unknown key %s", path, strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks every value and names the key of the first that is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Hostname == "" || strings.ContainsAny(c.Hostname, " \t/@") {
		bad("hostname", "%q is not a host name", c.Hostname)
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.DataDir == "" {
			bad("data_dir", "must be set for the sqlite store")
		}
	case "postgres":
		if c.Store.DSN == "" {
			bad("store.dsn", "must be set for the postgres store")
		}
	default:
		bad("store.driver", "%q: want \"sqlite\" or \"postgres\"", c.Store.Driver)
	}
	listeners := c.Listen.byKey()
	for _, key := range slices.Sorted(maps.Keys(listeners)) {
		addr := listeners[key]
		if addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(addr); err != nil {
			bad("listen."+key, "%q: want host:port", addr)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			bad("listen."+key, "%q: bad port", addr)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file", "cert_file and key_file go together")
	}
	if c.Limits.MaxMessageSize < 1024 {
		bad("limits.max_message_size", "%d is below 1024", c.Limits.MaxMessageSize)
	}
	if c.Limits.MaxRecipients < 1 {
		bad("limits.max_recipients", "must be at least 1")
	}
	if c.Limits.MaxConnectionsPerIP < 1 {
		bad("limits.max_connections_per_ip", "must be at least 1")
	}
	if len(c.Queue.Retry) == 0 {
		bad("queue.retry", "needs at least one interval")
	}
	for i, d := range c.Queue.Retry {
		if d <= 0 {
			bad(fmt.Sprintf("queue.retry[%d]", i), "must be positive")
		}
	}
	if c.Queue.Lifetime <= 0 {
		bad("queue.lifetime", "must be positive")
	}
	if c.Queue.PerDestination < 1 {
		bad("queue.per_destination", "must be at least 1")
	}
	if c.Queue.MaxPerConnection < 1 {
		bad("queue.max_per_connection", "must be at least 1")
	}
	if c.Queue.DelayNotice < 0 {
		bad("queue.delay_notice", "must not be negative")
	}
	if c.Queue.Smarthost != "" {
		if _, _, err := net.SplitHostPort(c.Queue.Smarthost); err != nil {
			bad("queue.smarthost", "%q: want host:port", c.Queue.Smarthost)
		}
	}
	for i, r := range c.Queue.Routes {
		if r.Domain == "" {
			bad(fmt.Sprintf("queue.route[%d].domain", i), "must be set")
		}
		if _, _, err := net.SplitHostPort(r.Host); err != nil {
			bad(fmt.Sprintf("queue.route[%d].host", i), "%q: want host:port", r.Host)
		}
	}
	if c.TLS.ACMEEmail != "" && !strings.HasPrefix(c.TLS.ACMEDirectory, "https://") {
		bad("tls.acme_directory", "%q: want an https:// URL", c.TLS.ACMEDirectory)
	}
	switch c.MTASTS.Mode {
	case "enforce", "testing", "none":
	default:
		bad("mta_sts.mode", "%q: want enforce, testing or none", c.MTASTS.Mode)
	}
	// RFC 8461 §3.2: max_age is at most 31557600 seconds.
	if c.MTASTS.MaxAge <= 0 || c.MTASTS.MaxAge.D() > 31557600*time.Second {
		bad("mta_sts.max_age", "must be positive and at most 8766h (RFC 8461 §3.2)")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q: want text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

// byKey maps each listener's key to its address.
func (l Listen) byKey() map[string]string {
	return map[string]string{
		"smtp": l.SMTP, "submission": l.Submission, "submissions": l.Submissions,
		"imap": l.IMAP, "imaps": l.IMAPS, "pop3": l.POP3, "pop3s": l.POP3S,
		"http": l.HTTP, "https": l.HTTPS, "metrics": l.Metrics,
	}
}

// FromEnvOrFlag returns the config file to use: the flag's value, else
// $POSTHORN_CONFIG, else "".
func FromEnvOrFlag(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv("POSTHORN_CONFIG")
}
