package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"posthorn/internal/queue/smtpclient"
)

// hop is one server to try for a domain: its name and port. Its addresses
// are looked up when it is tried.
type hop struct {
	host string
	port int
}

// routeError is a routing failure with the reply it stands for in DSNs
// and logs.
type routeError struct{ reply smtpclient.Reply }

func (e *routeError) Error() string { return e.reply.String() }

func permanent(code int, status, text string) *routeError {
	return &routeError{smtpclient.Reply{Code: code, Enhanced: status, Text: text}}
}

func temporary(status, text string) *routeError {
	return &routeError{smtpclient.Reply{Code: 451, Enhanced: status, Text: text}}
}

// route returns the servers to try for a domain, in order: a static route,
// else the smarthost, else the MX hosts by preference (RFC 5321 §5.1), or
// the domain itself when it has no MX (the implicit MX). A Null MX
// (RFC 7505) or a domain that does not exist fails permanently.
func (q *Queue) route(ctx context.Context, domain string) ([]hop, error) {
	if hp, ok := q.o.Routes[domain]; ok {
		return parseHop(hp)
	}
	if q.o.Smarthost != "" {
		return parseHop(q.o.Smarthost)
	}
	mxs, err := q.o.Resolver.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	switch {
	case err == nil && len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == ""):
		// RFC 7505 §4.2: a Null MX means the domain takes no mail.
		return nil, permanent(556, "5.1.10", "the domain "+domain+" accepts no mail (Null MX)")
	case err == nil && len(mxs) > 0:
		hops := make([]hop, 0, len(mxs))
		for _, mx := range mxs {
			h := strings.TrimSuffix(mx.Host, ".")
			if h == "" {
				continue
			}
			hops = append(hops, hop{host: h, port: q.o.Port})
		}
		return hops, nil
	case err == nil || (errors.As(err, &dnsErr) && dnsErr.IsNotFound):
		// No MX: the domain's own address records (RFC 5321 §5.1).
		if _, err := q.o.Resolver.LookupIPAddr(ctx, domain); err != nil {
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				return nil, permanent(550, "5.1.2", "the domain "+domain+" does not exist")
			}
			return nil, temporary("4.4.3", "DNS lookup of "+domain+" failed: "+err.Error())
		}
		return []hop{{host: domain, port: q.o.Port}}, nil
	}
	return nil, temporary("4.4.3", "MX lookup of "+domain+" failed: "+err.Error())
}

func parseHop(hostport string) ([]hop, error) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, permanent(550, "5.3.5", "bad route "+hostport)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, permanent(550, "5.3.5", "bad route "+hostport)
	}
	return []hop{{host: h, port: port}}, nil
}

// addresses resolves a hop to "ip:port" strings, IPv6 and IPv4 as DNS
// gives them. An IP literal stands for itself.
func (q *Queue) addresses(ctx context.Context, h hop) ([]string, error) {
	if ip, err := netip.ParseAddr(h.host); err == nil {
		return []string{net.JoinHostPort(ip.String(), strconv.Itoa(h.port))}, nil
	}
	ips, err := q.o.Resolver.LookupIPAddr(ctx, h.host)
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", h.host, err)
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.JoinHostPort(ip.IP.String(), strconv.Itoa(h.port)))
	}
	return out, nil
}

// connect tries every address of every hop in order and returns the first
// client that greets and says EHLO/HELO, after STARTTLS where offered.
// When all fail, the error describes the last failure (temporary).
func (q *Queue) connect(ctx context.Context, domain string, hops []hop) (*smtpclient.Client, string, error) {
	var last error = temporary("4.4.1", "no server to connect to for "+domain)
	for _, h := range hops {
		addrs, err := q.addresses(ctx, h)
		if err != nil {
			last = temporary("4.4.3", err.Error())
			continue
		}
		for _, a := range addrs {
			c, err := q.open(ctx, a, true)
			if err != nil {
				metricConnections.WithLabelValues("failed").Inc()
				q.log.Info("connect failed", "domain", domain, "host", h.host, "addr", a, "err", err)
				last = temporary("4.4.1", fmt.Sprintf("%s [%s]: %v", h.host, a, err))
				continue
			}
			metricConnections.WithLabelValues("ok").Inc()
			return c, h.host, nil
		}
	}
	return nil, "", last
}

// open dials one address and greets it. STARTTLS is opportunistic (RFC
// 7435): when the handshake fails, the address is tried once more in
// clear, as Postfix does with "may" security.
func (q *Queue) open(ctx context.Context, addr string, tryTLS bool) (*smtpclient.Client, error) {
	conn, err := q.o.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := smtpclient.NewClient(conn, smtpclient.Timeouts{})
	if err != nil {
		return nil, err
	}
	if err := c.Hello(q.o.Hostname); err != nil {
		c.Close()
		return nil, err
	}
	if _, ok := c.Ext("STARTTLS"); ok && tryTLS {
		if err := c.StartTLS(q.o.TLS, q.o.Hostname); err != nil {
			c.Close()
			q.log.Info("STARTTLS failed; trying without", "addr", addr, "err", err)
			return q.open(ctx, addr, false)
		}
		if c.Injected > 0 {
			q.log.Warn("discarded data injected before the TLS handshake", "addr", addr, "octets", c.Injected)
		}
	}
	return c, nil
}
