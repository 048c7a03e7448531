// Package server is the composition root: it opens the store, builds the
// services (accounts, delivery, queue, mailboxes), loads TLS, starts the
// listeners configured in [listen], and shuts everything down in order. It
// turns the config file into each package's Options and is the only
// package that sees them all; cmd/posthorn talks to Posthorn through it.
package server
