package jmap

import (
	"encoding/json"
	"errors"
	"strings"

	"posthorn/internal/mailbox"
)

// Mailbox/set (RFC 8621 §2.5): create, rename and move (name, parentId),
// change role and subscription, destroy.

// setArgs are the arguments of every /set (RFC 8620 §5.3).
type setArgs struct {
	AccountID string                     `json:"accountId"`
	IfInState *string                    `json:"ifInState"`
	Create    map[string]json.RawMessage `json:"create"`
	Update    map[string]json.RawMessage `json:"update"`
	Destroy   *[]string                  `json:"destroy"`
	// Mailbox/set
	OnDestroyRemoveEmails bool `json:"onDestroyRemoveEmails"`
}

type setResponse struct {
	AccountID    string               `json:"accountId"`
	OldState     string               `json:"oldState"`
	NewState     string               `json:"newState"`
	Created      map[string]any       `json:"created"`
	Updated      map[string]any       `json:"updated"`
	Destroyed    []string             `json:"destroyed"`
	NotCreated   map[string]*setError `json:"notCreated"`
	NotUpdated   map[string]*setError `json:"notUpdated"`
	NotDestroyed map[string]*setError `json:"notDestroyed"`
}

func newSetResponse(acct string, old state) setResponse {
	return setResponse{AccountID: acct, OldState: old.String(), Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*setError{}, NotUpdated: map[string]*setError{}, NotDestroyed: map[string]*setError{}}
}

// beginSet checks the common /set arguments and returns the state before.
func (cc *call) beginSet(a setArgs) (state, error) {
	if _, err := cc.account(a.AccountID); err != nil {
		return state{}, err
	}
	n := len(a.Create) + len(a.Update)
	if a.Destroy != nil {
		n += len(*a.Destroy)
	}
	if n > cc.s.o.MaxObjectsInSet {
		return state{}, mErr(errRequestTooLarge, "at most %d objects per /set", cc.s.o.MaxObjectsInSet)
	}
	old, _, err := cc.readState()
	if err != nil {
		return state{}, err
	}
	if a.IfInState != nil && *a.IfInState != old.String() {
		return state{}, mErr(errStateMismatch, "the state is %q", old.String())
	}
	for id := range a.Create {
		if !validID(id) {
			return state{}, invalidArgs("invalid creation id %q", id)
		}
	}
	return old, nil
}

// finishSet fills in the new state.
func (cc *call) finishSet(res *setResponse) error {
	cur, _, err := cc.readState()
	if err != nil {
		return err
	}
	res.NewState = cur.String()
	return nil
}

// mailboxCreate is a Mailbox object to create.
type mailboxCreate struct {
	Name         *string `json:"name"`
	ParentID     *string `json:"parentId"`
	Role         *string `json:"role"`
	SortOrder    *int    `json:"sortOrder"`
	IsSubscribed *bool   `json:"isSubscribed"`
}

func (cc *call) mailboxSet(raw json.RawMessage) (any, error) {
	var a setArgs
	if err := decode(raw, &a); err != nil {
		return nil, err
	}
	old, err := cc.beginSet(a)
	if err != nil {
		return nil, err
	}
	res := newSetResponse(a.AccountID, old)
	cc.mailboxCreates(a.Create, &res)
	for id, patch := range a.Update {
		if err := cc.mailboxUpdate(id, patch); err != nil {
			res.NotUpdated[id] = asSetError(cc.ctx, cc.log, err)
			continue
		}
		res.Updated[id] = nil
	}
	if a.Destroy != nil {
		for _, id := range *a.Destroy {
			if err := cc.mailboxDestroy(id, a.OnDestroyRemoveEmails); err != nil {
				res.NotDestroyed[id] = asSetError(cc.ctx, cc.log, err)
				continue
			}
			res.Destroyed = append(res.Destroyed, id)
		}
	}
	return res, cc.finishSet(&res)
}

