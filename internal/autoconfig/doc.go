// Package autoconfig tells mail clients how to reach the server, from an
// e-mail address alone. It is an http.Handler for:
//
//   - Thunderbird's autoconfiguration: GET /.well-known/autoconfig/mail/config-v1.1.xml
//     and GET /mail/config-v1.1.xml (on autoconfig.DOMAIN), the
//     "clientConfig" version 1.1 format, with the address in the
//     emailaddress query parameter (or, without one, the domain from the
//     Host header).
//   - Outlook's Autodiscover: POST /autodiscover/autodiscover.xml, request
//     and response in the 2006 schemas of MS-OXDSCLI, response schema
//     outlook/responseschema/2006a (protocol settings for IMAP, POP3 and
//     SMTP). Thunderbird asks this one too.
//
// The answer lists the IMAP, POP3 and submission endpoints it is given,
// implicit TLS before STARTTLS (RFC 8314 §5.1), with the full address as
// the login name.
//
// What it must not do: answer for a domain that is not local (the
// IsLocalDomain function decides; the server answers 404 otherwise),
// reveal whether an account exists (the answer depends on the domain only),
// or echo anything into XML without escaping (encoding/xml writes every
// document). It holds no state and imports no other Posthorn package.
//
// Invariants: request bodies are read up to MaxRequestBytes; a domain is
// compared in its lower-case A-label form (RFC 5890); a response is either
// a complete XML document or an HTTP error with a short text.
package autoconfig
