package jmap

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"posthorn/internal/mailbox"
)

// Email/set (RFC 8621 §4.6): create (drafts and messages to send), update
// of keywords and mailboxIds, destroy.

func (cc *call) emailSet(raw json.RawMessage) (any, error) {
	var a setArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if a.OnDestroyRemoveEmails {
		return nil, invalidArgs("onDestroyRemoveEmails is a Mailbox/set argument")
	}
	old, err := cc.beginSet(a)
	if err != nil {
		return nil, err
	}
	res := newSetResponse(a.AccountID, old)
	for cid, obj := range a.Create {
		created, err := cc.emailCreate(obj)
		if err != nil {
			res.NotCreated[cid] = asSetError(cc.ctx, cc.log, err)
			continue
		}
		cc.created[cid] = created["id"].(string)
		res.Created[cid] = created
	}
	for id, patch := range a.Update {
		if err := cc.emailUpdate(id, patch); err != nil {
			res.NotUpdated[id] = asSetError(cc.ctx, cc.log, err)
			continue
		}
		res.Updated[id] = nil
	}
	if a.Destroy != nil {
		for _, id := range *a.Destroy {
			if err := cc.emailDestroy(id); err != nil {
				res.NotDestroyed[id] = asSetError(cc.ctx, cc.log, err)
				continue
			}
			res.Destroyed = append(res.Destroyed, id)
		}
	}
	return res, cc.finishSet(&res)
}

// emailCreate builds and appends one message.
func (cc *call) emailCreate(raw json.RawMessage) (map[string]any, error) {
	ne, serr := parseNewEmail(raw)
	if serr != nil {
		return nil, serr
	}
	mb, err := cc.oneMailbox(ne.MailboxIDs)
	if err != nil {
		return nil, err
	}
	flags, kw, err := keywordsToFlags(ne.Keywords)
	if err != nil {
		return nil, err
	}
	received := time.Time{}
	if ne.ReceivedAt != nil {
		if received, err = time.Parse(time.RFC3339, *ne.ReceivedAt); err != nil {
			return nil, invalidProps("receivedAt")
		}
	}
	body, serr := ne.compose(cc.s.o.Hostname, cc.s.o.Now(), func(id string) ([]byte, *setError) { return cc.blobContent(id) })
	if serr != nil {
		return nil, serr
	}
	app, err := cc.s.mbs.Append(cc.ctx, cc.ai.account, mb, []mailbox.NewMessage{{Body: bytes.NewReader(body), Flags: flags, Keywords: kw, Date: received}})
	if err != nil {
		return nil, err
	}
	cc.log.Info("email created", "email", app[0].ID, "mailbox", mb, "size", len(body))
	return map[string]any{"id": emailID(app[0].ID), "blobId": messageBlobID(app[0].ID), "threadId": threadID(app[0].ThreadID), "size": len(body)}, nil
}

// oneMailbox checks a mailboxIds value: exactly one mailbox of the account
// (maxMailboxesPerEmail is 1).
func (cc *call) oneMailbox(ids map[string]bool) (mailbox.MailboxID, error) {
	var out []mailbox.MailboxID
	for raw, on := range ids {
		if !on {
			return 0, invalidProps("mailboxIds")
		}
		id, _ := cc.resolve(raw)
		m, ok := parseMailboxID(id)
		if !ok {
			return 0, invalidProps("mailboxIds")
		}
		if _, err := cc.s.mbs.ByID(cc.ctx, cc.ai.account, m); err != nil {
			return 0, invalidProps("mailboxIds")
		}
		out = append(out, m)
	}
	switch {
	case len(out) == 0:
		return 0, &setError{Type: setInvalidProperties, Description: "an Email must be in a mailbox", Properties: []string{"mailboxIds"}}
	case len(out) > 1:
		return 0, sErr(setTooManyMailboxes, "an Email is in exactly one mailbox on this server")
	}
	return out[0], nil
}

