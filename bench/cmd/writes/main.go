// Command writes measures signoff's writes against the store's own floor,
// in one run (issue 15, "Writes at the store's floor"). Its rows, chosen
// with -rows:
//
//   - rotate: refresh rotation. raw: signoff.Store.RotateRefreshToken
//     called in this process on sqlitestore (a temporary file) and pgstore
//     (a schema of its own), each of -chains concurrent chains rotating its
//     own token again and again, each rotation the child of the one
//     before; http: the same chains as native clients of signoff serve
//     --mode jwt on the same kinds of store (a SQLite file; a schema of its
//     own in PostgreSQL), each a loop of POST /refresh with the last
//     refresh token. Every row runs -warmup unmeasured, then -d measured.
//     The table gives rotations per second and CPU per rotation: for http
//     rows signoff serve's (from /proc/PID/stat), for raw rows this
//     process's own (getrusage: the store code and its driver, without the
//     chains' HTTP). HTTP ÷ raw is the ratio (target ≥ 0.50).
//   - logout: POST /logout of one device, on signoff serve in both modes on
//     both kinds of store: -logouts sessions made in the store beforehand
//     (login's argon2 is deliberately slow), each signed out by one request
//     from one of -logout-clients concurrent clients (a cookie; in jwt mode
//     a native client's refresh token), after a tenth as many unmeasured.
//     The table gives p50 and p99 latency and signoff serve's CPU per
//     logout. A sample of the sessions is shown live before (/api/me; jwt:
//     a /refresh first, for an access token) and must be refused after: the
//     cookie or access token by /api/me, the refresh token by /refresh.
//   - everywhere: POST /logout/all of a user with each of -sessions live
//     sessions, made in the store, on the same servers; the time the
//     client waits, beside Store.RevokeUserSessions called in this process
//     for another user with as many. Both must say they revoked them all,
//     and a sample of the old credentials (the first, the last, random
//     ones) must be refused after.
//
// Rounds interleave the rows; the tables give medians over the rounds.
// None counts PostgreSQL's own server processes.
//
// The run is bounded (-budget), uses only 127.0.0.1 and the PostgreSQL of
// -postgres (its rows are skipped, saying why, when it does not answer),
// stops only the processes it started, by PID, drops the schemas it made,
// removes its temporary directory and prints no token.
//
//	cd bench
//	go run ./cmd/writes
//	go run ./cmd/writes -rows logout,everywhere
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

// options are the flags.
type options struct {
	rows     []string // of rowKinds
	rounds   int
	d, warm  time.Duration
	chains   []int
	logouts  int   // measured per logout row and round
	clients  int   // of each logout row
	sessions []int // of each everywhere row
	logLevel string
	repo     string
	postgres string // "off": no PostgreSQL rows
	budget   time.Duration
}

func defaults() options {
	return options{rows: rowKinds, rounds: 3, d: 2 * time.Second, warm: 500 * time.Millisecond, chains: []int{8, 32},
		logouts: 2000, clients: 16, sessions: []int{1, 1000, 100000},
		logLevel: "info", postgres: harness.PostgresURL(), budget: 9 * time.Minute}
}

// rowKinds are the kinds of row, in table order.
var rowKinds = []string{"rotate", "logout", "everywhere"}

func (o options) has(kind string) bool { return slices.Contains(o.rows, kind) }

// Bounds on the logout and everywhere rows.
const (
	maxLogouts  = 100_000
	maxSessions = 1_000_000
)

// maxChains is the most concurrent chains a row may have.
const maxChains = 256

// setupTime bounds building signoff and signing every chain in.
const setupTime = 90 * time.Second

// Rough costs of the logout and everywhere rows on this 2-core machine,
// generous: a logout (with the unmeasured tenth, and its session made in
// bulk), and a session of an everywhere row (made in bulk, twice, and
// revoked).
const (
	logoutCost  = 4 * time.Millisecond
	sessionCost = 60 * time.Microsecond
)

func (o options) estimate() time.Duration {
	est := setupTime
	if o.has("rotate") {
		est += time.Duration(o.rounds*4*len(o.chains)) * (o.warm + o.d)
	}
	if o.has("logout") {
		est += time.Duration(o.rounds*len(stores)*len(modes)*o.logouts) * logoutCost
	}
	if o.has("everywhere") {
		n := 0
		for _, s := range o.sessions {
			n += s
		}
		est += time.Duration(o.rounds*len(stores)*len(modes)*n) * sessionCost
	}
	return est
}

