package jmap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"posthorn/internal/mailbox"
)

// invocation is one method call or response: [name, arguments, callId]
// (RFC 8620 §3.2).
type invocation struct {
	Name   string
	Args   json.RawMessage
	CallID string
}

// UnmarshalJSON reads the three-element array form.
func (iv *invocation) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	if len(parts) != 3 {
		return errors.New("an Invocation has three elements")
	}
	if err := json.Unmarshal(parts[0], &iv.Name); err != nil {
		return err
	}
	if t := bytes.TrimSpace(parts[1]); len(t) == 0 || t[0] != '{' {
		return errors.New("Invocation arguments must be an object")
	}
	iv.Args = parts[1]
	return json.Unmarshal(parts[2], &iv.CallID)
}

// MarshalJSON writes the three-element array form.
func (iv invocation) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{iv.Name, iv.Args, iv.CallID})
}

// apiRequest is the Request object (RFC 8620 §3.3).
type apiRequest struct {
	Using       []string          `json:"using"`
	MethodCalls []invocation      `json:"methodCalls"`
	CreatedIDs  map[string]string `json:"createdIds,omitempty"`
}

// apiResponse is the Response object (RFC 8620 §3.4).
type apiResponse struct {
	MethodResponses []invocation      `json:"methodResponses"`
	CreatedIDs      map[string]string `json:"createdIds,omitempty"`
	SessionState    string            `json:"sessionState"`
}

// methodFunc runs one method: it decodes args and returns the response
// arguments, or an error (a *methodError, or anything else for serverFail).
type methodFunc func(cc *call, args json.RawMessage) (any, error)

type methodSpec struct {
	capability string
	fn         methodFunc
}

// methods is the method table; see the files named after each data type.
func (s *Server) methods() map[string]methodSpec {
	m := map[string]methodSpec{
		"Core/echo":           {capCore, func(_ *call, a json.RawMessage) (any, error) { return a, nil }},
		"Mailbox/get":         {capMail, (*call).mailboxGet},
		"Mailbox/changes":     {capMail, (*call).mailboxChanges},
		"Mailbox/query":       {capMail, (*call).mailboxQuery},
		"Mailbox/set":         {capMail, (*call).mailboxSet},
		"Email/get":           {capMail, (*call).emailGet},
		"Email/changes":       {capMail, (*call).emailChanges},
		"Email/query":         {capMail, (*call).emailQuery},
		"Email/queryChanges":  {capMail, (*call).emailQueryChanges},
		"Email/set":           {capMail, (*call).emailSet},
		"Email/import":        {capMail, (*call).emailImport},
		"Thread/get":          {capMail, (*call).threadGet},
		"Thread/changes":      {capMail, (*call).threadChanges},
		"SearchSnippet/get":   {capMail, (*call).snippetGet},
		"Identity/get":        {capSubmission, (*call).identityGet},
		"EmailSubmission/set": {capSubmission, (*call).submissionSet},
	}
	if s.o.Delivery == nil {
		delete(m, "Identity/get")
		delete(m, "EmailSubmission/set")
	}
	return m
}

// call is the context of one method call within a request.
type call struct {
	ctx     context.Context
	s       *Server
	ai      *authInfo
	log     *slog.Logger
	using   map[string]bool
	created map[string]string // creation id -> id, across the request (§5.3)
	extra   []invocation      // implicit responses after this call's own (§5.4 onSuccess)
	callID  string
}

// handleAPI serves the API endpoint (RFC 8620 §3).
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request, ai *authInfo) {
	ri := infoOf(r.Context())
	if !s.acquire(s.inflight, ai.account, s.o.MaxConcurrentRequests) {
		writeProblem(w, problem{Type: probLimit, Status: http.StatusTooManyRequests, Limit: "maxConcurrentRequests",
			Detail: fmt.Sprintf("at most %d requests at once", s.o.MaxConcurrentRequests)})
		return
	}
	defer s.release(s.inflight, ai.account)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxSizeRequest))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeProblem(w, problem{Type: probLimit, Status: http.StatusRequestEntityTooLarge, Limit: "maxSizeRequest",
			Detail: fmt.Sprintf("requests are limited to %d octets", s.o.MaxSizeRequest)})
		return
	}
	if err != nil {
		ri.log.Info("reading request", "err", err)
		return
	}
	req, prob := s.parseRequest(body)
	if prob != nil {
		writeProblem(w, *prob)
		return
	}
	start := time.Now()
	resp := s.run(r.Context(), ai, req)
	ri.log.Debug("api", "calls", len(req.MethodCalls), "elapsed", time.Since(start))
	writeJSON(w, http.StatusOK, resp)
}