// validKeyword checks RFC 8621 §4.1.1: 1 to 255 of %x21-7E, without
// ( ) { ] % * " \.
func validKeyword(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < 0x21 || c > 0x7e || strings.IndexByte(`(){]%*"\`, c) >= 0 {
			return false
		}
	}
	return true
}

// keywordsToFlags splits JMAP keywords into IMAP system flags and keywords
// (lower case, as JMAP compares them case-insensitively).
func keywordsToFlags(kws map[string]bool) (mailbox.Flags, []string, error) {
	var f mailbox.Flags
	var out []string
	for k, on := range kws {
		if !on || !validKeyword(k) {
			return 0, nil, invalidProps("keywords")
		}
		if fl, ok := flagOfKeyword(k); ok {
			f |= fl
			continue
		}
		out = append(out, strings.ToLower(k))
	}
	return f, mailbox.NormalizeKeywords(out), nil
}

// emailUpdate applies a PatchObject of keywords and mailboxIds (RFC 8620
// §5.3): whole values ("keywords": {...}) or single entries
// ("keywords/$seen": true or null).
func (cc *call) emailUpdate(id string, raw json.RawMessage) error {
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(raw, &patch); err != nil || patch == nil {
		return sErr(setInvalidPatch, "a patch must be an object")
	}
	rid, _ := cc.resolve(id)
	mid, ok := parseEmailID(rid)
	if !ok {
		return sErr(setNotFound, "no email %s", id)
	}
	msgs, err := cc.s.mbs.MessagesByID(cc.ctx, cc.ai.account, []mailbox.MessageID{mid})
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return sErr(setNotFound, "no email %s", id)
	}
	return cc.applyPatch(msgs[0], patch)
}

func (cc *call) applyPatch(m mailbox.Message, patch map[string]json.RawMessage) error {
	kws := keywordsOf(m.Flags, m.Keywords)
	mbs := map[string]bool{mailboxID(m.MailboxID): true}
	for path, v := range patch {
		prop, key, hasKey := strings.Cut(path, "/")
		var target map[string]bool
		switch prop {
		case "keywords":
			target = kws
		case "mailboxIds":
			target = mbs
		default:
			return invalidProps(prop)
		}
		if !hasKey {
			if _, dup := patchHasSub(patch, prop); dup {
				return sErr(setInvalidPatch, "%s given whole and in part", prop)
			}
			var whole map[string]bool
			if err := json.Unmarshal(v, &whole); err != nil || whole == nil {
				return invalidProps(prop)
			}
			clear(target)
			for k, on := range whole {
				if prop == "keywords" {
					k = strings.ToLower(k)
				}
				target[k] = on
			}
			continue
		}
		key = strings.ReplaceAll(strings.ReplaceAll(key, "~1", "/"), "~0", "~")
		if prop == "keywords" {
			key = strings.ToLower(key)
		} else if r, ok := cc.resolve(key); ok {
			key = r
		}
		switch strings.TrimSpace(string(v)) {
		case "true":
			target[key] = true
		case "null":
			delete(target, key)
		default:
			return sErr(setInvalidPatch, "%s: only true or null", path)
		}
	}
	flags, kw, err := keywordsToFlags(kws)
	if err != nil {
		return err
	}
	dst, err := cc.oneMailbox(mbs)
	if err != nil {
		return err
	}
	// \Deleted has no JMAP keyword; an update keeps it as it was.
	flags |= m.Flags & mailbox.FlagDeleted
	if !mailbox.EqualFlags(flags, kw, m.Flags, mailbox.NormalizeKeywords(m.Keywords)) {
		_, err := cc.s.mbs.UpdateFlags(cc.ctx, cc.ai.account, mailbox.FlagUpdate{MailboxID: m.MailboxID, UIDs: mailbox.UIDSetOf(m.UID), Op: mailbox.FlagsReplace, Flags: flags, Keywords: kw})
		if err != nil {
			return err
		}
	}
	if dst != m.MailboxID {
		if _, err := cc.s.mbs.Move(cc.ctx, cc.ai.account, m.MailboxID, mailbox.UIDSetOf(m.UID), dst); err != nil {
			return err
		}
	}
	return nil
}

// patchHasSub reports whether a patch also names entries of prop.
func patchHasSub(patch map[string]json.RawMessage, prop string) (string, bool) {
	for k := range patch {
		if strings.HasPrefix(k, prop+"/") {
			return k, true
		}
	}
	return "", false
}

// emailDestroy expunges a message.
func (cc *call) emailDestroy(id string) error {
	rid, _ := cc.resolve(id)
	mid, ok := parseEmailID(rid)
	if !ok {
		return sErr(setNotFound, "no email %s", id)
	}
	msgs, err := cc.s.mbs.MessagesByID(cc.ctx, cc.ai.account, []mailbox.MessageID{mid})
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return sErr(setNotFound, "no email %s", id)
	}
	m := msgs[0]
	_, _, err = cc.s.mbs.Expunge(cc.ctx, cc.ai.account, m.MailboxID, mailbox.UIDSetOf(m.UID), false)
	return err
}
