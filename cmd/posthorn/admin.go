package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"posthorn/internal/server"
)

// withAdmin parses the common flags, opens the store and runs fn with the
// remaining arguments.
func withAdmin(ctx context.Context, e *env, name string, args []string, fn func(a *server.Admin, args []string) error) error {
	fs, cfgPath := flags(name, e)
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
	return fn(a, pos)
}

// splitVerb takes the verb off the front, allowing flags after it too
// ("user add --config f x@y").
func splitVerb(args []string) (string, []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", args
	}
	return args[0], args[1:]
}

func cmdDomain(ctx context.Context, e *env, args []string) error {
	verb, rest := splitVerb(args)
	return withAdmin(ctx, e, "domain", rest, func(a *server.Admin, args []string) error {
		switch {
		case verb == "add" && len(args) == 1:
			d, err := a.AddDomain(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "added domain %s\n", d)
		case verb == "list" && len(args) == 0:
			ds, err := a.Domains(ctx)
			if err != nil {
				return err
			}
			for _, d := range ds {
				fmt.Fprintln(e.stdout, d.Name)
			}
		case (verb == "del" || verb == "delete") && len(args) == 1:
			if err := a.DeleteDomain(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted domain %s\n", args[0])
		default:
			return errUsage
		}
		return nil
	})
}

func cmdUser(ctx context.Context, e *env, args []string) error {
	verb, rest := splitVerb(args)
	return withAdmin(ctx, e, "user", rest, func(a *server.Admin, args []string) error {
		switch {
		case verb == "add" && len(args) == 1:
			pw, err := readNewPassword(e)
			if err != nil {
				return err
			}
			acct, err := a.AddUser(ctx, args[0], pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "added user %s\n", acct.Address)
		case verb == "passwd" && len(args) == 1:
			if _, err := a.User(ctx, args[0]); err != nil {
				return err
			}
			pw, err := readNewPassword(e)
			if err != nil {
				return err
			}
			if err := a.SetPassword(ctx, args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "changed the password of %s\n", args[0])
		case verb == "list" && len(args) <= 1:
			domain := ""
			if len(args) == 1 {
				domain = args[0]
			}
			us, err := a.Users(ctx, domain)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			for _, u := range us {
				fmt.Fprintf(tw, "%s\tcreated %s\n", u.Address, u.CreatedAt.Format("2006-01-02"))
			}
			tw.Flush()
		case (verb == "del" || verb == "delete") && len(args) == 1:
			if err := a.DeleteUser(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted user %s and all its mail\n", args[0])
		default:
			return errUsage
		}
		return nil
	})
}

func cmdAlias(ctx context.Context, e *env, args []string) error {
	verb, rest := splitVerb(args)
	return withAdmin(ctx, e, "alias", rest, func(a *server.Admin, args []string) error {
		switch {
		case verb == "add" && len(args) >= 2:
			al, err := a.AddAlias(ctx, args[0], args[1:])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s -> %s\n", al.Address, strings.Join(al.Targets, ", "))
		case verb == "list" && len(args) <= 1:
			domain := ""
			if len(args) == 1 {
				domain = args[0]
			}
			as, err := a.Aliases(ctx, domain)
			if err != nil {
				return err
			}
			for _, al := range as {
				fmt.Fprintf(e.stdout, "%s -> %s\n", al.Address, strings.Join(al.Targets, ", "))
			}
		case (verb == "del" || verb == "delete") && len(args) == 1:
			if err := a.DeleteAlias(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted alias %s\n", args[0])
		default:
			return errUsage
		}
		return nil
	})
}
