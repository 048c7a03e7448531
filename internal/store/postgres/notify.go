package postgres

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"posthorn/internal/store"
)

// maxPayload keeps NOTIFY payloads under PostgreSQL's limit of 8000 bytes.
const maxPayload = 7900

// encodeChanges renders a transaction's changes as NOTIFY payloads:
//
//	1 kind,account,mailbox,modseq kind,account,mailbox,modseq ...
//
// with the numbers in base 36. A transaction with more changes than one
// payload holds sends several; all but the last begin "1+" instead of "1",
// so the listener publishes the transaction's changes as one batch.
func encodeChanges(changes []store.Change) []string {
	if len(changes) == 0 {
		return nil
	}
	var out []string
	var b strings.Builder
	b.WriteString("1")
	for _, c := range changes {
		item := " " + strconv.FormatUint(uint64(c.Kind), 36) + "," + strconv.FormatInt(int64(c.AccountID), 36) + "," +
			strconv.FormatInt(int64(c.MailboxID), 36) + "," + strconv.FormatInt(int64(c.ModSeq), 36)
		if b.Len()+len(item) > maxPayload {
			out = append(out, "1+"+b.String()[1:])
			b.Reset()
			b.WriteString("1")
		}
		b.WriteString(item)
	}
	return append(out, b.String())
}

// A marker payload, "s <token>", is sent by Subscribe; it travels through
// the feed as one Change of Kind 0 with the token as ModSeq. Token 0 marks
// a gap (the listener reconnected).
const markerPrefix = "s "

// decodeChanges parses one payload; more reports that the transaction's
// next payload continues the list.
func decodeChanges(payload string) (changes []store.Change, more bool, err error) {
	fields := strings.Fields(payload)
	if len(fields) == 0 || (fields[0] != "1" && fields[0] != "1+") {
		return nil, false, fmt.Errorf("unknown change payload %.40q", payload)
	}
	more = fields[0] == "1+"
	for _, f := range fields[1:] {
		parts := strings.Split(f, ",")
		if len(parts) != 4 {
			return nil, false, fmt.Errorf("bad change %q", f)
		}
		var n [4]int64
		for i, p := range parts {
			if n[i], err = strconv.ParseInt(p, 36, 64); err != nil {
				return nil, false, fmt.Errorf("bad change %q: %w", f, err)
			}
		}
		changes = append(changes, store.Change{Kind: store.ChangeKind(n[0]), AccountID: store.AccountID(n[1]),
			MailboxID: store.MailboxID(n[2]), ModSeq: store.ModSeq(n[3])})
	}
	return changes, more, nil
}

// Subscribe implements store.Store: fn receives the changes of the
// transactions that commit after Subscribe returns, ours and other nodes',
// in commit order. Changes arrive through LISTEN, a little after their
// commit, so Subscribe commits a marker notification and fn is called only
// for what the listener receives after it: not for transactions that
// committed before Subscribe but had not reached the listener yet.
//
// If the listening connection drops, it is re-established, but the changes
// committed meanwhile are not replayed: a subscriber that must not miss
// anything re-reads its state (by MODSEQ) now and then.
func (s *Store) Subscribe(fn func([]store.Change)) func() {
	var b [8]byte
	rand.Read(b[:])
	token := int64(binary.BigEndian.Uint64(b[:])>>1) | 1 // positive, not 0
	var live atomic.Bool
	cancel := s.feed.Subscribe(func(cs []store.Change) {
		if len(cs) == 1 && cs[0].Kind == 0 { // a marker, not a change
			if m := int64(cs[0].ModSeq); m == token || m == 0 {
				live.Store(true)
			}
			return
		}
		if live.Load() {
			fn(cs)
		}
	})
	ctx, stop := context.WithTimeout(context.Background(), markerTimeout)
	defer stop()
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, markerPrefix+strconv.FormatInt(token, 36)); err != nil {
		s.log.Warn("postgres: subscribe: cannot send the marker; changes committed before may be delivered", "err", err)
		live.Store(true)
	} else {
		// Should the marker never come back, deliver anyway after a while.
		time.AfterFunc(markerTimeout, func() { live.Store(true) })
	}
	return cancel
}

// markerTimeout bounds how long Subscribe waits to send its marker, and how
// long a subscriber waits for it to come back.
const markerTimeout = 10 * time.Second

// connectListener opens the dedicated connection that LISTENs for changes.
func (s *Store) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: listener: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

// listen publishes the changes of every committed transaction, ours and
// other nodes', in the order PostgreSQL delivers them: commit order. If the
// connection drops it reconnects; changes committed in between are lost,
// which subscribers tolerate by re-reading their state (see Subscribe).
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.listenDone)
	var pending []store.Change
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			conn.Close(context.Background())
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("postgres: change listener lost its connection; changes may be missed until it is back", "err", err)
			if conn = s.relisten(ctx); conn == nil {
				return
			}
			pending = nil
			// Subscribers waiting for a marker lost in the gap wait no more.
			s.feed.Publish([]store.Change{{}})
			continue
		}
		if token, ok := strings.CutPrefix(n.Payload, markerPrefix); ok {
			if t, err := strconv.ParseInt(token, 36, 64); err == nil && t != 0 {
				s.feed.Publish([]store.Change{{ModSeq: store.ModSeq(t)}})
			}
			continue
		}
		changes, more, err := decodeChanges(n.Payload)
		if err != nil {
			s.log.Warn("postgres: ignoring change notification", "err", err)
			continue
		}
		pending = append(pending, changes...)
		if !more {
			s.feed.Publish(pending)
			pending = nil
		}
	}
}

// relisten reconnects the listener, backing off up to 5s between tries,
// until it succeeds or ctx ends (then it returns nil).
func (s *Store) relisten(ctx context.Context) *pgx.Conn {
	wait := 100 * time.Millisecond
	for {
		conn, err := s.connectListener(ctx)
		if err == nil {
			s.log.Info("postgres: change listener reconnected")
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("postgres: change listener cannot reconnect", "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
		wait = min(2*wait, 5*time.Second)
	}
}
