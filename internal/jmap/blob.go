package jmap

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"posthorn/internal/mailbox"
)

// Blobs (RFC 8620 §6): upload, download, and reading the content of a blob
// for Email/import and Email/set.

type uploadResponse struct {
	AccountID string `json:"accountId"`
	BlobID    string `json:"blobId"`
	Type      string `json:"type"`
	Size      int    `json:"size"`
}

// handleUpload stores a blob (RFC 8620 §6.1).
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, ai *authInfo) {
	if a, ok := parseAccountID(r.PathValue("accountId")); !ok || a != ai.account {
		writeProblem(w, problem{Type: "about:blank", Status: http.StatusNotFound, Detail: "no such account"})
		return
	}
	if !s.acquire(s.upflight, ai.account, s.o.MaxConcurrentUpload) {
		writeProblem(w, problem{Type: probLimit, Status: http.StatusTooManyRequests, Limit: "maxConcurrentUpload",
			Detail: fmt.Sprintf("at most %d uploads at once", s.o.MaxConcurrentUpload)})
		return
	}
	defer s.release(s.upflight, ai.account)
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxSizeUpload))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeProblem(w, problem{Type: probLimit, Status: http.StatusRequestEntityTooLarge, Limit: "maxSizeUpload",
			Detail: fmt.Sprintf("uploads are limited to %d octets", s.o.MaxSizeUpload)})
		return
	}
	if err != nil {
		infoOf(r.Context()).log.Info("upload", "err", err)
		return
	}
	typ := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(typ); err != nil || typ == "" {
		typ = "application/octet-stream"
	} else {
		typ = mt
	}
	key, ok := s.uploads.put(ai.account, typ, data)
	if !ok {
		writeProblem(w, problem{Type: probLimit, Status: http.StatusRequestEntityTooLarge, Limit: "maxSizeUpload", Detail: "upload too large"})
		return
	}
	infoOf(r.Context()).log.Info("uploaded", "blob", "U"+key, "size", len(data))
	writeJSON(w, http.StatusCreated, uploadResponse{AccountID: accountID(ai.account), BlobID: "U" + key, Type: typ, Size: len(data)})
}

// handleDownload sends a blob (RFC 8620 §6.2), always as an attachment:
// the content is the sender's, and must not render as a page of ours (the
// CSP sandbox of wrap guards that too).
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request, ai *authInfo) {
	if a, ok := parseAccountID(r.PathValue("accountId")); !ok || a != ai.account {
		writeProblem(w, problem{Type: "about:blank", Status: http.StatusNotFound, Detail: "no such account"})
		return
	}
	blobID, name := r.PathValue("blobId"), r.PathValue("name")
	rd, typ, err := s.openBlob(r.Context(), ai.account, blobID)
	if err != nil {
		status, msg := http.StatusNotFound, "no such blob"
		if !errors.Is(err, errBlobNotFound) {
			infoOf(r.Context()).log.Error("download", "blob", blobID, "err", err)
			status, msg = http.StatusInternalServerError, "cannot read the blob"
		}
		writeProblem(w, problem{Type: "about:blank", Status: status, Detail: msg})
		return
	}
	defer rd.Close()
	if acc := r.URL.Query().Get("accept"); acc != "" {
		if mt, _, err := mime.ParseMediaType(acc); err == nil {
			typ = mt
		}
	}
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	h.Set("Cache-Control", "private, max-age=31536000, immutable") // blobs never change (RFC 8620 §6.2)
	w.WriteHeader(http.StatusOK)
	io.Copy(w, rd)
}

var errBlobNotFound = errors.New("jmap: blob not found")

// maxBlobRead bounds what is read into memory of one blob.
const maxBlobRead = 64 << 20

