package mailauth

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"posthorn/internal/message"
)

// DKIM results (RFC 8601 §2.7.1).
const (
	DKIMNone      = "none"
	DKIMPass      = "pass"
	DKIMFail      = "fail"
	DKIMTempError = "temperror"
	DKIMPermError = "permerror"
)

// maxSignatures bounds how many signatures of one message are verified
// (RFC 6376 §6.1 lets verifiers limit the work a message can cause); the
// rest are ignored.
const maxSignatures = 8

// DKIMCheck is the verification of one DKIM-Signature field.
type DKIMCheck struct {
	Result    string // DKIMPass, DKIMFail, DKIMTempError or DKIMPermError
	Domain    string // d=, the signing domain (SDID)
	Selector  string // s=
	Algorithm string // a=
	// BPrefix is the first 8 characters of b=, which tell signatures of
	// one domain apart in Authentication-Results (RFC 6008 §4).
	BPrefix string
	Detail  string // why it did not pass, for logs
}

// verifyDKIM checks every signature of the message (up to maxSignatures).
// Only an error reading the message is returned as an error.
func (c *Checker) verifyDKIM(ctx context.Context, msg io.Reader) ([]DKIMCheck, error) {
	br := bufio.NewReaderSize(msg, 32<<10)
	head, err := readHeaderSection(br, maxSignHeader)
	if err == ErrHeaderTooLong {
		// Nothing sane signs such a header; do not read it into memory.
		return []DKIMCheck{{Result: DKIMPermError, Detail: "header section too long"}}, nil
	}
	if err != nil {
		return nil, err
	}
	tags := signatureTags(head)
	if len(tags) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	rr := &readRecorder{r: br}
	verifs, err := dkim.VerifyWithOptions(io.MultiReader(bytes.NewReader(head), rr), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return c.o.Resolver.LookupTXT(ctx, name) },
		MaxVerifications: maxSignatures,
	})
	switch {
	case err == nil, err == dkim.ErrTooManySignatures:
	case rr.err != nil:
		return nil, rr.err // reading the message failed
	default:
		// The library could not parse the message (a header section
		// that never ends, say): no signature can be valid.
		return []DKIMCheck{{Result: DKIMPermError, Detail: err.Error()}}, nil
	}
	out := make([]DKIMCheck, 0, len(verifs))
	for i, v := range verifs {
		chk := DKIMCheck{Domain: strings.ToLower(v.Domain), Result: DKIMPass}
		// The library reports signatures in header order, as
		// signatureTags finds them; if the two ever disagree on what is a
		// field, only the domain is reported.
		if len(tags) == len(verifs) || (len(verifs) == maxSignatures && len(tags) > maxSignatures) {
			t := tags[i]
			chk.Selector, chk.Algorithm, chk.BPrefix = t["s"], t["a"], prefix(t["b"], 8)
		}
		switch {
		case v.Err == nil:
		case dkim.IsTempFail(v.Err):
			chk.Result, chk.Detail = DKIMTempError, v.Err.Error()
		case dkim.IsPermFail(v.Err):
			chk.Result, chk.Detail = DKIMPermError, v.Err.Error()
		default:
			chk.Result, chk.Detail = DKIMFail, v.Err.Error()
		}
		out = append(out, chk)
	}
	return out, nil
}

// signatureTags returns the tags of each DKIM-Signature field of a header
// section, in order, with white space removed from the values (RFC 6376
// §3.2: FWS is allowed anywhere in a tag value).
func signatureTags(head []byte) []map[string]string {
	h, _ := message.ParseHeader(head)
	var out []map[string]string
	for _, f := range h {
		if !strings.EqualFold(f.Name, "DKIM-Signature") {
			continue
		}
		tags := map[string]string{}
		for _, part := range strings.Split(message.Unfold(f.Value), ";") {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			tags[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
		}
		out = append(out, tags)
	}
	return out
}

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// readRecorder remembers a read error other than io.EOF, to tell the
// message's own failures from the verifier's complaints about it.
type readRecorder struct {
	r   io.Reader
	err error
}

func (r *readRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
