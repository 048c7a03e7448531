package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"posthorn/internal/config"
	"posthorn/internal/mailauth"
	"posthorn/internal/server"
	"posthorn/internal/store"
)

// cmdDKIM manages a domain's DKIM keys: list, rotate (a new pair, staged
// until activated, or at once with --now), activate, remove.
func cmdDKIM(ctx context.Context, e *env, args []string) error {
	verb, rest := splitVerb(args)
	var now *bool
	extra := func(fs *flag.FlagSet) {
		now = fs.Bool("now", false, "rotate: make the new keys sign at once (their DNS records must already be published)")
	}
	return withAdminConfig(ctx, e, "dkim", rest, extra, func(a *server.Admin, cfg config.Config, args []string) error {
		switch {
		case verb == "list" && len(args) == 1:
			keys, states, err := a.DKIMKeys(ctx, args[0])
			if err != nil {
				return err
			}
			printKeys(e, keys, states)
		case verb == "rotate" && len(args) == 1:
			keys, err := a.DKIMRotate(ctx, args[0], *now)
			if err != nil {
				return err
			}
			if *now {
				fmt.Fprintf(e.stdout, "new DKIM keys of %s sign from now on:\n", keys[0].Domain)
			} else {
				fmt.Fprintf(e.stdout, "new DKIM keys of %s are staged. Publish these records, wait for DNS, then run: posthorn dkim activate %s\n", keys[0].Domain, keys[0].Domain)
			}
			return printKeyRecords(e, keys)
		case verb == "activate" && len(args) == 1:
			keys, err := a.DKIMActivate(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "DKIM keys of %s now signing:\n", keys[0].Domain)
			for _, k := range keys {
				fmt.Fprintf(e.stdout, "  %s (%s)\n", k.Selector, k.Algorithm)
			}
			fmt.Fprintln(e.stdout, "Keep the retired keys' records published for a week, then: posthorn dkim remove DOMAIN SELECTOR")
		case (verb == "remove" || verb == "del") && len(args) == 2:
			if err := a.DKIMRemove(ctx, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "removed DKIM key %s of %s; its DNS record may go\n", args[1], args[0])
		default:
			return errUsage
		}
		return nil
	})
}

func printKeys(e *env, keys []store.DKIMKey, states []mailauth.KeyState) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SELECTOR\tALGORITHM\tSTATE\tCREATED\tRECORD")
	for i, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Selector, k.Algorithm, states[i], k.CreatedAt.Format("2006-01-02 15:04"),
			mailauth.RecordName(k.Domain, k.Selector))
	}
	tw.Flush()
}

func printKeyRecords(e *env, keys []store.DKIMKey) error {
	for _, k := range keys {
		signer, _, err := mailauth.ParseKey(k.PrivateKey)
		if err != nil {
			return err
		}
		rec, err := mailauth.KeyRecord(signer)
		if err != nil {
			return err
		}
		r := mailauth.Record{Name: mailauth.RecordName(k.Domain, k.Selector), Type: "TXT", Value: rec}
		fmt.Fprintln(e.stdout, r.ZoneLine())
	}
	return nil
}
