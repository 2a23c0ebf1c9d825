// Command forward measures GET /verify of signoff serve as nginx's
// auth_request asks it on every request of a protected app (issue 12).
// It builds cmd/signoff, starts signoff serve twice on 127.0.0.1 (session
// mode and jwt mode, each on a SQLite file in a temporary directory),
// registers a user and signs in through the JSON API, and starts one nginx
// (one worker, access_log off, its files in the temporary directory) that
// serves:
//
//   - (a) nginx alone: proxy_pass to the app, no auth at all;
//   - (b) through nginx, one server block per mode: the documented and
//     tested server/testdata/forward-auth/nginx.conf, whose location /
//     asks /verify (auth_request) before its proxy_pass to the same app;
//   - the app: a server block of the same nginx that returns "ok\n", so
//     that (a) and (b) do the same app work and differ only by the auth
//     subrequest.
//
// Then, in rounds that interleave them (a, b session, c session, b jwt,
// c jwt), K keep-alive clients drive each for the same duration, (c)
// being GET /verify sent straight to signoff with the headers nginx's
// subrequest carries. It prints the machine, the versions and Markdown
// tables: per round the load average and the rates, and the medians over
// the rounds of requests per second and of server CPU per request, split
// between nginx (master and worker) and signoff, read from /proc. Every
// response must be 2xx: any other status or a connection error stops the
// run with an error.
//
// It stops only the processes it started, by PID, on exit and on Ctrl-C
// (twice: at once), and removes its temporary directory. No credential is
// printed.
//
//	cd bench
//	go run ./cmd/forward -d 5s -rounds 3
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

func main() {
	o := defaults()
	flag.IntVar(&o.k, "k", o.k, "concurrent keep-alive clients of every measurement (1 to 128)")
	flag.IntVar(&o.creds, "creds", o.creds, "distinct credentials per mode the clients share (1 to 64)")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "rounds of interleaved measurements; the tables give medians (1 to 20)")
	flag.DurationVar(&o.d, "d", o.d, "measured duration of each measurement (at most 1m)")
	flag.DurationVar(&o.warm, "warmup", o.warm, "unmeasured load before each measurement (at most 1m)")
	flag.StringVar(&o.logLevel, "server-log-level", o.logLevel, "--log-level of signoff serve (info, its default, writes an access-log line per request to a file)")
	flag.StringVar(&o.repo, "repo", "", "the signoff repository to build (default: the module bench replaces signoff with, ../)")
	flag.StringVar(&o.nginx, "nginx", harness.DefaultNginx, "the nginx `binary`; when it is not there, nginx on PATH")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "forward:", err)
		os.Exit(2)
	}
	nginx, err := harness.FindNginx(o.nginx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forward:", err)
		os.Exit(1)
	}
	o.nginx = nginx

	ctx, cancel, interrupted := harness.Interruptible("forward", o.budget())
	_, err = run(ctx, o, os.Stdout, os.Stderr)
	cancel()
	if interrupted() {
		fmt.Fprintln(os.Stderr, "forward: interrupted; servers stopped")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "forward:", err)
		os.Exit(1)
	}
}

// options are the flags.
type options struct {
	k, creds, rounds int
	d, warm          time.Duration
	logLevel         string
	repo             string // "": harness.RepoRoot
	nginx            string
}

func defaults() options {
	return options{k: 32, creds: 4, rounds: 3, d: 5 * time.Second, warm: time.Second, logLevel: "info"}
}

// maxClients keeps nginx within its worker_connections (1024): through
// nginx, each client holds up to four connections at a time (its own, the
// upstream one to the app and the app's side of it, the one to /verify).
const maxClients = 128

func (o options) check() error {
	switch {
	case o.k < 1 || o.k > maxClients:
		return fmt.Errorf("-k: want 1 to %d, got %d", maxClients, o.k)
	case o.creds < 1 || o.creds > 64:
		return fmt.Errorf("-creds: want 1 to 64, got %d", o.creds)
	case o.rounds < 1 || o.rounds > 20:
		return fmt.Errorf("-rounds: want 1 to 20, got %d", o.rounds)
	case o.d <= 0 || o.d > harness.MaxDuration || o.warm < 0 || o.warm > harness.MaxDuration:
		return fmt.Errorf("-d and -warmup: want more than 0 (-d) and at most %v", harness.MaxDuration)
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("-server-log-level: want debug, info, warn or error, got %q", o.logLevel)
	}
	return nil
}

// budget bounds a whole run: the measurements, plus five minutes for the
// build, the sign-ins and the stops.
func (o options) budget() time.Duration {
	return 5*time.Minute + time.Duration(o.rounds*len(targetKinds))*(o.warm+o.d+10*time.Second)
}
