package message

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Serialization of Meta for the store, so that IMAP FETCH ENVELOPE and
// BODYSTRUCTURE, SORT and THREAD never parse the message again.
//
// Format (version 1), all integers as unsigned varints (encoding/binary
// Uvarint), strings as uvarint length + octets:
//
//	"PHM" 0x01                        magic and version
//	uvarint Size
//	string  Preview
//	uvarint n, n × string References
//	envelope                          (below)
//	part                              the root of Structure (below)
//
//	envelope: string Date, Subject; addrlist From, Sender, ReplyTo, To, Cc,
//	          Bcc; string InReplyTo, MessageID
//	addrlist: uvarint n, n × (byte kind: 0 mailbox, 1 group start, 2 group
//	          end; mailbox: string Name, ADL, Mailbox, Host; group start:
//	          string Mailbox)
//	part:     string Type, Subtype; params; string ID, Description, MD5,
//	          Encoding; uvarint Size, Lines; string Disposition; params;
//	          uvarint n, n × string Language; string Location; uvarint
//	          HeaderStart, BodyStart, BodyEnd, PreambleEnd, EpilogueStart;
//	          byte hasEnvelope, envelope if 1; uvarint n, n × part
//	params:   uvarint n, n × (string Name, string Value)
//
// The other fields (Date, Subject, sort keys, HasAttachment, ...) follow from
// Envelope and Structure and are recomputed by UnmarshalMeta, which keeps
// the stored form small. Text is not stored. A reader meeting an unknown
// version fails with ErrMetaVersion; the store then re-analyzes the message.

const metaVersion = 1

const metaMagic = "PHM\x01"

// ErrMetaVersion is returned by UnmarshalMeta for data written by another
// version of the format.
var ErrMetaVersion = errors.New("message: unknown Meta serialization version")

// Marshal serializes everything in m except Text in a compact, versioned
// binary form (see the format above) for UnmarshalMeta.
func (m *Meta) Marshal() []byte {
	w := metaWriter{b: make([]byte, 0, 512)}
	w.b = append(w.b, metaMagic...)
	w.uint(uint64(m.Size))
	w.str(m.Preview)
	w.uint(uint64(len(m.References)))
	for _, r := range m.References {
		w.str(r)
	}
	env := m.Envelope
	if env == nil {
		env = &Envelope{}
	}
	w.envelope(env)
	root := m.Structure
	if root == nil {
		root = &Part{Type: "text", Subtype: "plain", Encoding: "7bit"}
	}
	w.part(root)
	return w.b
}

type metaWriter struct{ b []byte }

func (w *metaWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

func (w *metaWriter) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *metaWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *metaWriter) envelope(e *Envelope) {
	w.str(e.Date)
	w.str(e.Subject)
	for _, l := range [][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.addrs(l)
	}
	w.str(e.InReplyTo)
	w.str(e.MessageID)
}

func (w *metaWriter) addrs(as []Address) {
	w.uint(uint64(len(as)))
	for _, a := range as {
		switch {
		case a.GroupStart:
			w.b = append(w.b, 1)
			w.str(a.Mailbox)
		case a.GroupEnd:
			w.b = append(w.b, 2)
		default:
			w.b = append(w.b, 0)
			w.str(a.Name)
			w.str(a.ADL)
			w.str(a.Mailbox)
			w.str(a.Host)
		}
	}
}

func (w *metaWriter) params(ps []Param) {
	w.uint(uint64(len(ps)))
	for _, p := range ps {
		w.str(p.Name)
		w.str(p.Value)
	}
}

func (w *metaWriter) part(p *Part) {
	w.str(p.Type)
	w.str(p.Subtype)
	w.params(p.Params)
	w.str(p.ID)
	w.str(p.Description)
	w.str(p.MD5)
	w.str(p.Encoding)
	w.uint(uint64(p.Size))
	w.uint(uint64(p.Lines))
	w.str(p.Disposition)
	w.params(p.DispositionParams)
	w.uint(uint64(len(p.Language)))
	for _, l := range p.Language {
		w.str(l)
	}
	w.str(p.Location)
	for _, o := range []int64{p.HeaderStart, p.BodyStart, p.BodyEnd, p.PreambleEnd, p.EpilogueStart} {
		w.uint(uint64(o))
	}
	w.bool(p.Envelope != nil)
	if p.Envelope != nil {
		w.envelope(p.Envelope)
	}
	w.uint(uint64(len(p.Parts)))
	for _, c := range p.Parts {
		w.part(c)
	}
}

