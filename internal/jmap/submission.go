package jmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"posthorn/internal/account"
	"posthorn/internal/delivery"
	"posthorn/internal/mailbox"
	"posthorn/internal/message"
)

// EmailSubmission/set (RFC 8621 §7.5): send an Email through the delivery
// service, which queues remote recipients and delivers local ones, as an
// authenticated submission would (RFC 6409). Submissions are final at
// once (maxDelayedSend 0): there is nothing to undo, get or query later.

type submissionSetArgs struct {
	AccountID             string                     `json:"accountId"`
	IfInState             *string                    `json:"ifInState"`
	Create                map[string]json.RawMessage `json:"create"`
	Update                map[string]json.RawMessage `json:"update"`
	Destroy               *[]string                  `json:"destroy"`
	OnSuccessUpdateEmail  map[string]json.RawMessage `json:"onSuccessUpdateEmail"`
	OnSuccessDestroyEmail []string                   `json:"onSuccessDestroyEmail"`
}

type newSubmission struct {
	IdentityID string    `json:"identityId"`
	EmailID    string    `json:"emailId"`
	Envelope   *envelope `json:"envelope"`
}

type envelope struct {
	MailFrom envAddress   `json:"mailFrom"`
	RcptTo   []envAddress `json:"rcptTo"`
}

type envAddress struct {
	Email      string         `json:"email"`
	Parameters map[string]any `json:"parameters"`
}

// submitted is what a create returns, with what onSuccess* needs.
type submitted struct {
	obj     map[string]any
	emailID string
}

func (cc *call) submissionSet(raw json.RawMessage) (any, error) {
	var a submissionSetArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	if len(a.Create) > cc.s.o.MaxObjectsInSet {
		return nil, mErr(errRequestTooLarge, "at most %d objects per /set", cc.s.o.MaxObjectsInSet)
	}
	// Submissions are not kept, so their state never changes.
	const subState = "0"
	if a.IfInState != nil && *a.IfInState != subState {
		return nil, mErr(errStateMismatch, "the state is %q", subState)
	}
	res := setResponse{AccountID: a.AccountID, OldState: subState, NewState: subState, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*setError{}, NotUpdated: map[string]*setError{}, NotDestroyed: map[string]*setError{}}
	done := map[string]submitted{} // by creation id
	for cid, obj := range a.Create {
		sub, err := cc.submit(obj)
		if err != nil {
			res.NotCreated[cid] = asSetError(cc.ctx, cc.log, err)
			continue
		}
		cc.created[cid] = sub.obj["id"].(string)
		res.Created[cid] = sub.obj
		done[cid] = sub
	}
	for id := range a.Update {
		res.NotUpdated[id] = sErr(setNotFound, "submissions are final once made")
	}
	if a.Destroy != nil {
		for _, id := range *a.Destroy {
			res.NotDestroyed[id] = sErr(setNotFound, "submissions are final once made")
		}
	}
	cc.onSuccess(a, done)
	return res, nil
}

// onSuccess runs the implicit Email/set of onSuccessUpdateEmail and
// onSuccessDestroyEmail for the submissions that succeeded (RFC 8621
// §7.5), keyed by "#creationId".
func (cc *call) onSuccess(a submissionSetArgs, done map[string]submitted) {
	if len(a.OnSuccessUpdateEmail) == 0 && len(a.OnSuccessDestroyEmail) == 0 {
		return
	}
	emailOf := func(ref string) (string, bool) {
		if sub, ok := done[strings.TrimPrefix(ref, "#")]; ok && strings.HasPrefix(ref, "#") {
			return sub.emailID, true
		}
		return "", false
	}
	update := map[string]json.RawMessage{}
	for ref, patch := range a.OnSuccessUpdateEmail {
		if id, ok := emailOf(ref); ok {
			update[id] = patch
		}
	}
	var destroy []string
	for _, ref := range a.OnSuccessDestroyEmail {
		if id, ok := emailOf(ref); ok {
			destroy = append(destroy, id)
		}
	}
	if len(update) == 0 && len(destroy) == 0 {
		return
	}
	args := map[string]any{"accountId": a.AccountID, "update": update}
	if destroy != nil {
		args["destroy"] = destroy
	}
	b, _ := json.Marshal(args)
	out, err := cc.emailSet(b)
	if err != nil {
		cc.addResponse("error", asMethodError(cc.ctx, cc.log, err))
		return
	}
	cc.addResponse("Email/set", out)
}

