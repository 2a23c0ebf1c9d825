// Command servers is the small servers that bench/cmd/e2e measures beside
// signoff serve, one role per process so that each one's CPU time is its
// own:
//
//   - hello: bare net/http, every request answered "ok";
//   - floor: net/http answering each path of a spec file with the status,
//     headers and body recorded there (the same-response floor: what
//     signoff's /verify and /api/me send, replayed); net/http adds a fresh
//     Date. Its listener has signoff serve's timeouts and header limit
//     (server.Limit), which cost net/http a timer update per deadline on
//     every request: the floor is the same answer from a server as safe;
//   - scs: alexedwards/scs/v2 as its README uses it, LoadAndSave around a
//     ServeMux, with its default memstore or (-redis ADDR) its redisstore;
//   - gorilla: gorilla/sessions' CookieStore as its README uses it.
//
// scs and gorilla have POST /login (JSON {"email","password"}, the bench
// account), which renews the session and puts the user ID in it, and
// GET /me, which reads the user ID from the session and answers it, or 401
// when there is none.
//
// Each listens on 127.0.0.1 on a port of its own choosing, prints
// "open http://127.0.0.1:PORT/ " on stdout, as signoff serve does, and
// stops on SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/signoff/signoff/bench/internal/floor"
	"github.com/signoff/signoff/server"
)

func main() {
	role := flag.String("role", "", "hello, floor, scs or gorilla")
	spec := flag.String("spec", "", "floor: the JSON file of the responses to replay")
	redisAddr := flag.String("redis", "", "scs: keep sessions in the Redis at this host:port (redisstore) instead of the memstore")
	prefix := flag.String("redis-prefix", "scs:session:", "scs with -redis: the key prefix (its sessions are deleted on exit)")
	pool := flag.Int("redis-idle", 10, "scs with -redis: the pool's MaxIdle (the README's is 10)")
	flag.Parse()
	if err := run(*role, *spec, *redisAddr, *prefix, *pool); err != nil {
		fmt.Fprintln(os.Stderr, "servers:", err)
		os.Exit(1)
	}
}

func run(role, spec, redisAddr, prefix string, idle int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var h http.Handler
	done := func() {}
	switch role {
	case "hello":
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	case "floor":
		s, err := floor.ReadFile(spec)
		if err != nil {
			return err
		}
		h = s.Handler()
	case "scs":
		s := newSCS(redisAddr, prefix, idle)
		h, done = s.handler(), s.close
	case "gorilla":
		h = newGorilla().handler()
	default:
		return fmt.Errorf("-role %q: want hello, floor, scs or gorilla", role)
	}
	defer done()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	if role == "floor" {
		server.Limit(srv)
	}
	go func() { <-ctx.Done(); srv.Close() }()
	fmt.Printf("open http://%s/ (Ctrl-C stops)\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
