package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"posthorn/internal/account"
)

// Names of the development instance.
const (
	DevDomain  = "posthorn.test"
	DevAccount = "demo@posthorn.test"
)

// ensureDev creates the dev domain and demo account on first start and
// prints the demo password once to w.
func ensureDev(ctx context.Context, accts *account.Service, w io.Writer) error {
	if _, err := accts.AddDomain(ctx, DevDomain); err != nil && !errors.Is(err, account.ErrExists) {
		return err
	}
	if _, err := accts.User(ctx, DevAccount); err == nil {
		return nil
	}
	pw := randomPassword()
	if _, err := accts.AddUser(ctx, DevAccount, pw); err != nil {
		return err
	}
	fmt.Fprintf(w, "Development instance: created %s with password %s (shown only this once)\n", DevAccount, pw)
	return nil
}

func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
