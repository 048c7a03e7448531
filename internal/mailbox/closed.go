package mailbox

import "posthorn/internal/store"

// ErrClosed is returned by every operation once the store has closed (the
// server is shutting down); protocols answer it as a temporary failure.
var ErrClosed = store.ErrClosed