// mailboxCreates creates mailboxes, parents first when a parentId names
// another creation of the same call.
func (cc *call) mailboxCreates(create map[string]json.RawMessage, res *setResponse) {
	pending := map[string]mailboxCreate{}
	for cid, raw := range create {
		var mc mailboxCreate
		if err := strictUnmarshal(raw, &mc); err != nil {
			res.NotCreated[cid] = &setError{Type: setInvalidProperties, Description: "invalid Mailbox: " + err.Error()}
			continue
		}
		pending[cid] = mc
	}
	for len(pending) > 0 {
		progress := false
		for cid, mc := range pending {
			if mc.ParentID != nil && strings.HasPrefix(*mc.ParentID, "#") {
				if _, waiting := pending[(*mc.ParentID)[1:]]; waiting {
					continue
				}
			}
			delete(pending, cid)
			progress = true
			obj, err := cc.mailboxCreate(mc)
			if err != nil {
				res.NotCreated[cid] = asSetError(cc.ctx, cc.log, err)
				continue
			}
			cc.created[cid] = obj["id"].(string)
			res.Created[cid] = obj
		}
		if !progress { // parents that refer to each other
			for cid := range pending {
				res.NotCreated[cid] = invalidProps("parentId")
			}
			return
		}
	}
}

func (cc *call) mailboxCreate(mc mailboxCreate) (map[string]any, error) {
	if mc.Name == nil || !validLevel(*mc.Name) {
		return nil, invalidProps("name")
	}
	if mc.SortOrder != nil && *mc.SortOrder != 0 {
		return nil, &setError{Type: setInvalidProperties, Description: "sortOrder is set by the server", Properties: []string{"sortOrder"}}
	}
	_, mbs, err := cc.readState()
	if err != nil {
		return nil, err
	}
	t := newTree(mbs)
	full, err := cc.fullName(t, mc.ParentID, *mc.Name)
	if err != nil {
		return nil, err
	}
	su := ""
	if mc.Role != nil {
		if su, err = cc.roleToUse(t, *mc.Role, 0); err != nil {
			return nil, err
		}
	}
	m, err := cc.s.mbs.Create(cc.ctx, cc.ai.account, full, su)
	if err != nil {
		return nil, err
	}
	if mc.IsSubscribed != nil && *mc.IsSubscribed {
		if err := cc.s.mbs.Subscribe(cc.ctx, cc.ai.account, m.Name, true); err != nil {
			return nil, err
		}
		m.Subscribed = true
	}
	t = newTree(append(mbs, m))
	// Return what the server set (RFC 8620 §5.3).
	return cc.mailboxObject(t, m, []string{"sortOrder", "totalEmails", "unreadEmails", "totalThreads", "unreadThreads", "myRights", "isSubscribed"})
}

// validLevel checks a JMAP mailbox name: one level of our hierarchy.
func validLevel(name string) bool {
	if name == "" || strings.Contains(name, mailbox.HierarchySeparator) {
		return false
	}
	_, err := mailbox.ValidateName(name)
	return err == nil
}

// fullName joins a parent's full name and a level.
func (cc *call) fullName(t tree, parentID *string, name string) (string, error) {
	if parentID == nil {
		if mailbox.IsInbox(name) {
			return "", sErr(setAlreadyExists, "INBOX exists")
		}
		return name, nil
	}
	id, ok := cc.resolve(*parentID)
	pid, ok2 := parseMailboxID(id)
	p, found := t.byID[pid]
	if !ok || !ok2 || !found {
		return "", invalidProps("parentId")
	}
	return p.Name + mailbox.HierarchySeparator + name, nil
}

// roleToUse checks that a role is known and not used by another mailbox
// (RFC 8621 §2: at most one mailbox per role) and returns its special use.
func (cc *call) roleToUse(t tree, role string, self mailbox.MailboxID) (string, error) {
	su, ok := specialUseOf(role)
	if !ok {
		return "", &setError{Type: setInvalidProperties, Description: "unknown or fixed role", Properties: []string{"role"}}
	}
	for _, m := range t.byID {
		if m.ID != self && m.SpecialUse == su {
			return "", &setError{Type: setInvalidProperties, Description: "another mailbox has this role", Properties: []string{"role"}}
		}
	}
	return su, nil
}

// mailboxPatch is a Mailbox update (a PatchObject with top-level keys).
type mailboxPatch struct {
	Name         *string         `json:"name"`
	ParentID     json.RawMessage `json:"parentId"` // null (move to the top) differs from absent
	Role         json.RawMessage `json:"role"`
	SortOrder    *int            `json:"sortOrder"`
	IsSubscribed *bool           `json:"isSubscribed"`
}

