package jmap

import (
	"encoding/json"
	"net/http"

	"posthorn/internal/mailbox"
)

// Capability URIs (RFC 8620 §2, RFC 8621 §1.3).
const (
	capCore       = "urn:ietf:params:jmap:core"
	capMail       = "urn:ietf:params:jmap:mail"
	capSubmission = "urn:ietf:params:jmap:submission"
)

// coreCapability is the urn:ietf:params:jmap:core object (RFC 8620 §2).
type coreCapability struct {
	MaxSizeUpload         int64    `json:"maxSizeUpload"`
	MaxConcurrentUpload   int      `json:"maxConcurrentUpload"`
	MaxSizeRequest        int64    `json:"maxSizeRequest"`
	MaxConcurrentRequests int      `json:"maxConcurrentRequests"`
	MaxCallsInRequest     int      `json:"maxCallsInRequest"`
	MaxObjectsInGet       int      `json:"maxObjectsInGet"`
	MaxObjectsInSet       int      `json:"maxObjectsInSet"`
	CollationAlgorithms   []string `json:"collationAlgorithms"`
}

// mailAccountCapability is the account capability of RFC 8621 §1.3.1.
type mailAccountCapability struct {
	MaxMailboxesPerEmail       int      `json:"maxMailboxesPerEmail"`
	MaxMailboxDepth            int      `json:"maxMailboxDepth"`
	MaxSizeMailboxName         int      `json:"maxSizeMailboxName"`
	MaxSizeAttachmentsPerEmail int64    `json:"maxSizeAttachmentsPerEmail"`
	EmailQuerySortOptions      []string `json:"emailQuerySortOptions"`
	MayCreateTopLevelMailbox   bool     `json:"mayCreateTopLevelMailbox"`
}

// submissionAccountCapability is RFC 8621 §1.3.2's.
type submissionAccountCapability struct {
	MaxDelayedSend       int                 `json:"maxDelayedSend"`
	SubmissionExtensions map[string][]string `json:"submissionExtensions"`
}

type capabilities struct {
	server  map[string]any
	account map[string]any
	using   map[string]bool // what a request may name in "using"
}

// sortOptions are the Email/query sort properties supported.
var sortOptions = []string{"receivedAt", "sentAt", "size", "subject", "from", "to"}

func (s *Server) capabilities() capabilities {
	c := capabilities{
		server: map[string]any{
			capCore: coreCapability{
				MaxSizeUpload: s.o.MaxSizeUpload, MaxConcurrentUpload: s.o.MaxConcurrentUpload,
				MaxSizeRequest: s.o.MaxSizeRequest, MaxConcurrentRequests: s.o.MaxConcurrentRequests,
				MaxCallsInRequest: s.o.MaxCallsInRequest, MaxObjectsInGet: s.o.MaxObjectsInGet,
				MaxObjectsInSet: s.o.MaxObjectsInSet, CollationAlgorithms: []string{"i;ascii-casemap"},
			},
			capMail: struct{}{},
		},
		account: map[string]any{
			capMail: mailAccountCapability{
				MaxMailboxesPerEmail: 1, MaxMailboxDepth: mailbox.MaxDepth, MaxSizeMailboxName: mailbox.MaxLevelLength,
				MaxSizeAttachmentsPerEmail: s.mbs.MaxMessageSize() * 3 / 4, // base64 grows by a third
				EmailQuerySortOptions:      sortOptions, MayCreateTopLevelMailbox: true,
			},
		},
		using: map[string]bool{capCore: true, capMail: true},
	}
	if s.o.Delivery != nil {
		c.server[capSubmission] = struct{}{}
		c.account[capSubmission] = submissionAccountCapability{SubmissionExtensions: map[string][]string{}}
		c.using[capSubmission] = true
	}
	return c
}

// sessionResource is the JMAP Session object (RFC 8620 §2).
type sessionResource struct {
	Capabilities    map[string]any            `json:"capabilities"`
	Accounts        map[string]sessionAccount `json:"accounts"`
	PrimaryAccounts map[string]string         `json:"primaryAccounts"`
	Username        string                    `json:"username"`
	APIURL          string                    `json:"apiUrl"`
	DownloadURL     string                    `json:"downloadUrl"`
	UploadURL       string                    `json:"uploadUrl"`
	EventSourceURL  string                    `json:"eventSourceUrl"`
	State           string                    `json:"state"`
}

type sessionAccount struct {
	Name                string         `json:"name"`
	IsPersonal          bool           `json:"isPersonal"`
	IsReadOnly          bool           `json:"isReadOnly"`
	AccountCapabilities map[string]any `json:"accountCapabilities"`
}

// sessionState changes whenever what the session resource says changes:
// only the capabilities and the one account do, and they are fixed for
// the life of a process, so the state is the account id.
func sessionState(ai *authInfo) string { return accountID(ai.account) }

// handleSession serves the session resource (RFC 8620 §2.2). URLs are
// absolute, on the host and scheme the client used.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request, ai *authInfo) {
	base := scheme(r) + "://" + r.Host
	id := accountID(ai.account)
	primary := map[string]string{}
	for uri := range s.caps.account {
		primary[uri] = id
	}
	res := sessionResource{
		Capabilities: s.caps.server,
		Accounts: map[string]sessionAccount{id: {
			Name: ai.address, IsPersonal: true, AccountCapabilities: s.caps.account,
		}},
		PrimaryAccounts: primary,
		Username:        ai.address,
		APIURL:          base + PathAPI,
		DownloadURL:     base + PathDownload + "{accountId}/{blobId}/{name}?accept={type}",
		UploadURL:       base + PathUpload + "{accountId}/",
		EventSourceURL:  base + PathEventSource + "?types={types}&closeafter={closeafter}&ping={ping}",
		State:           sessionState(ai),
	}
	writeJSON(w, http.StatusOK, res)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
