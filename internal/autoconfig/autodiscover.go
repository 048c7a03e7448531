package autoconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

// nsOutlookResponse is the Outlook response schema of MS-OXDSCLI, the one
// this handler answers with (inside the generic responseschema/2006
// Autodiscover element).
const nsOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

// autodiscoverRequest is MS-OXDSCLI §2.2.3 (request schema 2006). Element
// names are matched without their namespace, as clients differ in it.
type autodiscoverRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

// ParseAutodiscoverRequest reads an Autodiscover request and returns the
// e-mail address it asks about. It fails when the body is not such a
// request, has no address, or asks for a response schema other than
// Outlook's (the mobilesync schema of Exchange ActiveSync, say).
func ParseAutodiscoverRequest(body []byte) (string, error) {
	var req autodiscoverRequest
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// No DTDs or entities beyond XML's own: encoding/xml expands none, so
	// there is no entity-expansion attack to fear.
	if err := d.Decode(&req); err != nil {
		return "", errors.New("not an Autodiscover request")
	}
	addr := strings.TrimSpace(req.Request.EMailAddress)
	if addr == "" {
		return "", errors.New("no EMailAddress in the request")
	}
	if s := strings.TrimSpace(req.Request.AcceptableResponseSchema); s != "" && s != nsOutlookResponse {
		return "", errors.New("unsupported response schema")
	}
	return addr, nil
}

// autodiscoverResponse is MS-OXDSCLI §2.2.4 with the Outlook 2006a
// response schema: one Account of type "email" with a Protocol per
// endpoint.
type autodiscoverResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
		Account struct {
			AccountType string     `xml:"AccountType"`
			Action      string     `xml:"Action"`
			Protocol    []protocol `xml:"Protocol"`
		} `xml:"Account"`
	}
}

// protocol is one Protocol element (MS-OXDSCLI §2.2.4.1.1.2.x). SSL "on"
// says the connection is encrypted; Encryption says how: "SSL" for
// implicit TLS, "TLS" for STARTTLS. Where both appear, Encryption wins.
// SPA (Microsoft's NTLM) is off: the password goes over TLS.
type protocol struct {
	Type           string `xml:"Type"`
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	LoginName      string `xml:"LoginName"`
	DomainRequired string `xml:"DomainRequired"`
	SPA            string `xml:"SPA"`
	SSL            string `xml:"SSL"`
	Encryption     string `xml:"Encryption"`
	AuthRequired   string `xml:"AuthRequired"`
	UsePOPAuth     string `xml:"UsePOPAuth,omitempty"`
	SMTPLast       string `xml:"SMTPLast,omitempty"`
}

// serveAutodiscover answers a POSTed request for a local domain.
func (h *Handler) serveAutodiscover(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	addr, err := ParseAutodiscoverRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	domain, err := DomainOf(addr)
	if err != nil {
		http.Error(w, "bad EMailAddress", http.StatusBadRequest)
		return
	}
	if !h.local(w, r, domain) {
		return
	}
	writeXML(w, h.autodiscover(addr))
}

func (h *Handler) autodiscover(addr string) autodiscoverResponse {
	var resp autodiscoverResponse
	resp.Response.Account.AccountType = "email"
	resp.Response.Account.Action = "settings"
	for _, p := range []Protocol{IMAP, POP3, SMTP} {
		for _, e := range h.endpoints(p) {
			pr := protocol{
				Type: strings.ToUpper(string(p)), Server: h.opts.Hostname, Port: e.Port, LoginName: addr,
				DomainRequired: "off", SPA: "off", SSL: "on", Encryption: "SSL", AuthRequired: "on",
			}
			if e.Security == StartTLS {
				pr.Encryption = "TLS"
			}
			if p == SMTP {
				pr.UsePOPAuth, pr.SMTPLast = "off", "off"
			}
			resp.Response.Account.Protocol = append(resp.Response.Account.Protocol, pr)
		}
	}
	return resp
}
