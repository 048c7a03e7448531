package jmap

import (
	"strconv"
	"strings"

	"posthorn/internal/mailbox"
)

// JMAP ids (RFC 8620 §1.2) are store ids with a letter in front, so that
// no id is all digits and a mix-up between kinds shows at once:
//
//	A<account>  M<mailbox>  E<message>  T<thread>  I<identity>
//
// Blob ids (§6) name what a download returns: R<message> the raw message,
// R<message>_<n>_<n>... one part of it by its partId (transfer encoding
// undone), U<hex> an upload.

func accountID(a mailbox.AccountID) string     { return "A" + strconv.FormatInt(int64(a), 10) }
func mailboxID(m mailbox.MailboxID) string     { return "M" + strconv.FormatInt(int64(m), 10) }
func emailID(m mailbox.MessageID) string       { return "E" + strconv.FormatInt(int64(m), 10) }
func threadID(t int64) string                  { return "T" + strconv.FormatInt(t, 10) }
func messageBlobID(m mailbox.MessageID) string { return "R" + strconv.FormatInt(int64(m), 10) }

// partBlobID names one MIME part of a message by its partId ("1.2").
func partBlobID(m mailbox.MessageID, partID string) string {
	return messageBlobID(m) + "_" + strings.ReplaceAll(partID, ".", "_")
}

// parseID reads an id of one kind; ok is false when it is not one.
func parseID(s string, kind byte) (int64, bool) {
	if len(s) < 2 || len(s) > 20 || s[0] != kind {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	if s[1] == '0' {
		return 0, false // one spelling per id
	}
	n, err := strconv.ParseInt(s[1:], 10, 64)
	return n, err == nil && n > 0
}

func parseAccountID(s string) (mailbox.AccountID, bool) {
	n, ok := parseID(s, 'A')
	return mailbox.AccountID(n), ok
}

func parseMailboxID(s string) (mailbox.MailboxID, bool) {
	n, ok := parseID(s, 'M')
	return mailbox.MailboxID(n), ok
}

func parseEmailID(s string) (mailbox.MessageID, bool) {
	n, ok := parseID(s, 'E')
	return mailbox.MessageID(n), ok
}

func parseThreadID(s string) (int64, bool) { return parseID(s, 'T') }

// blobRef is a parsed blob id.
type blobRef struct {
	msg    mailbox.MessageID // a message or one of its parts
	part   string            // partId, "" for the whole message
	upload string            // an upload's key, when not a message
}

// parseBlobID reads a blob id; ok is false when it is malformed.
func parseBlobID(s string) (blobRef, bool) {
	if len(s) > 2 && s[0] == 'U' && len(s) <= 65 {
		for i := 1; i < len(s); i++ {
			if !strings.ContainsRune("0123456789abcdef", rune(s[i])) {
				return blobRef{}, false
			}
		}
		return blobRef{upload: s[1:]}, true
	}
	head, rest, hasPart := strings.Cut(s, "_")
	n, ok := parseID(head, 'R')
	if !ok {
		return blobRef{}, false
	}
	ref := blobRef{msg: mailbox.MessageID(n)}
	if hasPart {
		nums := strings.Split(rest, "_")
		if len(nums) > 32 {
			return blobRef{}, false
		}
		for _, p := range nums {
			if v, err := strconv.Atoi(p); err != nil || v < 1 || strconv.Itoa(v) != p {
				return blobRef{}, false
			}
		}
		ref.part = strings.Join(nums, ".")
	}
	return ref, true
}

// validID reports whether s has the syntax of a JMAP Id (RFC 8620 §1.2):
// 1 to 255 octets of URL-safe base64 characters. Creation ids use it too.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
