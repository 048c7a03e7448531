package webmail

// SanitizeForTest exposes the viewer's sanitizer to the external tests.
func SanitizeForTest(doc string) string { return newSanitizer().sanitize(doc, nil) }