func (o options) check() error {
	switch {
	case o.rounds < 1 || o.rounds > 20:
		return fmt.Errorf("-rounds: want 1 to 20, got %d", o.rounds)
	case o.d <= 0 || o.d > harness.MaxDuration || o.warm < 0 || o.warm > harness.MaxDuration:
		return fmt.Errorf("-d and -warmup: want more than 0 (-d) and at most %v", harness.MaxDuration)
	case len(o.rows) == 0:
		return fmt.Errorf("-rows: want at least one of %s", strings.Join(rowKinds, ","))
	case len(o.chains) == 0:
		return fmt.Errorf("-chains: want at least one")
	case o.logouts < 1 || o.logouts > maxLogouts:
		return fmt.Errorf("-logouts: want 1 to %d, got %d", maxLogouts, o.logouts)
	case o.clients < 1 || o.clients > maxClients:
		return fmt.Errorf("-logout-clients: want 1 to %d, got %d", maxClients, o.clients)
	case len(o.sessions) == 0:
		return fmt.Errorf("-sessions: want at least one")
	}
	for _, k := range o.rows {
		if !slices.Contains(rowKinds, k) {
			return fmt.Errorf("-rows: want some of %s, got %q", strings.Join(rowKinds, ","), k)
		}
	}
	for _, n := range o.sessions {
		if n < 1 || n > maxSessions {
			return fmt.Errorf("-sessions: want 1 to %d each, got %d", maxSessions, n)
		}
	}
	for _, n := range o.chains {
		if n < 1 || n > maxChains {
			return fmt.Errorf("-chains: want 1 to %d each, got %d", maxChains, n)
		}
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("-server-log-level: want debug, info, warn or error, got %q", o.logLevel)
	}
	if est := o.estimate(); est > o.budget {
		return fmt.Errorf("this run may take up to %v, more than -budget %v: raise -budget, or lower -rounds, -d or -warmup", est.Round(time.Second), o.budget)
	}
	return nil
}

// wordList is a flag of comma-separated words.
type wordList struct{ p *[]string }

func (c wordList) String() string {
	if c.p == nil {
		return ""
	}
	return strings.Join(*c.p, ",")
}

func (c wordList) Set(v string) error {
	var ws []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(ws, f) {
			ws = append(ws, f)
		}
	}
	*c.p = ws
	return nil
}

func main() {
	o := defaults()
	flag.Var(wordList{&o.rows}, "rows", "the rows to measure, comma-separated: rotate (refresh rotation), logout (POST /logout), everywhere (POST /logout/all)")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "rounds of interleaved rows; the table gives medians (1 to 20)")
	flag.DurationVar(&o.d, "d", o.d, "measured duration of each rotate row (at most 1m)")
	flag.DurationVar(&o.warm, "warmup", o.warm, "unmeasured rotations before each rotate row's measurement")
	flag.Var(harness.IntList{P: &o.chains}, "chains", "concurrent chains of each rotate row, comma-separated")
	flag.IntVar(&o.logouts, "logouts", o.logouts, "measured logouts of each logout row and round, each of a session of its own")
	flag.IntVar(&o.clients, "logout-clients", o.clients, "concurrent clients of each logout row")
	flag.Var(harness.IntList{P: &o.sessions}, "sessions", "live sessions of the user of each everywhere row, comma-separated")
	flag.StringVar(&o.logLevel, "server-log-level", o.logLevel, "--log-level of signoff serve (info, its default, writes an access-log line per request)")
	flag.StringVar(&o.repo, "repo", o.repo, "the signoff repository to build (default: the module bench replaces signoff with, ../)")
	flag.StringVar(&o.postgres, "postgres", o.postgres, "the PostgreSQL of the postgres rows (a schema of the run's own is made and dropped); off skips them (default: SIGNOFF_TEST_POSTGRES, else "+harness.DefaultPostgres+")")
	harness.BudgetFlag(flag.CommandLine, &o.budget)
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "writes:", err)
		os.Exit(2)
	}
	harness.Main("writes", o.budget, func(ctx context.Context) error {
		_, err := run(ctx, o, os.Stdout, os.Stderr)
		return err
	})
}
