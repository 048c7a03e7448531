package jmap

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"posthorn/internal/mailbox"
)

// The event source (RFC 8620 §7.3): a text/event-stream of StateChange
// objects (§7.1) for the account, driven by the mailbox service's change
// notifications, which come from the store's change feed after commit (and
// from other nodes with PostgreSQL).

// pushTypes are the data types whose states a StateChange reports.
var pushTypes = []string{"Mailbox", "Email", "Thread", "EmailDelivery"}

type stateChange struct {
	Type    string                       `json:"@type"`
	Changed map[string]map[string]string `json:"changed"`
}

// pushArgs are the query parameters of the event source URL.
type pushArgs struct {
	types      []string
	closeAfter bool
	ping       time.Duration
}

func (s *Server) parsePushArgs(r *http.Request) (pushArgs, string) {
	q := r.URL.Query()
	var a pushArgs
	switch t := q.Get("types"); t {
	case "*", "":
		a.types = pushTypes
	default:
		for _, x := range strings.Split(t, ",") {
			if !slices.Contains(pushTypes, x) {
				return a, fmt.Sprintf("unknown type %q", x)
			}
			a.types = append(a.types, x)
		}
	}
	switch q.Get("closeafter") {
	case "state":
		a.closeAfter = true
	case "no", "":
	default:
		return a, "closeafter must be state or no"
	}
	if p := q.Get("ping"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return a, "ping must be a number of seconds"
		}
		if n > 0 {
			// RFC 8620 §7.3: the server may use a higher value than asked.
			a.ping = max(time.Duration(n)*time.Second, s.o.PushPing)
		}
	}
	return a, ""
}

// handleEventSource streams state changes until the client goes, the
// server closes, or (closeafter=state) the first change was sent.
func (s *Server) handleEventSource(w http.ResponseWriter, r *http.Request, ai *authInfo) {
	ri := infoOf(r.Context())
	args, bad := s.parsePushArgs(r)
	if bad != "" {
		writeProblem(w, problem{Type: "about:blank", Status: http.StatusBadRequest, Detail: bad})
		return
	}
	// The stream outlives the server's write timeout.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	wake := make(chan struct{}, 1)
	var delivered atomic.Bool
	cancel := s.mbs.Watch(ai.account, func(cs []mailbox.Change) {
		for _, c := range cs {
			if c.Kind == mailbox.ChangeMessageAdded {
				delivered.Store(true)
			}
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	cc := &call{ctx: r.Context(), s: s, ai: ai, log: ri.log}
	last, _, err := cc.readState()
	if err != nil {
		ri.log.Warn("event source", "err", err)
		return
	}
	deliveryState := last.String()
	// The current state first, so that a client that reconnects learns
	// at once whether it missed anything.
	if err := s.sendState(w, rc, ai, args.types, last.String(), deliveryState); err != nil {
		return
	}
	var tick <-chan time.Time
	if args.ping > 0 {
		t := time.NewTicker(args.ping)
		defer t.Stop()
		tick = t.C
	}
	ri.log.Debug("event source open", "types", args.types)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		case <-tick:
			fmt.Fprintf(w, "event: ping\ndata: {\"interval\":%d}\n\n", int(args.ping.Seconds()))
			if rc.Flush() != nil {
				return
			}
		case <-wake:
			cur, _, err := cc.readState()
			if err != nil {
				ri.log.Warn("event source", "err", err)
				return
			}
			if cur.String() == last.String() {
				continue
			}
			last = cur
			if delivered.Swap(false) {
				deliveryState = cur.String()
			}
			if err := s.sendState(w, rc, ai, args.types, cur.String(), deliveryState); err != nil || args.closeAfter {
				return
			}
		}
	}
}

// sendState writes one StateChange event.
func (s *Server) sendState(w http.ResponseWriter, rc *http.ResponseController, ai *authInfo, types []string, st, delivery string) error {
	changed := map[string]string{}
	for _, t := range types {
		if t == "EmailDelivery" {
			changed[t] = delivery
		} else {
			changed[t] = st
		}
	}
	b, err := json.Marshal(stateChange{Type: "StateChange", Changed: map[string]map[string]string{accountID(ai.account): changed}})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
		return err
	}
	return rc.Flush()
}
