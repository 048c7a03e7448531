package server

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The layering of DESIGN.md, checked on the import graph that
// `go list -deps` reports for the whole module:
//   - a protocol package never imports the store (nor its drivers, even
//     indirectly), another protocol package, the server or config;
//   - the store imports nothing internal; a store driver only the store;
//   - the services import only downward: delivery, queue, mailbox,
//     account, message;
//   - only server (and the programs: cmd/, bench/, servertest) import
//     config.
var (
	protocols = []string{"smtpd", "imapd", "pop3d", "jmap", "webmail"}
	services  = []string{"delivery", "queue", "mailbox", "account", "message"}
)

// importGraph maps each package of the module (short name: "internal/x")
// to its direct internal imports.
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "posthorn/...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	g := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "posthorn/") {
			continue
		}
		pkg := strings.TrimPrefix(f[0], "posthorn/")
		g[pkg] = []string{}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "posthorn/") {
				g[pkg] = append(g[pkg], strings.TrimPrefix(imp, "posthorn/"))
			}
		}
	}
	return g
}

// reach returns every internal package pkg depends on, directly or not.
func reach(g map[string][]string, pkg string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, d := range g[p] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(pkg)
	return seen
}

// violations applies the rules to a graph and returns what breaks them.
func violations(g map[string][]string) []string {
	var bad []string
	in := func(list []string, pkg string) bool {
		return slices.Contains(list, strings.TrimPrefix(pkg, "internal/"))
	}
	for pkg, imps := range g {
		for _, d := range imps {
			switch {
			case in(protocols, pkg) && strings.HasPrefix(d, "internal/store"):
				bad = append(bad, pkg+" imports "+d+": protocols talk to services, never to the store")
			case in(protocols, pkg) && in(protocols, d):
				bad = append(bad, pkg+" imports protocol package "+d)
			case in(protocols, pkg) && (d == "internal/server" || d == "internal/config"):
				bad = append(bad, pkg+" imports "+d)
			case pkg == "internal/store":
				bad = append(bad, "store imports "+d+": it must import nothing internal")
			case (pkg == "internal/store/sqlite" || pkg == "internal/store/postgres") && d != "internal/store":
				bad = append(bad, pkg+" imports "+d+": a store driver knows only the store contract")
			case d == "internal/config" && pkg != "internal/server" && pkg != "internal/servertest" && !strings.HasPrefix(pkg, "cmd/") && !strings.HasPrefix(pkg, "bench/"):
				bad = append(bad, pkg+" imports config: only server and cmd/posthorn may")
			case in(services, pkg) && (in(protocols, d) || d == "internal/server"):
				bad = append(bad, "service "+pkg+" imports "+d)
			}
			if i, j := slices.Index(services, strings.TrimPrefix(pkg, "internal/")), slices.Index(services, strings.TrimPrefix(d, "internal/")); i >= 0 && j >= 0 && j < i {
				bad = append(bad, "service "+pkg+" imports "+d+", which is above it")
			}
		}
		if in(protocols, pkg) {
			r := reach(g, pkg)
			for _, drv := range []string{"internal/store/sqlite", "internal/store/postgres"} {
				if r[drv] {
					bad = append(bad, pkg+" depends on the store driver "+drv)
				}
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, v := range violations(importGraph(t)) {
		t.Error(v)
	}
}

// TestImportRulesCatchViolations proves the rules can fail, on a graph
// with one of each kind of violation.
func TestImportRulesCatchViolations(t *testing.T) {
	g := map[string][]string{
		"internal/imapd":          {"internal/store", "internal/pop3d", "internal/mailbox"},
		"internal/pop3d":          {"internal/helper"},
		"internal/helper":         {"internal/store/sqlite"},
		"internal/store":          {"internal/message"},
		"internal/store/sqlite":   {"internal/store", "internal/account"},
		"internal/account":        {"internal/config", "internal/delivery"},
		"internal/mailbox":        {"internal/smtpd"},
		"internal/server":         {"internal/config", "internal/store"},
		"internal/store/postgres": {"internal/store"},
	}
	got := violations(g)
	for _, want := range []string{
		"internal/imapd imports internal/store: protocols talk to services, never to the store",
		"internal/imapd imports protocol package internal/pop3d",
		"internal/pop3d depends on the store driver internal/store/sqlite",
		"internal/imapd depends on the store driver internal/store/sqlite",
		"store imports internal/message: it must import nothing internal",
		"internal/store/sqlite imports internal/account: a store driver knows only the store contract",
		"internal/account imports config: only server and cmd/posthorn may",
		"service internal/account imports internal/delivery, which is above it",
		"service internal/mailbox imports internal/smtpd",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing violation %q in %q", want, got)
		}
	}
	if len(got) != 9 {
		t.Errorf("%d violations, want 9: %q", len(got), got)
	}
	// The real graph is a real graph: server reaches the store and config.
	if testing.Short() {
		return
	}
	real := importGraph(t)
	if r := reach(real, "internal/server"); !r["internal/store"] || !r["internal/config"] {
		t.Fatalf("go list graph lacks server -> store/config: %v", real["internal/server"])
	}
}
