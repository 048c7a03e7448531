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

// signed returns the body to queue for mail a local user sends to other
// domains and the DKIM-Signature fields to put in front of it, as the
// domain of its From address, when the user may send as that address (one
// local user cannot borrow another local domain's signature). A body that
// will be signed and has 8-bit content (or a bare CR, or a line over 998
// octets) is downgraded to 7-bit MIME first, into a blob of its own
// (release discards it unless the delivery commits), as RFC 6376 §5.3
// advises: the queue would otherwise downgrade it for a peer without
// 8BITMIME after signing, and the signature would no longer verify. Local
// copies keep the original. Mail that gets no signature, or whose body
// cannot be downgraded (an 8-bit header needs SMTPUTF8), is queued as it
// came. Failure to sign is logged; the mail still goes.
func (s *Service) signed(ctx context.Context, env Envelope, blob store.BlobID) (body store.BlobID, sig []byte, release func()) {
	body, release = blob, func() {}
	if s.signer == nil || env.Auth == nil {
		return
	}
	r, err := s.st.OpenBlob(ctx, blob)
	if err != nil {
		s.log.Warn("dkim: reading message", "err", err)
		return
	}
	defer r.Close()
	if !s.maySign(ctx, env, r) {
		return
	}
	var src io.ReadSeeker = r
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return
	}
	if need, err := message.NeedsDowngrade(r); err == nil && need {
		if seven, abort, ok := s.sevenBitCopy(ctx, r); ok {
			defer seven.Close()
			body, release, src = seven.id, abort, seven
		}
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return
	}
	v, err := s.signer.SignAuthor(ctx, src)
	if err != nil {
		s.log.Warn("dkim: signing", "err", err)
		return
	}
	return body, []byte(v), release
}

// maySign reads the header section of r and reports whether it gets a
// signature: one From address, one the user may send as, in a domain with
// an active key.
func (s *Service) maySign(ctx context.Context, env Envelope, r io.Reader) bool {
	head, _ := io.ReadAll(io.LimitReader(r, headerMax))
	hdr, _ := message.ParseHeader(head)
	from := message.ParseAddressList(hdr.Get("From"))
	if len(from) != 1 {
		return false
	}
	if ok, err := s.accts.SenderAllowed(ctx, *env.Auth, from[0].Addr()); err != nil || !ok {
		return false
	}
	return s.signer.SignsAs(ctx, head)
}

// sevenBitBlob is a staged 7-bit copy, open for reading.
type sevenBitBlob struct {
	store.Blob
	id store.BlobID
}

// sevenBitCopy stages a 7-bit MIME copy of the message r (read from its
// start) and opens it; abort discards it unless a delivery committed it.
func (s *Service) sevenBitCopy(ctx context.Context, r io.ReadSeeker) (sevenBitBlob, func(), bool) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return sevenBitBlob{}, nil, false
	}
	w, err := s.st.NewBlob(ctx)
	if err != nil {
		return sevenBitBlob{}, nil, false
	}
	if err := message.ToSevenBit(w, r); err != nil {
		w.Abort()
		if !errors.Is(err, message.ErrNeedsSMTPUTF8) {
			s.log.Warn("dkim: 7-bit copy for signing", "err", err)
		}
		return sevenBitBlob{}, nil, false
	}
	id, _, err := w.Finish()
	if err == nil {
		var b store.Blob
		if b, err = s.st.OpenBlob(ctx, id); err == nil {
			return sevenBitBlob{Blob: b, id: id}, w.Abort, true
		}
	}
	w.Abort()
	s.log.Warn("dkim: 7-bit copy for signing", "err", err)
	return sevenBitBlob{}, nil, false
}