func (cc *call) mailboxUpdate(id string, raw json.RawMessage) error {
	var p mailboxPatch
	if err := strictUnmarshal(raw, &p); err != nil {
		return &setError{Type: setInvalidPatch, Description: "invalid patch: " + err.Error()}
	}
	_, mbs, err := cc.readState()
	if err != nil {
		return err
	}
	t := newTree(mbs)
	rid, _ := cc.resolve(id)
	mid, ok := parseMailboxID(rid)
	m, found := t.byID[mid]
	if !ok || !found {
		return sErr(setNotFound, "no mailbox %s", id)
	}
	if p.SortOrder != nil && *p.SortOrder != sortOrderOf(roleOf(m)) {
		return &setError{Type: setInvalidProperties, Description: "sortOrder is set by the server", Properties: []string{"sortOrder"}}
	}
	if p.Role != nil {
		if err := cc.updateRole(t, m, p.Role); err != nil {
			return err
		}
	}
	if p.IsSubscribed != nil {
		if err := cc.s.mbs.Subscribe(cc.ctx, cc.ai.account, m.Name, *p.IsSubscribed); err != nil {
			return err
		}
	}
	if p.Name == nil && p.ParentID == nil {
		return nil
	}
	return cc.moveMailbox(t, m, p)
}

func (cc *call) updateRole(t tree, m mailbox.Mailbox, raw json.RawMessage) error {
	var role *string
	if err := json.Unmarshal(raw, &role); err != nil {
		return invalidProps("role")
	}
	if m.Name == mailbox.InboxName {
		if role == nil || *role != "inbox" {
			return &setError{Type: setForbidden, Description: "the inbox keeps its role", Properties: []string{"role"}}
		}
		return nil
	}
	su := ""
	if role != nil {
		var err error
		if su, err = cc.roleToUse(t, *role, m.ID); err != nil {
			return err
		}
	}
	return cc.s.mbs.SetSpecialUse(cc.ctx, cc.ai.account, m.ID, su)
}

// moveMailbox renames a mailbox, to a new name and/or under a new parent.
func (cc *call) moveMailbox(t tree, m mailbox.Mailbox, p mailboxPatch) error {
	_, hasPar, name := t.parent(m)
	parentID := (*string)(nil)
	if hasPar {
		par, _, _ := t.parent(m)
		pid := mailboxID(par.ID)
		parentID = &pid
	}
	if p.Name != nil {
		if !validLevel(*p.Name) {
			return invalidProps("name")
		}
		name = *p.Name
	}
	if p.ParentID != nil {
		parentID = nil
		if err := json.Unmarshal(p.ParentID, &parentID); err != nil {
			return invalidProps("parentId")
		}
	}
	full, err := cc.fullName(t, parentID, name)
	if err != nil {
		return err
	}
	if full == m.Name {
		return nil
	}
	if m.Name == mailbox.InboxName {
		return sErr(setForbidden, "the inbox cannot be renamed")
	}
	err = cc.s.mbs.Rename(cc.ctx, cc.ai.account, m.Name, full)
	if errors.Is(err, mailbox.ErrInvalidName) && p.ParentID != nil {
		return &setError{Type: setInvalidProperties, Description: "a mailbox cannot move below itself", Properties: []string{"parentId"}}
	}
	return err
}

func (cc *call) mailboxDestroy(id string, removeEmails bool) error {
	_, mbs, err := cc.readState()
	if err != nil {
		return err
	}
	t := newTree(mbs)
	rid, _ := cc.resolve(id)
	mid, ok := parseMailboxID(rid)
	m, found := t.byID[mid]
	switch {
	case !ok || !found:
		return sErr(setNotFound, "no mailbox %s", id)
	case m.Name == mailbox.InboxName:
		return sErr(setForbidden, "the inbox cannot be destroyed")
	case t.hasChild(m):
		return sErr(setMailboxHasChild, "the mailbox has child mailboxes")
	case m.Total > 0 && !removeEmails:
		return sErr(setMailboxHasEmail, "the mailbox has %d emails", m.Total)
	}
	return cc.s.mbs.Delete(cc.ctx, cc.ai.account, m.Name)
}
