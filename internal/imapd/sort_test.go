package imapd

import (
	"testing"
)

func TestSort(t *testing.T) {
	_, rc := searchFixture(t)
	for crit, want := range map[string]string{
		"(DATE)":                         "2 3 1", // 3 has no Date: its internal date counts
		"(REVERSE DATE)":                 "1 3 2",
		"(ARRIVAL)":                      "1 2 3",
		"(REVERSE ARRIVAL)":              "3 2 1",
		"(SUBJECT)":                      "2 1 3",
		"(FROM)":                         "1 3 2",
		"(TO)":                           "3 2 1",
		"(CC)":                           "2 3 1",
		"(SIZE)":                         "3 1 2",
		"(REVERSE SIZE)":                 "2 1 3",
		"(REVERSE SUBJECT REVERSE DATE)": "3 1 2",
	} {
		mustHave(t, rc.ok("SORT "+crit+" UTF-8 ALL"), "* SORT "+want)
	}
	mustHave(t, rc.ok("UID SORT (DATE) UTF-8 UNDELETED"), "* SORT 2 1")
	rc.fail("BAD", "SORT (BOGUS) UTF-8 ALL")
	rc.fail("NO", "SORT (DATE) ALL") // ALL is read as the charset
	rc.fail("NO", "SORT (DATE) KOI8-R ALL")
}

func TestThread(t *testing.T) {
	h := newHarness(t)
	rc := h.login()
	msg := func(id, subj, date, refs string) string {
		s := "Message-ID: <" + id + ">\r\nSubject: " + subj + "\r\nDate: " + date + "\r\n"
		if refs != "" {
			s += "References: " + refs + "\r\n"
		}
		return s + "\r\nx\r\n"
	}
	for _, m := range []string{
		msg("a@x", "Topic", "Mon, 1 Jan 2024 10:00:00 +0000", ""),
		msg("b@x", "Re: Topic", "Tue, 2 Jan 2024 10:00:00 +0000", "<a@x>"),
		msg("c@x", "Other", "Wed, 3 Jan 2024 10:00:00 +0000", ""),
		msg("d@x", "Re: Topic", "Thu, 4 Jan 2024 10:00:00 +0000", "<a@x> <b@x>"),
		msg("e@x", "Re: Topic", "Fri, 5 Jan 2024 10:00:00 +0000", "<a@x>"),
		msg("f@x", "Re: Lost", "Sat, 6 Jan 2024 10:00:00 +0000", "<gone@x>"),
		msg("g@x", "Re: Lost", "Sun, 7 Jan 2024 10:00:00 +0000", "<gone@x>"),
		msg("h@x", "Other", "Mon, 8 Jan 2024 10:00:00 +0000", ""),
	} {
		rc.appendMsg("INBOX", "", "01-Jan-2024 00:00:00 +0000", m)
	}
	rc.ok("SELECT INBOX")
	mustHave(t, rc.ok("THREAD REFERENCES UTF-8 ALL"), "* THREAD (1 (2 4)(5))((3)(8))((6)(7))")
	mustHave(t, rc.ok("THREAD ORDEREDSUBJECT UTF-8 ALL"), "* THREAD (1 (2)(4)(5))(3 8)(6 7)")
	mustHave(t, rc.ok("UID THREAD REFERENCES UTF-8 SUBJECT other"), "* THREAD ((3)(8))")
	mustHave(t, rc.ok("THREAD REFERENCES UTF-8 SUBJECT nothing"), "* THREAD")
	rc.fail("BAD", "THREAD BOGUS UTF-8 ALL")
}
