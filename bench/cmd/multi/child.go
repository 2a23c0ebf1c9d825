package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// This program runs itself as a child process for two kinds of server that
// signoff serve has no flag for, so that every server measured runs in a
// process of its own, as signoff serve does:
//
//   - bare: net/http answering GET /x with "ok", the baseline;
//   - signoff: package server wired as signoff serve wires it (same store,
//     same bus, same logger), optionally with a bus that never reports itself
//     fresh, which makes the Manager read every credential through to the
//     store: the path an instance takes while its bus subscription is lost.
//
// A child prints "open http://ADDR/ " on stdout like signoff serve and stops
// on SIGTERM or SIGINT.

type childConfig struct {
	kind        string // bare or signoff
	store       string
	sessions    string
	mode        string
	keys        string
	readThrough bool
	logLevel    string
}

func runChild(c childConfig) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	switch c.kind {
	case "bare":
		srv := &http.Server{Handler: bareHandler()}
		go func() { <-ctx.Done(); srv.Close() }()
		fmt.Printf("open http://%s/ (Ctrl-C stops)\n", ln.Addr())
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case "signoff":
		return serveSignoff(ctx, c, ln)
	}
	return fmt.Errorf("-child %q: want bare or signoff", c.kind)
}

// bareHandler is the baseline: GET /x answers "ok", 2 bytes.
func bareHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	return mux
}

// serveSignoff opens the stores and the bus with server's own wiring
// (server.OpenBackend, as signoff serve does) and serves until ctx ends.
func serveSignoff(ctx context.Context, c childConfig, ln net.Listener) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	mode := signoff.ModeSession
	if c.mode == "jwt" {
		mode = signoff.ModeJWT
	}
	b, err := server.OpenBackend(ctx, server.Stores{Store: c.store, Sessions: c.sessions}, server.BackendOptions{Logger: log})
	if err != nil {
		return err
	}
	defer b.Close() // after the server: the bus, then the stores
	bus := b.Bus
	if c.readThrough {
		bus = staleBus{bus}
	}
	srv, err := server.New(ctx, server.Config{
		Addr: ln.Addr().String(), Mode: mode, RateLimitSet: true, KeysFile: c.keys, Logger: log,
		Backend: &server.Backend{Sessions: b.Sessions, Users: b.Users, Bus: bus},
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("open http://%s/ (Ctrl-C stops)\n", ln.Addr())
	return srv.Serve(ctx, ln)
}

// staleBus is a revocation bus that delivers and acknowledges as usual but
// never reports itself fresh: the Manager then trusts nothing in memory.
type staleBus struct{ signoff.Bus }

func (staleBus) Fresh() bool { return false }
