package main

import (
	"context"
	"fmt"

	"posthorn/internal/server"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs, cfgPath := flags("serve", e)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 0 {
		return errUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, server.Options{Stdout: e.stdout})
	if err != nil {
		return err
	}
	if cfg.Dev {
		fmt.Fprintf(e.stdout, "Posthorn development instance: data in %s, listening on 127.0.0.1 (Ctrl-C stops it)\n", cfg.DataDir)
	}
	return srv.Run(ctx)
}
