package autoconfig

import (
	"encoding/xml"
	"net/http"
)

// clientConfig is Mozilla's autoconfiguration file format, version 1.1
// (https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat).
type clientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider emailProvider `xml:"emailProvider"`
}

type emailProvider struct {
	ID               string       `xml:"id,attr"`
	Domain           string       `xml:"domain"`
	DisplayName      string       `xml:"displayName"`
	DisplayShortName string       `xml:"displayShortName"`
	Incoming         []mailServer `xml:"incomingServer"`
	Outgoing         []mailServer `xml:"outgoingServer"`
}

type mailServer struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Authentication string `xml:"authentication"`
	Username       string `xml:"username"`
}

// serveThunderbird answers GET (and HEAD) with the clientConfig for the
// domain of the emailaddress parameter, or of the Host header without one.
func (h *Handler) serveThunderbird(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var domain string
	var err error
	if addr := r.URL.Query().Get("emailaddress"); addr != "" {
		domain, err = DomainOf(addr)
	} else {
		domain, err = hostDomain(r.Host)
	}
	if err != nil {
		http.Error(w, "bad emailaddress", http.StatusBadRequest)
		return
	}
	if !h.local(w, r, domain) {
		return
	}
	writeXML(w, h.clientConfig(domain))
}

// clientConfig builds the document. The user name is the placeholder
// %EMAILADDRESS%, which Thunderbird replaces with the address the user
// typed; "password-cleartext" is a password over the TLS connection.
func (h *Handler) clientConfig(domain string) clientConfig {
	p := emailProvider{ID: domain, Domain: domain, DisplayName: domain, DisplayShortName: domain}
	for _, proto := range []Protocol{IMAP, POP3} {
		for _, e := range h.endpoints(proto) {
			p.Incoming = append(p.Incoming, h.mailServer(e))
		}
	}
	for _, e := range h.endpoints(SMTP) {
		p.Outgoing = append(p.Outgoing, h.mailServer(e))
	}
	return clientConfig{Version: "1.1", Provider: p}
}

func (h *Handler) mailServer(e Endpoint) mailServer {
	socket := "SSL"
	if e.Security == StartTLS {
		socket = "STARTTLS"
	}
	return mailServer{
		Type: string(e.Protocol), Hostname: h.opts.Hostname, Port: e.Port, SocketType: socket,
		Authentication: "password-cleartext", Username: "%EMAILADDRESS%",
	}
}
