package interop

import (
	"os"
	"strconv"
	"strings"
)

// postfixMain is the peer's main.cf. Written for Postfix 3.7 (Debian 12).
func postfixMain(p *peer, tls pki) string {
	return `# Written by posthorn's internal/interop for one test run.
compatibility_level = 3.6
queue_directory = ` + p.pfSpool + `
data_directory = ` + p.pfData + `
mail_owner = postfix
setgid_group = postdrop
maillog_file = ` + p.pfLog + `
maillog_file_prefixes = ` + p.Dir + `

myhostname = mail.peer.test
mydomain = peer.test
myorigin = $mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
append_dot_mydomain = no
# No header rewriting for anyone: messages pass unchanged but for Received.
local_header_rewrite_clients =

# Never look anything up in DNS; deliver nowhere but Dovecot and Posthorn.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
default_transport = error:5.7.1 outbound delivery is disabled on this loopback test peer
relay_transport = error:5.7.1 outbound delivery is disabled on this loopback test peer
local_transport = error:5.7.1 no local delivery on this loopback test peer
alias_maps =
alias_database =
local_recipient_maps =

# peer.test: Dovecot over LMTP; unknown users are refused at RCPT.
virtual_mailbox_domains = ` + peerDomain + `
virtual_mailbox_maps = texthash:` + p.pfEtc + `/vmailbox
virtual_transport = lmtp:unix:private/dovecot-lmtp

# example.test: relayed to Posthorn's MX, over TLS or not at all.
relay_domains = example.test
transport_maps = texthash:` + p.pfEtc + `/transport
smtp_tls_security_level = encrypt
smtp_connection_cache_on_demand = no
# Retry soon: a case may send before its Posthorn listens.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s

# Loopback (mynetworks) and authenticated clients may relay.
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = reject_unlisted_recipient
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
message_size_limit = 52428800

smtpd_tls_security_level = may
smtpd_tls_cert_file = ` + tls.CertFile + `
smtpd_tls_key_file = ` + tls.KeyFile + `
`
}

// postfixMaster is the peer's master.cf: smtpd and submission on their
// ports, the usual internal services.
func postfixMaster(p *peer) string {
	return `# Written by posthorn's internal/interop for one test run.
` + p.SMTP + ` inet n - n - - smtpd
` + p.Submission + ` inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`
}

// dovecotConf is the peer's dovecot.conf. Written for Dovecot 2.3
// (Debian 12). Mail is stored as the unprivileged mailUser.
func dovecotConf(p *peer, tls pki, uid, gid int) string {
	dir, pfSpool := p.dcDir, p.pfSpool
	dh := ""
	if _, err := os.Stat("/usr/share/dovecot/dh.pem"); err == nil {
		dh = "ssl_dh = </usr/share/dovecot/dh.pem\n"
	}
	u, g := strconv.Itoa(uid), strconv.Itoa(gid)
	listener := func(name, addr string) string {
		host, port, _ := strings.Cut(addr, ":")
		return "  inet_listener " + name + " {\n    address = " + host + "\n    port = " + port + "\n  }\n"
	}
	return `# Written by posthorn's internal/interop for one test run.
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = ` + dir + `/run
state_dir = ` + dir + `/state
instance_name = posthorn-interop
hostname = mail.peer.test
log_path = ` + p.dcLog + `
info_log_path = ` + p.dcLog + `

ssl = yes
ssl_cert = <` + tls.CertFile + `
ssl_key = <` + tls.KeyFile + `
` + dh + `
# Loopback only: plaintext logins are allowed (the clients use TLS anyway).
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ` + dir + `/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ` + dir + `/users
  default_fields = uid=` + u + ` gid=` + g + ` home=` + p.mailDir + `/%d/%n
}
first_valid_uid = ` + u + `
last_valid_uid = ` + u + `
first_valid_gid = ` + g + `
last_valid_gid = ` + g + `
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \Drafts
    auto = create
  }
  mailbox Sent {
    special_use = \Sent
    auto = create
  }
  mailbox Trash {
    special_use = \Trash
    auto = create
  }
  mailbox Junk {
    special_use = \Junk
    auto = create
  }
}
pop3_uidl_format = %08Xu%08Xv

service imap-login {
` + listener("imap", p.IMAP) + `  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
` + listener("pop3", p.POP3) + `  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  unix_listener ` + pfSpool + `/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener ` + pfSpool + `/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  postmaster_address = postmaster@` + peerDomain + `
}
`
}
