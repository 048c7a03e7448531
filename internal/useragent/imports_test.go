package useragent

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports holds the user agent to being a client: it may use the pure
// message package and its own IMAP client, nothing of the server side
// (store, services, protocols, config, server). autoconfig imports nothing
// internal at all.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	allowed := map[string][]string{
		"posthorn/internal/useragent":            {"posthorn/internal/message", "posthorn/internal/useragent/imapclient"},
		"posthorn/internal/useragent/imapclient": {"posthorn/internal/message"},
		"posthorn/internal/autoconfig":           nil,
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		if pkg == "posthorn/internal/useragent" && !strings.Contains(string(out), "posthorn/internal/useragent/imapclient\n") {
			t.Fatalf("go list -deps %s lacks imapclient: the check would see nothing:\n%s", pkg, out)
		}
		for _, d := range strings.Fields(string(out)) {
			if !strings.HasPrefix(d, "posthorn/") || d == pkg {
				continue
			}
			permitted := false
			for _, a := range ok {
				permitted = permitted || d == a
			}
			if !permitted {
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
}
