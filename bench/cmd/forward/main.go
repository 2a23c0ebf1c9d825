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
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

func main() {
	o := defaults()
	o.Register(flag.CommandLine, maxClients)
	flag.IntVar(&o.creds, "creds", o.creds, "distinct credentials per mode the clients share (1 to 64)")
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
	harness.Main("forward", o.budget(), func(ctx context.Context) error {
		_, err := run(ctx, o, os.Stdout, os.Stderr)
		return err
	})
}

// options are the flags.
type options struct {
	harness.RoundFlags
	creds int
	nginx string
}

func defaults() options {
	return options{RoundFlags: harness.RoundFlags{K: 32, Rounds: 3, D: 5 * time.Second, Warm: time.Second, LogLevel: "info"}, creds: 4}
}

// maxClients keeps nginx within its worker_connections (1024): through
// nginx, each client holds up to four connections at a time (its own, the
// upstream one to the app and the app's side of it, the one to /verify).
const maxClients = 128

func (o options) check() error {
	if o.creds < 1 || o.creds > 64 {
		return fmt.Errorf("-creds: want 1 to 64, got %d", o.creds)
	}
	return o.RoundFlags.Check(maxClients)
}

// budget bounds a whole run: the measurements, plus five minutes for the
// build, the sign-ins and the stops.
func (o options) budget() time.Duration {
	return 5*time.Minute + time.Duration(o.Rounds*len(targetKinds))*(o.Warm+o.D+10*time.Second)
}