// parseRequest decodes and checks a Request object (RFC 8620 §3.6.1).
func (s *Server) parseRequest(body []byte) (*apiRequest, *problem) {
	if !json.Valid(body) {
		return nil, &problem{Type: probNotJSON, Status: http.StatusBadRequest, Detail: "the request is not valid JSON"}
	}
	// Unknown members of the Request object are ignored (RFC 8620 §3.3
	// defines three; a future one must not break this server).
	var req apiRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Using == nil || req.MethodCalls == nil {
		return nil, &problem{Type: probNotRequest, Status: http.StatusBadRequest, Detail: "the request is not a JMAP Request object"}
	}
	for _, u := range req.Using {
		if !s.caps.using[u] {
			return nil, &problem{Type: probUnknownCapability, Status: http.StatusBadRequest, Detail: fmt.Sprintf("unknown capability %q", u)}
		}
	}
	if len(req.MethodCalls) > s.o.MaxCallsInRequest {
		return nil, &problem{Type: probLimit, Status: http.StatusBadRequest, Limit: "maxCallsInRequest",
			Detail: fmt.Sprintf("at most %d method calls per request", s.o.MaxCallsInRequest)}
	}
	for id := range req.CreatedIDs {
		if !validID(id) {
			return nil, &problem{Type: probNotRequest, Status: http.StatusBadRequest, Detail: "invalid creation id in createdIds"}
		}
	}
	return &req, nil
}

// run processes the method calls in order (RFC 8620 §3.3).
func (s *Server) run(ctx context.Context, ai *authInfo, req *apiRequest) apiResponse {
	methods := s.methodTable
	using := map[string]bool{}
	for _, u := range req.Using {
		using[u] = true
	}
	created := map[string]string{}
	for k, v := range req.CreatedIDs {
		created[k] = v
	}
	resp := apiResponse{MethodResponses: []invocation{}, SessionState: sessionState(ai)}
	for _, mc := range req.MethodCalls {
		cc := &call{ctx: ctx, s: s, ai: ai, log: logFrom(ctx, s.log).With("method", mc.Name), using: using, created: created, callID: mc.CallID}
		name, out := cc.invoke(methods, mc, resp.MethodResponses)
		resp.MethodResponses = append(resp.MethodResponses, invocation{Name: name, Args: out, CallID: mc.CallID})
		resp.MethodResponses = append(resp.MethodResponses, cc.extra...)
	}
	if req.CreatedIDs != nil {
		resp.CreatedIDs = created
	}
	return resp
}

// invoke runs one call and returns the response name and arguments.
func (cc *call) invoke(methods map[string]methodSpec, mc invocation, prior []invocation) (string, json.RawMessage) {
	spec, ok := methods[mc.Name]
	if !ok || !cc.using[spec.capability] {
		return "error", mustJSON(mErr(errUnknownMethod, "unknown method %q (or its capability is not in \"using\")", mc.Name))
	}
	args, merr := resolveReferences(mc.Args, prior)
	if merr != nil {
		return "error", mustJSON(merr)
	}
	out, err := spec.fn(cc, args)
	if err != nil {
		cc.extra = nil
		return "error", mustJSON(asMethodError(cc.ctx, cc.log, err))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "error", mustJSON(asMethodError(cc.ctx, cc.log, fmt.Errorf("encoding %s response: %w", mc.Name, err)))
	}
	return mc.Name, b
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{"type":"serverFail"}`)
	}
	return b
}

// decode reads method arguments strictly: unknown arguments and wrong
// types are invalidArguments (RFC 8620 §3.6.2).
func decode(args json.RawMessage, v any) error {
	if err := strictUnmarshal(args, v); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "json: "); i >= 0 {
			msg = msg[i+len("json: "):]
		}
		return invalidArgs("%s", msg)
	}
	return nil
}

// account checks the accountId argument.
func (cc *call) account(id string) (mailbox.AccountID, error) {
	a, ok := parseAccountID(id)
	if !ok || a != cc.ai.account {
		return 0, mErr(errAccountNotFound, "no account %q", id)
	}
	return a, nil
}

// resolve turns "#creationId" into the id created earlier in the request
// (RFC 8620 §5.3); other ids pass unchanged. ok is false for an unknown
// creation id.
func (cc *call) resolve(id string) (string, bool) {
	if !strings.HasPrefix(id, "#") {
		return id, true
	}
	v, ok := cc.created[id[1:]]
	return v, ok
}

// addResponse appends an implicit response after this call's own.
func (cc *call) addResponse(name string, args any) {
	b, err := json.Marshal(args)
	if err != nil {
		b = mustJSON(asMethodError(cc.ctx, cc.log, err))
		name = "error"
	}
	cc.extra = append(cc.extra, invocation{Name: name, Args: b, CallID: cc.callID})
}