// openBlob opens a blob of the account: an upload, a whole message, or one
// part of a message with its transfer encoding undone.
func (s *Server) openBlob(ctx context.Context, acct mailbox.AccountID, blobID string) (io.ReadCloser, string, error) {
	ref, ok := parseBlobID(blobID)
	if !ok {
		return nil, "", errBlobNotFound
	}
	if ref.upload != "" {
		up, ok := s.uploads.get(acct, ref.upload)
		if !ok {
			return nil, "", errBlobNotFound
		}
		return io.NopCloser(strings.NewReader(string(up.data))), up.typ, nil
	}
	msgs, err := s.mbs.MessagesByID(ctx, acct, []mailbox.MessageID{ref.msg})
	if err != nil {
		return nil, "", err
	}
	if len(msgs) == 0 {
		return nil, "", errBlobNotFound
	}
	c, err := s.mbs.Open(ctx, msgs[0])
	if err != nil {
		return nil, "", err
	}
	if ref.part == "" {
		return c, "message/rfc822", nil
	}
	defer c.Close()
	meta, err := mailbox.Meta(msgs[0])
	if err != nil {
		return nil, "", err
	}
	bp := buildParts(meta.Structure).find(ref.part)
	if bp == nil {
		return nil, "", errBlobNotFound
	}
	n := min(bp.p.BodyEnd-bp.p.BodyStart, maxBlobRead)
	raw := make([]byte, max(n, 0))
	k, err := c.ReadAt(raw, bp.p.BodyStart)
	if err != nil && err != io.EOF {
		return nil, "", err
	}
	data := decodeTransfer(bp.p.Encoding, raw[:k])
	return io.NopCloser(strings.NewReader(string(data))), bp.mediaType(), nil
}

// blobContent reads a blob for a new message part; errors are SetErrors.
func (cc *call) blobContent(blobID string) ([]byte, *setError) {
	id, _ := cc.resolve(blobID)
	rd, _, err := cc.s.openBlob(cc.ctx, cc.ai.account, id)
	if err != nil {
		if errors.Is(err, errBlobNotFound) {
			return nil, &setError{Type: setBlobNotFound, Description: "no such blob", NotFound: []string{blobID}}
		}
		return nil, asSetError(cc.ctx, cc.log, err)
	}
	defer rd.Close()
	b, err := io.ReadAll(io.LimitReader(rd, cc.s.mbs.MaxMessageSize()+1))
	if err != nil {
		return nil, asSetError(cc.ctx, cc.log, err)
	}
	if int64(len(b)) > cc.s.mbs.MaxMessageSize() {
		return nil, sErr(setTooLarge, "blob too large")
	}
	return b, nil
}

// decodeTransfer undoes a Content-Transfer-Encoding (RFC 2045 §6) the way
// readers must with mail in the wild: base64 ignores characters outside
// its alphabet and missing padding; quoted-printable keeps a "=" that
// does not start a valid escape. Other encodings pass unchanged.
func decodeTransfer(cte string, b []byte) []byte {
	switch strings.ToLower(cte) {
	case "base64":
		clean := make([]byte, 0, len(b))
		for _, c := range b {
			if c == '=' {
				break // RFC 2045 §6.8: padding marks the end of the data
			}
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				clean = append(clean, c)
			}
		}
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1] // one stray sextet holds no octet
		}
		out, _ := base64.RawStdEncoding.DecodeString(string(clean))
		return out
	case "quoted-printable":
		return decodeQP(b)
	}
	return b
}

func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	hex := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		}
		return 0, false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		// Soft line break: "=" then optional white space then a line end.
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		if j < len(b) && (b[j] == '\n' || b[j] == '\r') {
			if b[j] == '\r' && j+1 < len(b) && b[j+1] == '\n' {
				j++
			}
			i = j
			continue
		}
		if j == len(b) {
			i = j
			continue
		}
		if i+2 < len(b) {
			h, ok1 := hex(b[i+1])
			l, ok2 := hex(b[i+2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// readAllLimit reads at most limit octets; more is an error.
func readAllLimit(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("jmap: blob larger than %d octets", limit)
	}
	return b, nil
}
