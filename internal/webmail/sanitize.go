package webmail

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/microcosm-cc/bluemonday/css"
)

// sanitizer turns a message's HTML into markup that cannot run script or
// reach the network by itself. It keeps what mail needs to look right
// (tables, fonts, inline styles with values the CSS validators accept) and
// drops everything active: script, event handlers, forms, objects, frames,
// <style> and <link>, and URLs other than http(s), mailto, cid and
// data:image. CSS values may not hold url() or expression(), so styles
// cannot fetch anything even once the user allows remote images.
type sanitizer struct {
	p *bluemonday.Policy
}

// styleProps are the CSS properties messages may set inline.
var styleProps = []string{
	"color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight", "font-variant",
	"text-align", "text-decoration", "text-indent", "text-transform", "letter-spacing", "line-height", "word-spacing",
	"white-space", "vertical-align", "direction", "width", "height", "max-width", "min-width", "max-height", "min-height",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style", "border-width",
	"border-collapse", "border-spacing", "border-radius", "display", "float", "clear", "overflow", "list-style-type",
	"table-layout", "visibility",
}

// unsafeCSS matches what a CSS value must not contain: a way to fetch
// (url, image-set, @import) or run (expression, behavior, javascript:)
// something, in any case and with escapes and comments that could hide it.
var unsafeCSS = regexp.MustCompile(`(?i)url|image|expression|behavior|javascript|@import|\\|/\*`)

func newSanitizer() *sanitizer {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("style").Globally()
	for _, prop := range styleProps {
		def := css.GetDefaultHandler(prop)
		p.AllowStyles(prop).MatchingHandler(func(v string) bool {
			return !unsafeCSS.MatchString(v) && def(v)
		}).Globally()
	}
	p.AllowElements("font", "center", "u", "s", "strike", "small", "big")
	p.AllowAttrs("color", "face", "size").OnElements("font")
	p.AllowAttrs("bgcolor", "align", "valign", "width", "height", "border", "cellpadding", "cellspacing").
		OnElements("table", "tr", "td", "th", "tbody", "thead", "tfoot", "col", "colgroup")
	p.AllowAttrs("align").OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "img")
	p.AllowAttrs("width", "height", "border", "alt", "title").OnElements("img")
	p.AllowRelativeURLs(false) // they would point at this server
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	p.AllowDataURIImages()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return &sanitizer{p: p}
}

// imageTypes are the inline image types embedded as data: URLs (the ones
// bluemonday's data URI check accepts).
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// sanitize cleans doc. inline resolves cid: URLs; an inline part that is
// not an image of a known type, or is missing, loses its src.
func (s *sanitizer) sanitize(doc string, inline func(cid string) (string, []byte, bool)) string {
	// The policy is read-only once built (bluemonday's Sanitize is safe for
	// concurrent use); a shallow copy shares its tables and takes this
	// call's rewriter.
	p := *s.p
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme != "cid" {
			return
		}
		cid, _ := url.PathUnescape(u.Opaque)
		typ, data, ok := "", []byte(nil), false
		if inline != nil {
			typ, data, ok = inline(cid)
		}
		typ = strings.ToLower(strings.TrimSpace(strings.Split(typ, ";")[0]))
		if !ok || !imageTypes[typ] {
			*u = url.URL{}
			return
		}
		*u = url.URL{Scheme: "data", Opaque: typ + ";base64," + base64.StdEncoding.EncodeToString(data)}
	})
	return p.Sanitize(doc)
}

// remoteImage matches an image the browser would fetch from elsewhere.
var remoteImage = regexp.MustCompile(`(?i)<img[^>]+src="https?:`)

// hasRemoteImages reports whether sanitized markup refers to remote images.
func hasRemoteImages(clean string) bool { return remoteImage.MatchString(clean) }