// submit sends one Email.
func (cc *call) submit(raw json.RawMessage) (submitted, error) {
	var ns newSubmission
	if err := strictUnmarshal(raw, &ns); err != nil {
		return submitted{}, &setError{Type: setInvalidProperties, Description: "invalid EmailSubmission: " + err.Error()}
	}
	ids, err := cc.identities()
	if err != nil {
		return submitted{}, err
	}
	var from string
	for _, id := range ids {
		if id.ID == ns.IdentityID {
			from = id.Email
		}
	}
	if from == "" {
		return submitted{}, invalidProps("identityId")
	}
	eid, _ := cc.resolve(ns.EmailID)
	mid, ok := parseEmailID(eid)
	if !ok {
		return submitted{}, invalidProps("emailId")
	}
	msgs, err := cc.s.mbs.MessagesByID(cc.ctx, cc.ai.account, []mailbox.MessageID{mid})
	if err != nil {
		return submitted{}, err
	}
	if len(msgs) == 0 {
		return submitted{}, invalidProps("emailId")
	}
	data, err := cc.rawMessage(msgs[0])
	if err != nil {
		return submitted{}, err
	}
	env, err := cc.envelopeOf(ns.Envelope, from, data)
	if err != nil {
		return submitted{}, err
	}
	res, err := cc.s.o.Delivery.Deliver(cc.ctx, env, bytes.NewReader(withoutBcc(data)))
	if err != nil {
		return submitted{}, err
	}
	cc.log.Info("accepted", "id", res.ID, "from", env.From, "rcpts", len(env.Recipients), "size", res.Size, "local", res.Local, "queued", res.Queued, "email", mid)
	return submitted{emailID: emailID(mid), obj: map[string]any{
		"id": "S" + res.ID, "undoStatus": "final", "sendAt": utcDate(cc.s.o.Now()), "deliveryStatus": nil, "dsnBlobIds": []string{}, "mdnBlobIds": []string{},
	}}, nil
}

// rawMessage reads a stored message whole, without the per-message
// prefix (Return-Path and the like belong to its delivery, not to it).
func (cc *call) rawMessage(m mailbox.Message) ([]byte, error) {
	c, err := cc.s.mbs.Open(cc.ctx, m)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Seek(int64(len(m.Prefix)), io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(c, cc.s.mbs.MaxMessageSize()+1))
}

// envelopeOf builds the SMTP envelope: the one given, or the identity's
// address and the To, Cc and Bcc addresses of the message (RFC 8621 §7).
// Every recipient goes through the delivery service's relay policy.
func (cc *call) envelopeOf(given *envelope, from string, data []byte) (delivery.Envelope, error) {
	env := delivery.Envelope{From: from, Submission: true}
	var rcpts []string
	if given != nil {
		env.From = given.MailFrom.Email
		for _, r := range given.RcptTo {
			rcpts = append(rcpts, r.Email)
		}
	} else {
		h, _ := message.ParseHeader(data)
		seen := map[string]bool{}
		for _, name := range []string{"To", "Cc", "Bcc"} {
			for _, v := range h.Values(name) {
				for _, a := range message.ParseAddressList(v) {
					if addr := a.Addr(); addr != "" && !seen[strings.ToLower(addr)] {
						seen[strings.ToLower(addr)] = true
						rcpts = append(rcpts, addr)
					}
				}
			}
		}
	}
	if len(rcpts) == 0 {
		return env, sErr(setNoRecipients, "the message has no recipients")
	}
	acct, err := cc.s.accts.User(cc.ctx, cc.ai.address)
	if err != nil {
		return env, err
	}
	env.Auth = &acct
	if err := cc.s.o.Delivery.Sender(cc.ctx, acct, env.From); err != nil {
		return env, err
	}
	var bad []string
	for _, r := range rcpts {
		targets, err := cc.s.o.Delivery.Recipient(cc.ctx, r, true)
		if errors.Is(err, account.ErrNoSuchUser) || errors.Is(err, account.ErrInvalidAddress) {
			bad = append(bad, r)
			continue
		}
		if err != nil {
			return env, err
		}
		env.Recipients = append(env.Recipients, delivery.Recipient{Address: r, Targets: targets})
	}
	if len(bad) > 0 {
		return env, &setError{Type: setInvalidRecipients, Description: "some recipients are invalid", InvalidRcpt: bad}
	}
	if len(env.Recipients) > cc.s.o.Delivery.MaxRecipients() {
		return env, sErr(setTooManyRecipients, "at most %d recipients", cc.s.o.Delivery.MaxRecipients())
	}
	ri := infoOf(cc.ctx)
	env.Trace = message.ReceivedInfo{Helo: "jmap", ESMTP: true, Auth: true}
	if ri != nil {
		env.Trace.RemoteIP = ri.remote
		if ri.tls != nil {
			env.Trace.TLSVersion, env.Trace.TLSCipher = ri.tls.Version, ri.tls.CipherSuite
		}
	}
	return env, nil
}

// withoutBcc removes the Bcc fields from the message's header (RFC 8621
// §7.5: "the server MUST remove any Bcc header field present on the
// message").
func withoutBcc(data []byte) []byte {
	h, bodyAt := message.ParseHeader(data)
	if !h.Has("Bcc") {
		return data
	}
	var b bytes.Buffer
	for _, f := range h {
		if !strings.EqualFold(f.Name, "Bcc") {
			b.WriteString(f.Raw)
		}
	}
	b.WriteString("\r\n")
	b.Write(data[bodyAt:])
	return b.Bytes()
}
