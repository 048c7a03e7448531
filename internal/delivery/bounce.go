package delivery

import (
	"bytes"
	"context"
	"fmt"

	"posthorn/internal/message"
)

// Bounce delivers a delivery status notification the queue made, with the
// null envelope sender so that it can never bounce in turn (RFC 5321
// §4.5.5): into the INBOX of a local sender, or back into the queue for a
// remote one. It implements queue.Bouncer.
func (s *Service) Bounce(ctx context.Context, rcpt string, dsn []byte) error {
	targets, err := s.accts.Resolve(ctx, rcpt)
	if err != nil {
		return fmt.Errorf("delivery: DSN to %s: %w", rcpt, err)
	}
	env := Envelope{
		From:       "",
		Recipients: []Recipient{{Address: rcpt, Targets: targets}},
		Trace:      message.ReceivedInfo{Helo: s.host, ESMTP: true},
	}
	res, err := s.Deliver(ctx, env, bytes.NewReader(dsn))
	if err != nil {
		return err
	}
	s.log.Info("accepted", "id", res.ID, "from", "", "rcpts", rcpt, "size", res.Size, "kind", "dsn", "local", res.Local, "queued", res.Queued)
	return nil
}
