// Command writes measures refresh rotation, the write of signoff's hot
// path, against the store's own floor, in one run (issue 15, "Writes at the
// store's floor"):
//
//   - raw: signoff.Store.RotateRefreshToken called in this process on
//     sqlitestore (a temporary file) and pgstore (a schema of its own), each
//     of -chains concurrent chains rotating its own token again and again,
//     each rotation the child of the one before;
//   - http: the same chains as native clients of signoff serve --mode jwt on
//     the same kinds of store (a SQLite file; a schema of its own in
//     PostgreSQL), each a loop of POST /refresh with the last refresh token.
//
// Rounds interleave the rows; every row runs -warmup unmeasured, then -d
// measured. The table gives medians over the rounds of rotations per
// second and CPU per rotation: for http rows signoff serve's (from
// /proc/PID/stat), for raw rows this process's own (getrusage: the store
// code and its driver, without the chains' HTTP). Neither counts
// PostgreSQL's own server processes. HTTP ÷ raw is the ratio
// (target ≥ 0.50).
//
// The run is bounded (-budget), uses only 127.0.0.1 and the PostgreSQL of
// -postgres (its rows are skipped, saying why, when it does not answer),
// stops only the processes it started, by PID, drops the schemas it made,
// removes its temporary directory and prints no token.
//
//	cd bench
//	go run ./cmd/writes
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

// options are the flags.
type options struct {
	rounds   int
	d, warm  time.Duration
	chains   []int
	logLevel string
	repo     string
	postgres string // "off": no PostgreSQL rows
	budget   time.Duration
}

func defaults() options {
	return options{rounds: 3, d: 2 * time.Second, warm: 500 * time.Millisecond, chains: []int{8, 32},
		logLevel: "info", postgres: harness.PostgresURL(), budget: 5 * time.Minute}
}

// maxChains is the most concurrent chains a row may have.
const maxChains = 256

// setupTime bounds building signoff and signing every chain in.
const setupTime = 90 * time.Second

func (o options) estimate() time.Duration {
	return time.Duration(o.rounds*4*len(o.chains))*(o.warm+o.d) + setupTime
}

func (o options) check() error {
	switch {
	case o.rounds < 1 || o.rounds > 20:
		return fmt.Errorf("-rounds: want 1 to 20, got %d", o.rounds)
	case o.d <= 0 || o.d > harness.MaxDuration || o.warm < 0 || o.warm > harness.MaxDuration:
		return fmt.Errorf("-d and -warmup: want more than 0 (-d) and at most %v", harness.MaxDuration)
	case len(o.chains) == 0:
		return fmt.Errorf("-chains: want at least one")
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

// chainList is -chains: a comma-separated list.
type chainList struct{ p *[]int }

func (c chainList) String() string {
	if c.p == nil {
		return ""
	}
	s := make([]string, len(*c.p))
	for i, n := range *c.p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (c chainList) Set(v string) error {
	var ns []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("want numbers separated by commas")
		}
		ns = append(ns, n)
	}
	*c.p = ns
	return nil
}

func main() {
	o := defaults()
	flag.IntVar(&o.rounds, "rounds", o.rounds, "rounds of interleaved rows; the table gives medians (1 to 20)")
	flag.DurationVar(&o.d, "d", o.d, "measured duration of each row (at most 1m)")
	flag.DurationVar(&o.warm, "warmup", o.warm, "unmeasured rotations before each row's measurement")
	flag.Var(chainList{&o.chains}, "chains", "concurrent chains of each row, comma-separated")
	flag.StringVar(&o.logLevel, "server-log-level", o.logLevel, "--log-level of signoff serve (info, its default, writes an access-log line per request)")
	flag.StringVar(&o.repo, "repo", o.repo, "the signoff repository to build (default: the module bench replaces signoff with, ../)")
	flag.StringVar(&o.postgres, "postgres", o.postgres, "the PostgreSQL of the postgres rows (a schema of the run's own is made and dropped); off skips them (default: SIGNOFF_TEST_POSTGRES, else "+harness.DefaultPostgres+")")
	flag.DurationVar(&o.budget, "budget", o.budget, "the most the whole run may take; it refuses to start when its estimate is longer, and stops at it")
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
