package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strings"
	"text/tabwriter"

	"posthorn/internal/config"
	"posthorn/internal/mailauth"
	"posthorn/internal/server"
)

// withAdminConfig is withAdmin for commands that also need the
// configuration (the host name, the listeners) and flags of their own:
// extra adds them to the FlagSet before parsing.
func withAdminConfig(ctx context.Context, e *env, name string, args []string, extra func(*flag.FlagSet),
	fn func(a *server.Admin, cfg config.Config, args []string) error) error {
	fs, cfgPath := flags(name, e)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	a, err := server.OpenAdmin(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a, cfg, pos)
}

// cmdDNS prints the DNS records a local domain needs (`dns DOMAIN`), or
// compares them with what DNS returns (`dns check DOMAIN`).
func cmdDNS(ctx context.Context, e *env, args []string) error {
	check := len(args) > 0 && args[0] == "check"
	if check {
		args = args[1:]
	}
	var resolverAddr *string
	extra := func(fs *flag.FlagSet) {
		resolverAddr = fs.String("resolver", "", "ask this name server (host[:port]) instead of the system's (dns check)")
	}
	return withAdminConfig(ctx, e, "dns", args, extra, func(a *server.Admin, cfg config.Config, args []string) error {
		if len(args) != 1 || (*resolverAddr != "" && !check) {
			return errUsage
		}
		if !check {
			recs, err := a.DNSRecords(ctx, cfg, args[0])
			if err != nil {
				return err
			}
			printRecords(e, args[0], cfg.Hostname, recs)
			return nil
		}
		fs, err := a.DNSCheck(ctx, cfg, args[0], resolverFor(*resolverAddr))
		if err != nil {
			return err
		}
		return printFindings(e, fs)
	})
}

func printRecords(e *env, domain, host string, recs []mailauth.Record) {
	fmt.Fprintf(e.stdout, "; DNS records for %s, served by %s.\n", strings.ToLower(domain), host)
	fmt.Fprintf(e.stdout, "; Publish them in the domain's zone, then run: posthorn dns check %s\n", strings.ToLower(domain))
	for _, r := range recs {
		fmt.Fprintf(e.stdout, "\n; %s\n%s\n", r.Purpose, r.ZoneLine())
	}
}

// printFindings writes one line per record and fails when any needs work.
func printFindings(e *env, fs []mailauth.Finding) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	problems := 0
	for _, f := range fs {
		status := string(f.Status)
		if f.Record.Optional && f.Status == mailauth.StatusMissing {
			status = "ok (absent)"
		}
		note := f.Detail
		if f.Problem() {
			problems++
			if f.Status == mailauth.StatusMissing {
				note = "publish: " + f.Record.ZoneLine()
			} else if len(f.Found) > 0 {
				note = strings.TrimSpace(note + " (found: " + strings.Join(f.Found, " | ") + ")")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", status, f.Record.Type, f.Record.Name, note)
	}
	tw.Flush()
	if problems > 0 {
		return fmt.Errorf("%d of %d records need attention", problems, len(fs))
	}
	fmt.Fprintln(e.stdout, "all records are in place")
	return nil
}

// resolverFor returns the system resolver, or one that asks only addr.
func resolverFor(addr string) mailauth.RecordResolver {
	if addr == "" {
		return net.DefaultResolver
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}
