package jmap_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"posthorn/internal/config"
	"posthorn/internal/servertest"
)

func TestBlobUploadDownload(t *testing.T) {
	e := newEnv(t, servertest.WithConfig(func(c *config.Config) { c.Limits.MaxMessageSize = 64 << 10 }))
	blob := e.upload("application/octet-stream", []byte("hello blob"))
	resp := e.do("GET", "/jmap/download/"+e.acct+"/"+blob+"/hello.bin?accept=text/plain", nil, nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello blob" || resp.Header.Get("Content-Type") != "text/plain" ||
		resp.Header.Get("Content-Disposition") != "attachment; filename*=UTF-8''hello.bin" {
		t.Errorf("download: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	// Too large: the limit error of RFC 8620 §6.1.
	resp = e.do("POST", "/jmap/upload/"+e.acct+"/", bytes.NewReader(make([]byte, 65<<10)), map[string]string{"Content-Type": "application/pdf"})
	var p map[string]any
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 413 || p["type"] != "urn:ietf:params:jmap:error:limit" || p["limit"] != "maxSizeUpload" {
		t.Errorf("oversized upload: %d %v", resp.StatusCode, p)
	}
	// Another account sees neither the upload nor the account's paths.
	bob := e.as("bob@example.test")
	for _, path := range []string{"/jmap/download/" + bob.acct + "/" + blob + "/x", "/jmap/download/" + e.acct + "/" + blob + "/x"} {
		resp := bob.do("GET", path, nil, nil)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("bob GET %s: %d", path, resp.StatusCode)
		}
	}
	resp = bob.do("POST", "/jmap/upload/"+e.acct+"/", strings.NewReader("x"), nil)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("bob uploads into alice's account: %d", resp.StatusCode)
	}
	// A whole message and one of its parts download as their blobs.
	id := e.importMessage(e.mailboxes()["inbox"], []byte("Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n"), nil)
	m := e.getEmail(id, "blobId", "textBody")
	for blobID, want := range map[string]string{
		m["blobId"].(string): "Subject: x",
		m["textBody"].([]any)[0].(map[string]any)["blobId"].(string): "hi",
	} {
		resp := e.do("GET", "/jmap/download/"+e.acct+"/"+blobID+"/m.eml", nil, nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), want) {
			t.Errorf("blob %s = %q, want prefix %q", blobID, b, want)
		}
	}
	for _, bad := range []string{"R999999", "R1_9", "Unothex", "E1"} {
		resp := e.do("GET", "/jmap/download/"+e.acct+"/"+bad+"/x", nil, nil)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("blob %s: %d", bad, resp.StatusCode)
		}
	}
}
