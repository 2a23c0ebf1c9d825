// Command e2e measures, in one run, the requests per second and the server
// CPU per request of every row of issue 15's end-to-end table, each server
// in a process of its own on 127.0.0.1:
//
//   - bare net/http hello, the baseline of the ratios;
//   - signoff serve (built from the repository, SQLite in a temporary
//     directory) in session and in jwt mode: GET /healthz, /verify (with
//     the headers nginx's auth_request adds) and /api/me, with a credential
//     from a real sign-in;
//   - the same-response floor of /verify and /api/me in each mode: bare
//     net/http answering the status, headers (but Date) and body that
//     signoff answered those requests with at the start of the run;
//   - nginx (worker_processes 1, access_log off): a static file, and the
//     same file behind auth_request to signoff's /verify, its location
//     taken from the documented server/testdata/forward-auth/nginx.conf;
//   - scs with its memstore and with its redisstore, and gorilla/sessions'
//     CookieStore, as their READMEs use them (cmd/e2e/servers): a real
//     sign-in, then GET /me, which reads the user from the session.
//
// Rounds interleave the rows (each row once per round, in the same order);
// every row is measured for -d after -warmup from -k keep-alive clients.
// The server CPU per request is the CPU time of the row's processes (with
// their children: nginx's worker; both nginx and signoff for auth_request;
// scs and redis-server for scs on Redis) read from /proc/PID/stat at the
// edges of the measured window, divided by the responses in it. The table
// gives medians over the rounds and the load average at each round's
// start; and, beside the ratios of those medians, the medians of each
// round's own ratios (to the hello, to the floor), whose two rows ran
// seconds apart, so that a machine slower in one round than in another
// moves both sides of each. Every response must be 2xx, or the run stops
// with an error. Before every round after the first, the run signs in to
// the jwt server again: an access token lives 5 minutes.
//
// With -together the run measures instead each signoff /verify and
// /api/me beside its same-response floor, both loaded at once over one
// window (-k/2 clients each), and each floor beside a second copy of
// itself as a control (together.go): a ratio a machine's slow spells move
// on both sides at once, which the interleaved rows cannot give to 5%.
//
// The run is bounded: it says how long it will take before it starts,
// refuses to start when that exceeds -budget, and ends at -budget whatever
// happens. It stops only the processes it started, by PID, on exit and on
// Ctrl-C (twice: at once), removes its temporary directory and the scs
// sessions it put in Redis, and prints no credential.
//
//	cd bench
//	go run ./cmd/e2e
//	go run ./cmd/e2e -together
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

func main() {
	o := defaults()
	o.Register(flag.CommandLine, maxClients)
	harness.BudgetFlag(flag.CommandLine, &o.budget)
	flag.StringVar(&o.nginx, "nginx", o.nginx, "the nginx `binary`; when it is not there, nginx on PATH; without one the nginx rows are skipped")
	flag.StringVar(&o.redis, "redis", o.redis, "the Redis of the scs (redisstore) row, 127.0.0.1:PORT; off, or no Redis answering, skips the row")
	flag.Func("rows", "measure only these rows, comma-separated ids (hello, 'session /verify', 'floor session /verify', nginx static, scs, …); hello, the baseline, always", func(v string) error {
		return o.selectRows(v)
	})
	flag.BoolVar(&o.together, "together", false, "instead of the table, measure each signoff /verify and /api/me beside its same-response floor, both loaded at once (-k/2 clients each), and each floor beside a twin of itself as a control")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	harness.Main("e2e", o.budget, func(ctx context.Context) error {
		var err error
		if o.together {
			_, err = runTogether(ctx, o, os.Stdout, os.Stderr)
		} else {
			_, err = run(ctx, o, os.Stdout, os.Stderr)
		}
		return err
	})
}

// options are the flags.
type options struct {
	harness.RoundFlags
	budget time.Duration
	nginx  string
	redis  string          // 127.0.0.1:PORT, or "off"
	only   map[string]bool // the rows of -rows; nil: every row
	// together measures each signoff row with a floor beside it, at once
	together bool
}

// selectRows sets -rows: ids separated by commas, each one of rowKinds.
func (o *options) selectRows(v string) error {
	o.only = map[string]bool{"hello": true}
	for _, id := range strings.Split(v, ",") {
		id = strings.Join(strings.Fields(id), " ")
		if !slices.Contains(rowKinds, id) {
			return fmt.Errorf("no row %q: want some of %q", id, rowKinds)
		}
		o.only[id] = true
	}
	return nil
}

// measured is how many rows a round measures.
func (o options) measured() int {
	if o.only == nil {
		return len(rowKinds)
	}
	return len(o.only)
}

func defaults() options {
	return options{RoundFlags: harness.RoundFlags{K: 64, Rounds: 3, D: 3 * time.Second, Warm: time.Second, LogLevel: "info"},
		budget: 10 * time.Minute, nginx: harness.DefaultNginx, redis: "127.0.0.1:6379"}
}

// maxClients keeps nginx within its worker_connections (1024): through
// auth_request each client holds up to three connections at a time.
const maxClients = 128

func (o options) check() error {
	if o.budget <= 0 {
		return fmt.Errorf("-budget: want more than 0, got %v", o.budget)
	}
	if o.together && o.K < 2 {
		return fmt.Errorf("-k %d with -together: want at least 2, half for each server", o.K)
	}
	return o.RoundFlags.Check(maxClients)
}

// setupTime is what a run needs besides its measurements, at most: two
// builds, the servers' starts, three argon2 sign-ins, the checks and the
// stops.
const setupTime = 2 * time.Minute

// estimate is how long a run of rows rows takes at most: the setup, and
// each measurement with its warm-up and half a second of sampling and
// connection set-up.
func (o options) estimate(rows int) time.Duration {
	return setupTime + time.Duration(o.Rounds*rows)*(o.Warm+o.D+500*time.Millisecond)
}
