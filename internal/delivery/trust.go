package delivery

import (
	"context"
	"errors"
	"io"

	"posthorn/internal/mailauth"
	"posthorn/internal/message"
	"posthorn/internal/store"
)

// authenticate runs the MX's checks (SPF, DKIM, DMARC) on a received
// message. Mail from our own users and our own DSNs is not checked: only
// an unauthenticated client with an address (the MX) is. A Reject verdict
// returns its error, so nothing is stored.
func (s *Service) authenticate(ctx context.Context, env Envelope, blob store.BlobID, id string) (*mailauth.Verdict, error) {
	if s.checker == nil || env.Auth != nil || !env.Trace.RemoteIP.IsValid() {
		return nil, nil
	}
	r, err := s.st.OpenBlob(ctx, blob)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	v, err := s.checker.Check(ctx, mailauth.Input{RemoteIP: env.Trace.RemoteIP, Helo: env.Trace.Helo, MailFrom: env.From, SPF: env.SPF, Message: r})
	if err != nil {
		return nil, err
	}
	s.log.Info("authenticated", "id", id, "spf", v.SPF.Identity().Result, "dkim", len(v.DKIM), "dmarc", v.DMARC.Result, "action", string(v.Action))
	if v.Action == mailauth.Reject {
		return &v, v.Err
	}
	return &v, nil
}

// junk returns the account's Junk mailbox (special use \Junk).
func (s *Service) junk(ctx context.Context, a store.AccountID) (store.MailboxID, bool) {
	mbs, err := s.st.Mailboxes(ctx, a)
	if err != nil {
		return 0, false
	}
	for _, m := range mbs {
		if m.SpecialUse == store.SpecialJunk {
			return m.ID, true
		}
	}
	return 0, false
}

// signable returns the body to sign and queue for mail a local user sends
// to other domains. A body that will be signed and has 8-bit content (or a
// bare CR, or a line over 998 octets) is downgraded to 7-bit MIME first,
// into a blob of its own (release discards it unless the delivery
// commits), as RFC 6376 §5.3 advises: the queue would otherwise downgrade
// it for a peer without 8BITMIME after signing, and the signature would no
// longer verify. Local copies keep the original. Mail that gets no
// signature, or whose body cannot be downgraded (an 8-bit header needs
// SMTPUTF8), is queued as it came: blob.
func (s *Service) signable(ctx context.Context, env Envelope, blob store.BlobID) (store.BlobID, func()) {
	none := func() {}
	if s.signer == nil || env.Auth == nil {
		return blob, none
	}
	r, err := s.st.OpenBlob(ctx, blob)
	if err != nil {
		return blob, none
	}
	defer r.Close()
	head, ok := s.signingHeader(ctx, env, r)
	if !ok || !s.signer.SignsAs(ctx, head) {
		return blob, none
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return blob, none
	}
	if need, err := message.NeedsDowngrade(r); err != nil || !need {
		return blob, none
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return blob, none
	}
	w, err := s.st.NewBlob(ctx)
	if err != nil {
		return blob, none
	}
	if err := message.ToSevenBit(w, r); err != nil {
		w.Abort()
		if !errors.Is(err, message.ErrNeedsSMTPUTF8) {
			s.log.Warn("dkim: 7-bit copy for signing", "err", err)
		}
		return blob, none
	}
	seven, _, err := w.Finish()
	if err != nil {
		w.Abort()
		return blob, none
	}
	return seven, w.Abort
}

// signingHeader reads the header section of r and reports whether the
// authenticated user may have it signed: one From address, one the user
// may send as, so one local user cannot borrow another local domain's
// signature.
func (s *Service) signingHeader(ctx context.Context, env Envelope, r io.Reader) ([]byte, bool) {
	head, _ := io.ReadAll(io.LimitReader(r, headerMax))
	hdr, _ := message.ParseHeader(head)
	from := message.ParseAddressList(hdr.Get("From"))
	if len(from) != 1 {
		return head, false
	}
	ok, err := s.accts.SenderAllowed(ctx, *env.Auth, from[0].Addr())
	return head, err == nil && ok
}

// sign makes the DKIM-Signature field for mail a local user queues, as the
// domain of its From address, when the user may send as that address
// (signingHeader). Failure to sign is logged; the mail still goes.
func (s *Service) sign(ctx context.Context, env Envelope, blob store.BlobID) []byte {
	if s.signer == nil || env.Auth == nil {
		return nil
	}
	r, err := s.st.OpenBlob(ctx, blob)
	if err != nil {
		s.log.Warn("dkim: reading message", "err", err)
		return nil
	}
	defer r.Close()
	if _, ok := s.signingHeader(ctx, env, r); !ok {
		return nil
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	sig, err := s.signer.SignAuthor(ctx, r)
	if err != nil {
		s.log.Warn("dkim: signing", "err", err)
		return nil
	}
	return []byte(sig)
}
