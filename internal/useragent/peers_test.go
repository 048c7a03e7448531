package useragent

import (
	"os"
	"testing"
)

// TestScenarioPeers runs the scenario against the reference Postfix
// (submission 127.0.0.1:10587) and Dovecot (IMAP 127.0.0.1:10143) that
// /work/shared/peers/up.sh starts, with their self-signed certificate. The
// default suite does not start peers, so it runs only with
// POSTHORN_TEST_PEERS=1.
func TestScenarioPeers(t *testing.T) {
	if os.Getenv("POSTHORN_TEST_PEERS") != "1" {
		t.Skip("set POSTHORN_TEST_PEERS=1 with the peers running (peers/up.sh)")
	}
	runScenario(t, mailSetup{
		account: func(user string) Account {
			return Account{Server: "127.0.0.1", SMTPPort: 10587, IMAPPort: 10143, User: user, Password: "password", Insecure: true}
		},
		imapAddr: "127.0.0.1:10143",
		// The Bcc goes to the sender herself: the peers have few users and
		// bench/imaptest mailboxes belong to other tests.
		sender: "alice@peer.test", to: "bob@peer.test", cc: "carol@peer.test", bcc: "alice@peer.test",
		addr: func(u string) string { return u },
	})
}
