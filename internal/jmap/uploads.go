package jmap

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"posthorn/internal/mailbox"
)

// uploadStore keeps uploaded blobs (RFC 8620 §6.1) until they are used by
// Email/import or Email/set, or expire. Uploads live in memory, bounded
// per account; an upload that would pass the bound first evicts the
// account's oldest ones, and fails when it alone does not fit.
type uploadStore struct {
	mu      sync.Mutex
	byKey   map[string]*upload
	used    map[mailbox.AccountID]int64
	now     func() time.Time
	ttl     time.Duration
	maxAcct int64
}

type upload struct {
	key     string
	account mailbox.AccountID
	typ     string
	data    []byte
	created time.Time
}

func (u *uploadStore) init(now func() time.Time, ttl time.Duration, maxAcct int64) {
	u.byKey, u.used = map[string]*upload{}, map[mailbox.AccountID]int64{}
	u.now, u.ttl, u.maxAcct = now, ttl, maxAcct
}

// put stores an upload and returns its key; ok is false when the data is
// larger than the account's whole allowance.
func (u *uploadStore) put(acct mailbox.AccountID, typ string, data []byte) (string, bool) {
	if int64(len(data)) > u.maxAcct {
		return "", false
	}
	var b [16]byte
	rand.Read(b[:])
	key := hex.EncodeToString(b[:])
	now := u.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	u.expire(now)
	for u.used[acct]+int64(len(data)) > u.maxAcct {
		u.evictOldest(acct)
	}
	u.byKey[key] = &upload{key: key, account: acct, typ: typ, data: data, created: now}
	u.used[acct] += int64(len(data))
	return key, true
}

// get returns an account's upload.
func (u *uploadStore) get(acct mailbox.AccountID, key string) (*upload, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	up, ok := u.byKey[key]
	if !ok || up.account != acct || u.now().Sub(up.created) > u.ttl {
		return nil, false
	}
	return up, true
}

// expire drops uploads past their time. Callers hold mu.
func (u *uploadStore) expire(now time.Time) {
	for k, up := range u.byKey {
		if now.Sub(up.created) > u.ttl {
			u.drop(k, up)
		}
	}
}

func (u *uploadStore) evictOldest(acct mailbox.AccountID) {
	var oldest *upload
	for _, up := range u.byKey {
		if up.account == acct && (oldest == nil || up.created.Before(oldest.created)) {
			oldest = up
		}
	}
	if oldest != nil {
		u.drop(oldest.key, oldest)
	}
}

func (u *uploadStore) drop(key string, up *upload) {
	delete(u.byKey, key)
	if u.used[up.account] -= int64(len(up.data)); u.used[up.account] <= 0 {
		delete(u.used, up.account)
	}
}