// UnmarshalMeta decodes what Meta.Marshal produced. It checks every length
// against the data and the nesting against MaxDepth, so corrupt input
// yields an error, never a panic or a huge allocation.
func UnmarshalMeta(b []byte) (*Meta, error) {
	if len(b) < 4 || b[0] != 'P' || b[1] != 'H' || b[2] != 'M' {
		return nil, errors.New("message: not a serialized Meta")
	}
	if b[3] != metaVersion {
		return nil, ErrMetaVersion
	}
	r := metaReader{b: b[4:]}
	m := &Meta{Size: r.off(), Preview: r.str()}
	if n := r.count(1); n > 0 {
		m.References = make([]string, n)
		for i := range m.References {
			m.References[i] = r.str()
		}
	}
	m.Envelope = r.envelope()
	m.Structure = r.part(0)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("message: %d stray octets after serialized Meta", len(r.b))
	}
	m.derive()
	return m, nil
}

type metaReader struct {
	b     []byte
	err   error
	parts int
}

func (r *metaReader) fail() {
	if r.err == nil {
		r.err = errors.New("message: corrupt serialized Meta")
	}
	r.b = nil
}

func (r *metaReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// off reads a size or offset: non-negative and far below overflow.
func (r *metaReader) off() int64 {
	v := r.uint()
	if v > 1<<53 {
		r.fail()
		return 0
	}
	return int64(v)
}

func (r *metaReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// count reads a list length whose elements take at least min octets each.
func (r *metaReader) count(min int) int {
	n := r.uint()
	if n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *metaReader) str() string {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *metaReader) envelope() *Envelope {
	e := &Envelope{Date: r.str(), Subject: r.str()}
	for _, l := range []*[]Address{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc} {
		*l = r.addrs()
	}
	e.InReplyTo = r.str()
	e.MessageID = r.str()
	return e
}

func (r *metaReader) addrs() []Address {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	as := make([]Address, n)
	for i := range as {
		switch r.byte() {
		case 0:
			as[i] = Address{Name: r.str(), ADL: r.str(), Mailbox: r.str(), Host: r.str()}
		case 1:
			as[i] = Address{GroupStart: true, Mailbox: r.str()}
		case 2:
			as[i] = Address{GroupEnd: true}
		default:
			r.fail()
			return nil
		}
	}
	return as
}

func (r *metaReader) params() []Param {
	n := r.count(2)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		ps[i] = Param{Name: r.str(), Value: r.str()}
	}
	return ps
}

func (r *metaReader) part(depth int) *Part {
	if r.parts++; depth > MaxDepth+1 || r.parts > MaxParts+1 {
		r.fail()
		return nil
	}
	p := &Part{Type: r.str(), Subtype: r.str()}
	p.Params = r.params()
	p.ID, p.Description, p.MD5, p.Encoding = r.str(), r.str(), r.str(), r.str()
	p.Size, p.Lines = r.off(), r.off()
	p.Disposition = r.str()
	p.DispositionParams = r.params()
	if n := r.count(1); n > 0 {
		p.Language = make([]string, n)
		for i := range p.Language {
			p.Language[i] = r.str()
		}
	}
	p.Location = r.str()
	for _, o := range []*int64{&p.HeaderStart, &p.BodyStart, &p.BodyEnd, &p.PreambleEnd, &p.EpilogueStart} {
		*o = r.off()
	}
	if r.byte() == 1 {
		p.Envelope = r.envelope()
	}
	n := r.count(1)
	for i := 0; i < n && r.err == nil; i++ {
		p.Parts = append(p.Parts, r.part(depth+1))
	}
	if r.err != nil {
		return nil
	}
	return p
}
