// Command relayserve is `posthorn serve` for profiling in benchmarks: the
// same server (package server) with net/http/pprof on its own loopback
// listener ($POSTHORN_PPROF, e.g. 127.0.0.1:6060). It takes the command
// line of `posthorn serve` ("serve --config FILE", the file defaulting to
// $POSTHORN_CONFIG), so a script can start either program.
//
// For diagnosis only, $POSTHORN_BENCH_DKIM=off makes every DKIM key of the
// store inactive before the server starts (nothing is signed), and
// $POSTHORN_BENCH_DKIM=ed25519 leaves only the Ed25519 keys active: the
// product has no such setting (a local domain's mail is always signed), so
// figures taken this way say what signing costs, not what Posthorn does. The product has no pprof; bench/relay.sh uses this
// program only for its PROFILE=1 round, never for the figures it reports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"posthorn/internal/config"
	"posthorn/internal/server"
	"posthorn/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relayserve:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := os.Getenv("POSTHORN_PPROF")
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("$POSTHORN_PPROF %q: want a loopback host:port", addr)
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("relayserve", flag.ContinueOnError)
	path := fs.String("config", os.Getenv("POSTHORN_CONFIG"), "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, server.Options{})
	if err != nil {
		return err
	}
	if mode := os.Getenv("POSTHORN_BENCH_DKIM"); mode != "" {
		if err := limitDKIM(ctx, srv, mode); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go http.Serve(ln, mux)
	defer ln.Close()
	return srv.Run(ctx)
}

// limitDKIM deactivates DKIM keys for a diagnostic run: all of them
// ("off"), or all but the Ed25519 ones ("ed25519").
func limitDKIM(ctx context.Context, srv *server.Server, mode string) error {
	if mode != "off" && mode != store.DKIMEd25519 {
		return fmt.Errorf("$POSTHORN_BENCH_DKIM %q: want off or ed25519", mode)
	}
	ks, ok := srv.Store.(store.KeyStore)
	if !ok {
		return errors.New("this store keeps no DKIM keys")
	}
	keys, err := ks.DKIMKeys(ctx, "")
	if err != nil {
		return err
	}
	keep := map[string][]string{}
	for _, k := range keys {
		if _, seen := keep[k.Domain]; !seen {
			keep[k.Domain] = []string{}
		}
		if k.Active && k.Algorithm == mode {
			keep[k.Domain] = append(keep[k.Domain], k.Selector)
		}
	}
	for domain, sels := range keep {
		if err := ks.SetActiveDKIMKeys(ctx, domain, sels); err != nil {
			return err
		}
	}
	return nil
}
