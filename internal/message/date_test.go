package message

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339, "" for failure
	}{
		{"Fri, 21 Nov 1997 09:55:06 -0600", "1997-11-21T09:55:06-06:00"},
		{"Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},
		{"Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)", "1969-02-13T23:32:00-03:30"},
		{"21 Nov 97 09:55:06 GMT", "1997-11-21T09:55:06Z"},
		{"Wed, 11 Feb 98 11:51 CST", "1998-02-11T11:51:00-06:00"},
		{"Fri, 21 Nov 1997 09(comment):   55  :  06 -0600", "1997-11-21T09:55:06-06:00"},
		{"01 Jan 2001 00:01+0000", "2001-01-01T00:01:00Z"},
		{"Wed Feb 11 11:51:00 1998", "1998-02-11T11:51:00Z"},
		{"Mon, 1 Jan 2001 00:00:00 PDT", "2001-01-01T00:00:00-07:00"},
		{"Mon, 1 Jan 2001 00:00:00 A", "2001-01-01T00:00:00Z"},
		{"Mon, 1 Jan 49 00:00:00 +0000", "2049-01-01T00:00:00Z"},
		{"Mon, 1 Jan 50 00:00:00 +0000", "1950-01-01T00:00:00Z"},
		{"Mon, 1 Jan 103 00:00:00 +0000", "2003-01-01T00:00:00Z"},
		{"Sat, 30 Jun 2012 23:59:60 +0000", "2012-06-30T23:59:59Z"},
		{"11-Apr-1996 01:10:30 -0500", "1996-04-11T01:10:30-05:00"},
		{"31 Feb 2001 00:00:00 +0000", ""},
		{"Malformed Date.", ""},
		{"", ""},
		{"32 Jan 2001 00:00 +0000", ""},
		{"1 Jan 2001 25:00 +0000", ""},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339)
		}
		if s != tt.want {
			t.Errorf("ParseDate(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	d := time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("", -7*3600))
	if got := FormatDate(d); got != "Mon, 02 Jan 2006 15:04:05 -0700" {
		t.Errorf("FormatDate = %q", got)
	}
	if back, ok := ParseDate(FormatDate(d)); !ok || !back.Equal(d) {
		t.Errorf("round trip: %v %v", back, ok)
	}
}
