package jmap

import (
	"bytes"
	"encoding/json"
	"time"

	"posthorn/internal/mailbox"
)

// Email/import (RFC 8621 §4.8): a blob becomes an Email.

type importArgs struct {
	AccountID string                     `json:"accountId"`
	IfInState *string                    `json:"ifInState"`
	Emails    map[string]json.RawMessage `json:"emails"`
}

type emailImport struct {
	BlobID     string          `json:"blobId"`
	MailboxIDs map[string]bool `json:"mailboxIds"`
	Keywords   map[string]bool `json:"keywords"`
	ReceivedAt *string         `json:"receivedAt"`
}

type importResponse struct {
	AccountID  string               `json:"accountId"`
	OldState   string               `json:"oldState"`
	NewState   string               `json:"newState"`
	Created    map[string]any       `json:"created"`
	NotCreated map[string]*setError `json:"notCreated"`
}

func (cc *call) emailImport(raw json.RawMessage) (any, error) {
	var a importArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if a.Emails == nil {
		return nil, invalidArgs("emails is required")
	}
	old, err := cc.beginSet(setArgs{AccountID: a.AccountID, IfInState: a.IfInState, Create: a.Emails})
	if err != nil {
		return nil, err
	}
	res := importResponse{AccountID: a.AccountID, OldState: old.String(), Created: map[string]any{}, NotCreated: map[string]*setError{}}
	for cid, obj := range a.Emails {
		created, err := cc.importOne(obj)
		if err != nil {
			res.NotCreated[cid] = asSetError(cc.ctx, cc.log, err)
			continue
		}
		cc.created[cid] = created["id"].(string)
		res.Created[cid] = created
	}
	cur, _, err := cc.readState()
	if err != nil {
		return nil, err
	}
	res.NewState = cur.String()
	return res, nil
}

func (cc *call) importOne(raw json.RawMessage) (map[string]any, error) {
	var ei emailImport
	if err := strictUnmarshal(raw, &ei); err != nil {
		return nil, &setError{Type: setInvalidProperties, Description: "invalid EmailImport: " + err.Error()}
	}
	mb, err := cc.oneMailbox(ei.MailboxIDs)
	if err != nil {
		return nil, err
	}
	flags, kw, err := keywordsToFlags(ei.Keywords)
	if err != nil {
		return nil, err
	}
	var received time.Time
	if ei.ReceivedAt != nil {
		if received, err = time.Parse(time.RFC3339, *ei.ReceivedAt); err != nil {
			return nil, invalidProps("receivedAt")
		}
	}
	data, serr := cc.blobContent(ei.BlobID)
	if serr != nil {
		return nil, serr
	}
	body := toCRLF(data)
	app, err := cc.s.mbs.Append(cc.ctx, cc.ai.account, mb, []mailbox.NewMessage{{Body: bytes.NewReader(body), Flags: flags, Keywords: kw, Date: received}})
	if err != nil {
		return nil, err
	}
	cc.log.Info("email imported", "email", app[0].ID, "mailbox", mb, "size", len(body))
	return map[string]any{"id": emailID(app[0].ID), "blobId": messageBlobID(app[0].ID), "threadId": threadID(app[0].ThreadID), "size": len(body)}, nil
}

// toCRLF turns bare LF line ends into CRLF, the form Posthorn stores
// (RFC 5322 §2.1); a lone CR is left alone.
func toCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
