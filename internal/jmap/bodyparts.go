package jmap

import (
	"strconv"
	"strings"

	"posthorn/internal/mailbox"
	"posthorn/internal/message"
)

// bodyPart is a MIME part as JMAP sees it (RFC 8621 §4.1.4 EmailBodyPart):
// message/rfc822 is a leaf (its content is one attachment), multiparts
// have no partId, and leaves are numbered like IMAP sections ("1",
// "2.1"), which also name their blobs.
type bodyPart struct {
	p    *message.Part
	id   string // "" for a multipart
	subs []*bodyPart
}

// buildParts makes the JMAP view of a message's MIME tree.
func buildParts(root *message.Part) *bodyPart {
	if !root.IsMultipart() {
		return &bodyPart{p: root, id: "1"}
	}
	return buildMulti(root, "")
}

func buildMulti(p *message.Part, prefix string) *bodyPart {
	bp := &bodyPart{p: p}
	for i, c := range p.Parts {
		num := strconv.Itoa(i + 1)
		if prefix != "" {
			num = prefix + "." + num
		}
		if c.IsMultipart() {
			bp.subs = append(bp.subs, buildMulti(c, num))
		} else {
			bp.subs = append(bp.subs, &bodyPart{p: c, id: num})
		}
	}
	return bp
}

// find returns the part with a partId, or nil.
func (bp *bodyPart) find(id string) *bodyPart {
	if bp.id == id && id != "" {
		return bp
	}
	for _, s := range bp.subs {
		if f := s.find(id); f != nil {
			return f
		}
	}
	return nil
}

// mediaType is the part's type in lower case.
func (bp *bodyPart) mediaType() string { return bp.p.Type + "/" + bp.p.Subtype }

func isInlineMediaType(t string) bool {
	return strings.HasPrefix(t, "image/") || strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/")
}

// flatBodies holds the textBody, htmlBody and attachments lists.
type flatBodies struct {
	text, html, attachments []*bodyPart
}

// flatten computes textBody, htmlBody and attachments exactly as the
// parseStructure algorithm of RFC 8621 §4.1.4 does.
func flatten(root *bodyPart) flatBodies {
	var fb flatBodies
	text, html := &fb.text, &fb.html
	parseStructure([]*bodyPart{root}, "mixed", false, html, text, &fb.attachments)
	return fb
}

// parseStructure follows the RFC's pseudo-code: htmlBody and textBody are
// the lists to add to, or nil once the branch no longer feeds one of them.
func parseStructure(parts []*bodyPart, multipartType string, inAlternative bool, htmlBody, textBody *[]*bodyPart, attachments *[]*bodyPart) {
	textLength, htmlLength := -1, -1
	if textBody != nil {
		textLength = len(*textBody)
	}
	if htmlBody != nil {
		htmlLength = len(*htmlBody)
	}
	for i, part := range parts {
		typ := part.mediaType()
		isMultipart := part.p.IsMultipart()
		isInline := part.p.Disposition != "attachment" &&
			(typ == "text/plain" || typ == "text/html" || isInlineMediaType(typ)) &&
			(i == 0 || (multipartType != "related" && (isInlineMediaType(typ) || part.p.Filename() == "")))
		switch {
		case isMultipart:
			sub := part.p.Subtype
			parseStructure(part.subs, sub, inAlternative || sub == "alternative", htmlBody, textBody, attachments)
		case isInline:
			if multipartType == "alternative" {
				switch typ {
				case "text/plain":
					if textBody != nil {
						*textBody = append(*textBody, part)
					}
				case "text/html":
					if htmlBody != nil {
						*htmlBody = append(*htmlBody, part)
					}
				default:
					*attachments = append(*attachments, part)
				}
				continue
			} else if inAlternative {
				if typ == "text/plain" {
					htmlBody = nil
				}
				if typ == "text/html" {
					textBody = nil
				}
			}
			if textBody != nil {
				*textBody = append(*textBody, part)
			}
			if htmlBody != nil {
				*htmlBody = append(*htmlBody, part)
			}
			if (textBody == nil || htmlBody == nil) && isInlineMediaType(typ) {
				*attachments = append(*attachments, part)
			}
		default:
			*attachments = append(*attachments, part)
		}
	}
	if multipartType == "alternative" && textBody != nil && htmlBody != nil {
		// Found HTML only: the text body uses it too; and the reverse.
		if textLength == len(*textBody) && htmlLength != len(*htmlBody) {
			*textBody = append(*textBody, (*htmlBody)[htmlLength:]...)
		}
		if htmlLength == len(*htmlBody) && textLength != len(*textBody) {
			*htmlBody = append(*htmlBody, (*textBody)[textLength:]...)
		}
	}
}

var bodyDefaultProps = []string{"partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", "language", "location"}
var bodyKnownProps = append(append([]string{}, bodyDefaultProps...), "headers", "subParts")

// partObject renders an EmailBodyPart with the requested properties.
// header needs the part's own header fields (for "headers" and
// "header:*"); it is called only when they are asked for.
func partObject(msg mailbox.MessageID, bp *bodyPart, props []string, header func(*bodyPart) message.Header) (map[string]any, error) {
	o := map[string]any{}
	p := bp.p
	for _, prop := range props {
		switch prop {
		case "partId":
			o[prop] = nullIfEmpty(bp.id)
		case "blobId":
			if bp.id == "" {
				o[prop] = nil
			} else {
				o[prop] = partBlobID(msg, bp.id)
			}
		case "size":
			o[prop] = decodedSize(p)
		case "name":
			o[prop] = nullIfEmpty(p.Filename())
		case "type":
			o[prop] = bp.mediaType()
		case "charset":
			cs := p.Charset()
			if cs == "" && p.Type == "text" {
				cs = "us-ascii" // RFC 2045 §5.2 default
			}
			o[prop] = nullIfEmpty(cs)
		case "disposition":
			o[prop] = nullIfEmpty(p.Disposition)
		case "cid":
			o[prop] = nullIfEmpty(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(p.ID), "<"), ">"))
		case "language":
			if len(p.Language) == 0 {
				o[prop] = nil
			} else {
				o[prop] = p.Language
			}
		case "location":
			o[prop] = nullIfEmpty(p.Location)
		case "subParts":
			if bp.id != "" {
				o[prop] = nil
				continue
			}
			subs := make([]any, 0, len(bp.subs))
			for _, s := range bp.subs {
				so, err := partObject(msg, s, props, header)
				if err != nil {
					return nil, err
				}
				subs = append(subs, so)
			}
			o[prop] = subs
		case "headers":
			o[prop] = rawHeaders(header(bp))
		default:
			hp, err := parseHeaderProp(prop)
			if err != nil {
				return nil, err
			}
			o[prop] = hp.value(header(bp))
		}
	}
	return o, nil
}

// decodedSize is the size of a part's content after transfer decoding
// (what its blob download returns): exact for identity encodings; for
// base64 computed from the encoded size less line breaks; for
// quoted-printable the encoded size, an upper bound.
func decodedSize(p *message.Part) int64 {
	switch p.Encoding {
	case "base64":
		n := p.Size - 2*p.Lines
		if p.Lines == 0 {
			n = p.Size - 2*(p.Size/78)
		}
		return max(n*3/4, 0)
	}
	return p.Size
}
