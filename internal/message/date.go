package message

import (
	"strconv"
	"strings"
	"time"
)

// ParseDate parses a Date header value: RFC 5322 §3.3 date-time, accepting
// the obsolete forms of §4.3 (two- and three-digit years, alphabetic and
// military zones, comments and white space anywhere) and common breakage:
// missing seconds, a zone glued to the time ("00:01+0000"), a missing day
// of week or zone, asctime order ("Wed Feb 11 11:51:00 1998"). Unknown
// alphabetic zones and military zones mean -0000, as §4.3 says. ok is false
// when no calendar date can be found.
func ParseDate(s string) (t time.Time, ok bool) {
	s = stripComments(Unfold(s))
	if strings.Contains(s, ":") {
		// RFC 5322 §4.3 obs-time allows CFWS around the colons.
		parts := strings.Split(s, ":")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		s = strings.Join(parts, ":")
	}
	var (
		day, month, year  = -1, -1, -1
		hour, minute, sec = -1, 0, 0
		zone              = 0
		yearDigits        = 0
		haveZone          bool
	)
	for _, tok := range dateTokens(s) {
		switch {
		case strings.Contains(tok, ":"):
			if hour >= 0 {
				continue
			}
			if hour, minute, sec, ok = parseClock(tok); !ok {
				return time.Time{}, false
			}
		case tok[0] == '+' || tok[0] == '-':
			if off, ok := parseZoneOffset(tok); ok && !haveZone {
				zone, haveZone = off, true
			}
		case isDigits(tok):
			n, _ := strconv.Atoi(tok)
			switch {
			case day < 0 && len(tok) <= 2:
				day = n
			case year < 0:
				year, yearDigits = n, len(tok)
			}
		default:
			if m := monthIndex(tok); m > 0 && month < 0 {
				month = m
				continue
			}
			if off, ok := zoneByName(tok); ok && !haveZone && hour >= 0 {
				zone, haveZone = off, true
			}
		}
	}
	if day < 1 || day > 31 || month < 1 || year < 0 {
		return time.Time{}, false
	}
	switch {
	case yearDigits <= 2 && year < 50:
		year += 2000
	case yearDigits <= 3 && year < 1000:
		year += 1900
	}
	if hour < 0 {
		hour = 0
	}
	if sec == 60 {
		sec = 59 // leap second (RFC 5322 §3.3)
	}
	loc := time.FixedZone("", zone)
	t = time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc)
	if t.Day() != day {
		return time.Time{}, false // 31 Feb and the like
	}
	return t, true
}

// dateTokens splits a date into words, separating a zone glued to a time.
func dateTokens(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n'
	})
	out := f[:0:0]
	for _, t := range f {
		if strings.Contains(t, ":") {
			if i := strings.IndexAny(t, "+-"); i > 0 {
				out = append(out, t[:i], t[i:])
				continue
			}
		}
		// "11-Apr-1996" style.
		if parts := strings.Split(t, "-"); len(parts) == 3 && isDigits(parts[0]) && monthIndex(parts[1]) > 0 {
			out = append(out, parts...)
			continue
		}
		out = append(out, t)
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseClock parses "hh:mm[:ss]" (RFC 5322 §3.3 time-of-day; §4.3 allows
// CFWS around the colons, which Unfold and stripComments leave as nothing).
func parseClock(s string) (h, m, sec int, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	var n [3]int
	for i, p := range parts {
		if !isDigits(p) || len(p) > 2 {
			return 0, 0, 0, false
		}
		n[i], _ = strconv.Atoi(p)
	}
	if n[0] > 23 || n[1] > 59 || n[2] > 60 {
		return 0, 0, 0, false
	}
	return n[0], n[1], n[2], true
}

// parseZoneOffset parses "+hhmm" / "-hhmm" into seconds east of UTC.
func parseZoneOffset(s string) (int, bool) {
	if len(s) != 5 || !isDigits(s[1:]) {
		return 0, false
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	if h > 23 || m > 59 {
		return 0, false
	}
	off := (h*60 + m) * 60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// zoneByName maps the obsolete zone names of RFC 5322 §4.3.
func zoneByName(s string) (int, bool) {
	switch strings.ToUpper(s) {
	case "UT", "UTC", "GMT", "Z":
		return 0, true
	case "EDT":
		return -4 * 3600, true
	case "EST", "CDT":
		return -5 * 3600, true
	case "CST", "MDT":
		return -6 * 3600, true
	case "MST", "PDT":
		return -7 * 3600, true
	case "PST":
		return -8 * 3600, true
	}
	// Military and other alphabetic zones: "SHOULD be considered equivalent
	// to -0000" (RFC 5322 §4.3).
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return 0, false
		}
	}
	return 0, len(s) <= 5
}

func monthIndex(s string) int {
	if len(s) < 3 {
		return 0
	}
	const months = "janfebmaraprmayjunjulaugsepoctnovdec"
	m := strings.ToLower(s[:3])
	for i := 0; i < 12; i++ {
		if months[3*i:3*i+3] == m {
			return i + 1
		}
	}
	return 0
}

// FormatDate renders t as an RFC 5322 §3.3 date-time.
func FormatDate(t time.Time) string {
	return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
}
