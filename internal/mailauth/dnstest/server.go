package dnstest

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Server answers DNS queries for a Zone over UDP and TCP on one loopback
// port (RFC 1035 §4.2). Responses larger than 512 octets over UDP are
// truncated (TC set) so that the client retries over TCP, as a real
// server without EDNS would.
type Server struct {
	zone *Zone
	udp  net.PacketConn
	tcp  net.Listener
	wg   sync.WaitGroup
}

// Serve starts a server for z on 127.0.0.1 (one port for both transports).
func Serve(z *Zone) (*Server, error) {
	for range 10 {
		tcp, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		udp, err := net.ListenPacket("udp", tcp.Addr().String())
		if err != nil {
			tcp.Close() // the UDP port is taken; try another
			continue
		}
		s := &Server{zone: z, udp: udp, tcp: tcp}
		s.wg.Add(2)
		go s.serveUDP()
		go s.serveTCP()
		return s, nil
	}
	return nil, errors.New("dnstest: no free port for UDP and TCP")
}

// Addr is "127.0.0.1:port".
func (s *Server) Addr() string { return s.tcp.Addr().String() }

// Resolver returns a *net.Resolver that asks only this server.
func (s *Server) Resolver() *net.Resolver {
	addr := s.Addr()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() error {
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
	return nil
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		resp, err := s.answer(buf[:n], 512)
		if err == nil {
			s.udp.WriteTo(resp, from)
		}
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for {
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				resp, err := s.answer(q, 65535)
				if err != nil {
					return
				}
				binary.BigEndian.PutUint16(l[:], uint16(len(resp)))
				if _, err := c.Write(append(l[:], resp...)); err != nil {
					return
				}
			}
		}()
	}
}

// answer builds the response to one query message.
func (s *Server) answer(query []byte, max int) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	answers, rcode := s.zone.records(q)
	rh.RCode = rcode
	msg := dnsmessage.Message{Header: rh, Questions: []dnsmessage.Question{q}, Answers: answers}
	out, err := msg.Pack()
	if err != nil {
		return nil, err
	}
	if len(out) > max {
		msg.Header.Truncated = true
		msg.Answers = nil
		return msg.Pack()
	}
	return out, nil
}

// records returns the answer records for a question and the RCODE.
func (z *Zone) records(q dnsmessage.Question) ([]dnsmessage.Resource, dnsmessage.RCode) {
	z.mu.Lock()
	defer z.mu.Unlock()
	name := norm(q.Name.String())
	if z.fail[name] {
		return nil, dnsmessage.RCodeServerFailure
	}
	hdr := func(n string, typ dnsmessage.Type) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(n + "."), Type: typ, Class: dnsmessage.ClassINET, TTL: 60}
	}
	var out []dnsmessage.Resource
	switch q.Type {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA:
		n := name
		for range 8 {
			t, ok := z.cname[n]
			if !ok {
				break
			}
			out = append(out, dnsmessage.Resource{Header: hdr(n, dnsmessage.TypeCNAME), Body: &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(t + ".")}})
			n = t
		}
		for _, ip := range z.ip[n] {
			if v4 := ip.To4(); v4 != nil && q.Type == dnsmessage.TypeA {
				out = append(out, dnsmessage.Resource{Header: hdr(n, dnsmessage.TypeA), Body: &dnsmessage.AResource{A: [4]byte(v4)}})
			} else if v4 == nil && q.Type == dnsmessage.TypeAAAA {
				out = append(out, dnsmessage.Resource{Header: hdr(n, dnsmessage.TypeAAAA), Body: &dnsmessage.AAAAResource{AAAA: [16]byte(ip.To16())}})
			}
		}
	case dnsmessage.TypeCNAME:
		if t, ok := z.cname[name]; ok {
			out = append(out, dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeCNAME), Body: &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(t + ".")}})
		}
	case dnsmessage.TypeTXT:
		for _, t := range z.txt[name] {
			out = append(out, dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeTXT), Body: &dnsmessage.TXTResource{TXT: splitTXT(t)}})
		}
	case dnsmessage.TypeMX:
		for _, m := range z.mx[name] {
			out = append(out, dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeMX), Body: &dnsmessage.MXResource{Pref: m.Pref, MX: dnsmessage.MustNewName(norm(m.Host) + ".")}})
		}
	case dnsmessage.TypeSRV:
		for _, r := range z.srv[name] {
			out = append(out, dnsmessage.Resource{Header: hdr(name, dnsmessage.TypeSRV), Body: &dnsmessage.SRVResource{
				Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: dnsmessage.MustNewName(norm(r.Target) + ".")}})
		}
	case dnsmessage.TypePTR:
		if ip := reverseIP(name); ip != "" {
			for _, n := range z.ptr[ip] {
				out = append(out, dnsmessage.Resource{Header: hdr(name, dnsmessage.TypePTR), Body: &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(norm(n) + ".")}})
			}
		}
	}
	if len(out) == 0 && !z.exists(name) {
		return nil, dnsmessage.RCodeNameError
	}
	return out, dnsmessage.RCodeSuccess
}

// exists reports whether the zone has any record at name (NODATA rather
// than NXDOMAIN for the other types).
func (z *Zone) exists(name string) bool {
	_, a := z.txt[name]
	_, b := z.mx[name]
	_, c := z.ip[name]
	_, d := z.cname[name]
	_, e := z.srv[name]
	return a || b || c || d || e || (reverseIP(name) != "" && len(z.ptr[reverseIP(name)]) > 0)
}

// splitTXT cuts a record into character-strings of at most 255 octets
// (RFC 1035 §3.3.14); resolvers join them again.
func splitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// reverseIP turns an in-addr.arpa or ip6.arpa name into the address it
// stands for, or "".
func reverseIP(name string) string {
	switch {
	case strings.HasSuffix(name, ".in-addr.arpa"):
		parts := strings.Split(strings.TrimSuffix(name, ".in-addr.arpa"), ".")
		if len(parts) != 4 {
			return ""
		}
		for i, j := 0, 3; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		ip := net.ParseIP(strings.Join(parts, "."))
		if ip == nil {
			return ""
		}
		return ip.String()
	case strings.HasSuffix(name, ".ip6.arpa"):
		nibbles := strings.Split(strings.TrimSuffix(name, ".ip6.arpa"), ".")
		if len(nibbles) != 32 {
			return ""
		}
		var b strings.Builder
		for i := 31; i >= 0; i-- {
			b.WriteString(nibbles[i])
			if i%4 == 0 && i > 0 {
				b.WriteByte(':')
			}
		}
		ip := net.ParseIP(b.String())
		if ip == nil {
			return ""
		}
		return ip.String()
	}
	return ""
}
