// Command signoff is the signoff auth server (signoff serve), its admin
// tool (users, sessions, migrate) and its logout checker (signoff check).
// All the work is in package cli; main wires signals.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/signoff/signoff/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Getenv, cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
