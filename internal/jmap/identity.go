package jmap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// Identity/get (RFC 8621 §6.1): the addresses the account may send from,
// its own and the aliases that point straight at it. Identities change
// only when an administrator edits aliases, so their state is a digest of
// the list.

type identity struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Email         string `json:"email"`
	ReplyTo       any    `json:"replyTo"`
	Bcc           any    `json:"bcc"`
	TextSignature string `json:"textSignature"`
	HTMLSignature string `json:"htmlSignature"`
	MayDelete     bool   `json:"mayDelete"`
}

func identityID(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "I" + hex.EncodeToString(sum[:8])
}

// identities lists the account's identities, its own address first.
func (cc *call) identities() ([]identity, error) {
	out := []identity{{ID: identityID(cc.ai.address), Email: cc.ai.address}}
	_, domain, _ := strings.Cut(cc.ai.address, "@")
	aliases, err := cc.s.accts.Aliases(cc.ctx, domain)
	if err != nil {
		return nil, err
	}
	for _, al := range aliases {
		if !strings.HasPrefix(al.Address, "@") && slices.Contains(al.Targets, cc.ai.address) {
			out = append(out, identity{ID: identityID(al.Address), Email: al.Address})
		}
	}
	return out, nil
}

func identityState(ids []identity) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id.Email + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

var identityProps = []string{"id", "name", "email", "replyTo", "bcc", "textSignature", "htmlSignature", "mayDelete"}

func (cc *call) identityGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	if _, err := cc.account(a.AccountID); err != nil {
		return nil, err
	}
	props, err := checkProps(a.Properties, identityProps, identityProps)
	if err != nil {
		return nil, err
	}
	ids, err := cc.identities()
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: identityState(ids), List: []any{}, NotFound: []string{}}
	for _, id := range ids {
		if a.IDs != nil && !slices.Contains(*a.IDs, id.ID) {
			continue
		}
		res.List = append(res.List, pick(id, props))
	}
	if a.IDs != nil {
		for _, want := range *a.IDs {
			if !slices.ContainsFunc(ids, func(i identity) bool { return i.ID == want }) {
				res.NotFound = append(res.NotFound, want)
			}
		}
	}
	return res, nil
}

// pick renders the listed properties of a struct ("id" always).
func pick(v any, props []string) map[string]any {
	b, _ := json.Marshal(v)
	var all map[string]any
	json.Unmarshal(b, &all)
	out := map[string]any{"id": all["id"]}
	for _, p := range props {
		out[p] = all[p]
	}
	return out
}
