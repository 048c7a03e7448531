package config

import (
	"strings"
	"testing"
	"time"
)

// The keys of issue 8 (trust): [mx], [mta_sts], [queue] mta_sts and
// [tls] acme_directory.
func TestTrustDefaults(t *testing.T) {
	d := Default()
	if !d.MX.Checks || d.MX.SPFEnforce || d.MX.DMARCEnforce {
		t.Fatalf("mx = %+v", d.MX)
	}
	if d.MTASTS.Mode != "testing" || d.MTASTS.MaxAge.D() != 7*24*time.Hour || !d.Queue.MTASTS {
		t.Fatalf("mta_sts = %+v, queue.mta_sts = %v", d.MTASTS, d.Queue.MTASTS)
	}
	if d.TLS.ACMEDirectory != "https://acme-v02.api.letsencrypt.org/directory" {
		t.Fatalf("acme_directory = %q", d.TLS.ACMEDirectory)
	}
}

func TestTrustLoad(t *testing.T) {
	c, err := Load(write(t, `
[tls]
acme_email = "postmaster@example.test"
acme_directory = "https://127.0.0.1:14000/dir"
[mx]
dmarc_enforce = true
spf_enforce = true
[mta_sts]
mode = "enforce"
max_age = "720h"
[queue]
mta_sts = false
`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.MX.Checks || !c.MX.DMARCEnforce || !c.MX.SPFEnforce || c.MTASTS.Mode != "enforce" ||
		c.MTASTS.MaxAge.D() != 720*time.Hour || c.Queue.MTASTS || c.TLS.ACMEDirectory != "https://127.0.0.1:14000/dir" {
		t.Fatalf("loaded %+v %+v %+v", c.MX, c.MTASTS, c.TLS)
	}
}

func TestTrustErrorsNameTheKey(t *testing.T) {
	for body, key := range map[string]string{
		"[mta_sts]\nmode = \"strict\"":   "mta_sts.mode",
		"[mta_sts]\nmax_age = \"9000h\"": "mta_sts.max_age",
		"[mta_sts]\nmax_age = \"-1h\"":   "mta_sts.max_age",
		"[mx]\ndmarc_enfroce = true":     "dmarc_enfroce",
		"[tls]\nacme_email = \"a@b.test\"\nacme_directory = \"http://ca.test/dir\"": "tls.acme_directory",
	} {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: err = %v, want it to name %s", body, err, key)
		}
	}
}
