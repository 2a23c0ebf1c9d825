// Command scale measures what the number of live sessions costs signoff
// serve (issue 15, "Flat with scale"), in one run:
//
//   - flat: GET /api/me of signoff serve --mode session on SQLite, with one
//     live session and with -sessions of them (100,000), every request
//     presenting a session drawn at random. Rounds interleave the two
//     servers; the table gives medians of requests per second and of
//     server CPU per request (/proc/PID/stat), and their ratio; and the
//     median of each round's own ratio, whose rows ran a few seconds
//     apart, so that a machine slower in one round than in another moves
//     both sides of it.
//   - the control row (-goal): one session again, with GOGC raised so
//     that the collector's heap goal is the one of -sessions, read from
//     both servers under load. A request's garbage is spread over the heap
//     goal; the row tells that cost apart from the sessions' own (marking
//     them, fetching a random one). Every row prints its heap goal.
//   - of each row's CPU, the collector's mark phase: every server runs with
//     GODEBUG=gctrace=1, and the CPU of the collections it reports during
//     the measured window, per request, is a column of its own.
//   - memory: the resident set (VmRSS) of signoff serve before and after it
//     has answered once for each of -rss sessions (10,000, 100,000 and
//     1,000,000), so that its cache holds them all, and the difference per
//     session.
//
// Sign-in is deliberately slow (argon2), so the users and their sessions
// are written into the SQLite file in bulk before the server starts
// (harness.SeedSQLite); every one of them is then asked for over HTTP and
// must answer 200, and the server's signoff_cached_sessions must count
// them. Each server runs with --cache-size large enough for all its
// sessions, as an operator would size it.
//
// The run is bounded (-budget), uses only 127.0.0.1, stops only the
// processes it started, by PID, removes its temporary directory and prints
// no cookie.
//
// With -together it measures instead the flat rows side by side: each
// server with -sessions loaded at the same time as the one with one
// session, and a second one-session server beside the first as a control
// (together.go).
//
//	cd bench
//	go run ./cmd/scale
//	go run ./cmd/scale -together
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

// options are the flags.
type options struct {
	harness.RoundFlags
	sessions int
	rss      []int
	goal     bool // the control row: one session at the heap goal of many
	together bool // the flat rows side by side, with a second one-session server as the control
	budget   time.Duration
}

func defaults() options {
	return options{RoundFlags: harness.RoundFlags{K: 64, Rounds: 3, D: 5 * time.Second, Warm: time.Second, LogLevel: "info"},
		sessions: 100_000, rss: []int{10_000, 100_000, 1_000_000}, goal: true, budget: 10 * time.Minute}
}

// maxSessions bounds -sessions and -rss.
const maxSessions = 2_000_000

// perSession bounds the time to seed one session and answer for it once,
// for the estimate.
const perSession = 200 * time.Microsecond

func (o options) estimate() time.Duration {
	n := 1 + o.sessions
	for _, r := range o.rss {
		n += r
	}
	rows := 3
	switch {
	case o.together:
		rows, n = 3, 2+2*o.sessions // three pairs; no resident-set rows
	case o.goal:
		rows, n = 4, n+1
	}
	return time.Duration(o.Rounds*rows)*(o.Warm+o.D) + 2*o.Warm + time.Duration(n)*perSession + time.Minute
}

func (o options) check() error {
	if err := o.Check(harness.MaxClients); err != nil {
		return err
	}
	switch {
	case o.sessions < 2 || o.sessions > maxSessions:
		return fmt.Errorf("-sessions: want 2 to %d, got %d", maxSessions, o.sessions)
	}
	for _, n := range o.rss {
		if n < 1 || n > maxSessions {
			return fmt.Errorf("-rss: want 1 to %d each, got %d", maxSessions, n)
		}
	}
	if o.together && o.K < 2 {
		return fmt.Errorf("-k %d with -together: want at least 2, half for each server", o.K)
	}
	if est := o.estimate(); est > o.budget {
		return fmt.Errorf("this run may take up to %v, more than -budget %v: raise -budget, or lower -rounds, -d, -sessions or -rss", est.Round(time.Second), o.budget)
	}
	return nil
}

func main() {
	o := defaults()
	o.Register(flag.CommandLine, harness.MaxClients)
	flag.IntVar(&o.sessions, "sessions", o.sessions, "live sessions of the flat test's second server")
	flag.BoolVar(&o.goal, "goal", o.goal, "also measure one session with GOGC raised to the heap goal of -sessions (the control row)")
	flag.Var(harness.IntList{P: &o.rss}, "rss", "cached sessions at which the resident set is read, comma-separated; empty: none")
	flag.BoolVar(&o.together, "together", o.together, "instead, measure each server with -sessions beside the one with one session, both loaded at once (-k/2 clients each), and a second one-session server beside the first as a control; no resident-set or -goal rows")
	harness.BudgetFlag(flag.CommandLine, &o.budget)
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	harness.Main("scale", o.budget, func(ctx context.Context) error {
		var err error
		if o.together {
			_, err = runTogether(ctx, o, os.Stdout, os.Stderr)
		} else {
			_, err = run(ctx, o, os.Stdout, os.Stderr)
		}
		return err
	})
}
