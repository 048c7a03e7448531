package message

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var receivedDate = time.Date(2024, 3, 9, 17, 4, 5, 0, time.FixedZone("", 3600))

func TestReceivedGolden(t *testing.T) {
	tests := []struct {
		name string
		info ReceivedInfo
	}{
		{"mx-esmtps", ReceivedInfo{
			Helo: "mail.example.org", RemoteHost: "mail.example.org", RemoteIP: netip.MustParseAddr("192.0.2.25"),
			By: "mx.posthorn.example", ESMTP: true, TLSVersion: tls.VersionTLS13, TLSCipher: tls.TLS_AES_128_GCM_SHA256,
			ID: "01HQZX4K7Y", Recipients: []string{"bob@posthorn.example"}, Date: receivedDate,
		}},
		{"submission-esmtpsa-many", ReceivedInfo{
			Helo: "[192.168.1.7]", RemoteIP: netip.MustParseAddr("2001:db8::7"),
			By: "smtp.posthorn.example", ESMTP: true, Auth: true, TLSVersion: tls.VersionTLS12,
			TLSCipher: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			ID:        "Q2", Recipients: []string{"a@x.example", "b@y.example"}, Date: receivedDate,
		}},
		{"helo-plain", ReceivedInfo{
			Helo: "old.example", RemoteIP: netip.MustParseAddr("::ffff:198.51.100.3"),
			By: "mx.posthorn.example", ID: "Q3", Recipients: []string{"c@posthorn.example"}, Date: receivedDate,
		}},
		{"hostile-helo-utf8", ReceivedInfo{
			Helo: "evil\r\nX-Injected: yes (oops", RemoteHost: "", RemoteIP: netip.MustParseAddr("203.0.113.9"),
			By: "mx.posthorn.example", ESMTP: true, SMTPUTF8: true, ID: "Q4",
			Recipients: []string{"dörte@posthorn.example>\r\nBcc: x"}, Date: receivedDate,
		}},
		{"lmtp-no-ip", ReceivedInfo{
			Helo: "", By: "posthorn.example", ESMTP: true, LMTP: true, Date: receivedDate,
		}},
	}
	for _, tt := range tests {
		got := Received(tt.info)
		if !strings.HasPrefix(got, "Received: ") || !strings.HasSuffix(got, "\r\n") || strings.Count(got, "\r\n") != strings.Count(got, "\n") {
			t.Errorf("%s: malformed field %q", tt.name, got)
		}
		h, _ := ParseHeader([]byte(got + "\r\n"))
		if len(h) != 1 || h[0].Name != "Received" {
			t.Errorf("%s: does not parse as one field: %q", tt.name, got)
		}
		for _, ln := range strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n") {
			if len(ln) > 78 {
				t.Errorf("%s: line of %d octets", tt.name, len(ln))
			}
		}
		checkGolden(t, "received/"+tt.name+".txt", []byte(got))
	}
}

func TestReceivedProtocol(t *testing.T) {
	tests := []struct {
		info ReceivedInfo
		want string
	}{
		{ReceivedInfo{}, "SMTP"},
		{ReceivedInfo{ESMTP: true}, "ESMTP"},
		{ReceivedInfo{ESMTP: true, TLSVersion: 1}, "ESMTPS"},
		{ReceivedInfo{ESMTP: true, Auth: true}, "ESMTPA"},
		{ReceivedInfo{ESMTP: true, Auth: true, TLSVersion: 1}, "ESMTPSA"},
		{ReceivedInfo{ESMTP: true, SMTPUTF8: true}, "UTF8SMTP"},
		{ReceivedInfo{ESMTP: true, SMTPUTF8: true, Auth: true, TLSVersion: 1}, "UTF8SMTPSA"},
		{ReceivedInfo{LMTP: true, TLSVersion: 1}, "LMTPS"},
	}
	for _, tt := range tests {
		if got := tt.info.Protocol(); got != tt.want {
			t.Errorf("Protocol(%+v) = %q, want %q", tt.info, got, tt.want)
		}
	}
}
