package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"posthorn/internal/server"
	"posthorn/internal/store"
)

func cmdQueue(ctx context.Context, e *env, args []string) error {
	verb, rest := splitVerb(args)
	return withAdmin(ctx, e, "queue", rest, func(a *server.Admin, args []string) error {
		id := store.QueueID(0)
		if len(args) == 1 {
			n, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("%q is not a queue id", args[0])
			}
			id = store.QueueID(n)
		}
		switch {
		case verb == "list" && len(args) == 0:
			es, err := a.QueueEntries(ctx)
			if err != nil {
				return err
			}
			printQueue(e.stdout, es)
		case verb == "show" && id != 0:
			q, err := a.QueueEntry(ctx, id)
			if err != nil {
				return err
			}
			printEntry(e.stdout, q)
		case verb == "retry" && len(args) <= 1:
			if err := a.QueueRetry(ctx, id); err != nil {
				return err
			}
			if id == 0 {
				fmt.Fprintln(e.stdout, "every queue entry is due now")
			} else {
				fmt.Fprintf(e.stdout, "queue entry %d is due now\n", id)
			}
		case verb == "delete" && id != 0:
			if err := a.QueueDelete(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deleted queue entry %d (no notice to the sender)\n", id)
		case verb == "bounce" && id != 0:
			if err := a.QueueBounce(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "queue entry %d will be returned to its sender by the running server\n", id)
		default:
			return errUsage
		}
		return nil
	})
}

func sender(from string) string {
	if from == "" {
		return "<>"
	}
	return from
}

func printQueue(w io.Writer, es []store.QueueEntry) {
	if len(es) == 0 {
		fmt.Fprintln(w, "the queue is empty")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNEXT ATTEMPT\tTRIES\tSIZE\tFROM\tPENDING RECIPIENTS\tLAST ERROR")
	for _, q := range es {
		var pending []string
		for _, r := range q.Recipients {
			if r.Status == store.RcptPending {
				pending = append(pending, r.Address)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\n", q.ID, q.NextAttempt.Local().Format(time.DateTime), q.Attempts, q.Size,
			sender(q.From), strings.Join(pending, ","), q.LastError)
	}
	tw.Flush()
}

func printEntry(w io.Writer, q store.QueueEntry) {
	fmt.Fprintf(w, "queue id:      %d\n", q.ID)
	fmt.Fprintf(w, "destination:   %s\n", q.Domain)
	fmt.Fprintf(w, "from:          %s\n", sender(q.From))
	fmt.Fprintf(w, "size:          %d octets\n", q.Size)
	fmt.Fprintf(w, "queued:        %s\n", q.CreatedAt.Local().Format(time.DateTime))
	fmt.Fprintf(w, "next attempt:  %s\n", q.NextAttempt.Local().Format(time.DateTime))
	fmt.Fprintf(w, "attempts:      %d\n", q.Attempts)
	if q.LastError != "" {
		fmt.Fprintf(w, "last error:    %s\n", q.LastError)
	}
	if q.LeaseOwner != "" && q.LeaseUntil.After(time.Now()) {
		fmt.Fprintf(w, "in delivery by %s until %s\n", q.LeaseOwner, q.LeaseUntil.Local().Format(time.DateTime))
	}
	fmt.Fprintln(w, "recipients:")
	for _, r := range q.Recipients {
		fmt.Fprintf(w, "  %-9s %s", r.Status, r.Address)
		if r.LastReply != "" {
			fmt.Fprintf(w, "  (%s)", r.LastReply)
		}
		fmt.Fprintln(w)
	}
}
