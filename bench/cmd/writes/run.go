package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/server"
	"github.com/signoff/signoff/store/pgstore"
	"github.com/signoff/signoff/store/sqlitestore"
)

// stores are the row's stores, in table order.
var stores = []string{"sqlite", "postgres"}

// row is one line of the table: a store at a number of chains, raw and
// over HTTP.
type row struct {
	store  string
	chains int
	skip   string // why it was not measured
	raw    rotator
	http   rotator
	pid    int // signoff serve's
}

// report is what a run measured: samples[round][row] for raw and http.
type report struct {
	rows      []*row
	raw, http [][]sample
}

// run is the whole benchmark: the table to out, progress to log; it stops
// and removes everything it started and made before it returns.
func run(ctx context.Context, o options, out, log io.Writer) (*report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) { fmt.Fprintf(log, "writes: "+format+"\n", args...) }
	progress("%d round(s) of %d rows, raw and over HTTP, each %v of warm-up and %v measured; bounded by -budget %v",
		o.rounds, len(stores)*len(o.chains), o.warm, o.d, o.budget)
	progress("building ./cmd/signoff")
	w, err := harness.NewWorkspace("signoff-writes-", o.repo)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	most := slices.Max(o.chains)
	rep := &report{}
	for _, st := range stores {
		rows, err := setUp(ctx, w, o, st, most, progress)
		if err != nil {
			return nil, err
		}
		rep.rows = append(rep.rows, rows...)
	}
	for round := range o.rounds {
		var raws, https []sample
		for _, x := range rep.rows {
			var rs, hs sample
			if x.skip == "" {
				if rs, err = drive(ctx, x.raw, x.chains, o.warm, o.d, 0); err != nil {
					return nil, fmt.Errorf("round %d, %s raw, %d chains: %w", round+1, x.store, x.chains, err)
				}
				if hs, err = drive(ctx, x.http, x.chains, o.warm, o.d, x.pid); err != nil {
					return nil, fmt.Errorf("round %d, %s over HTTP, %d chains: %w", round+1, x.store, x.chains, err)
				}
				progress("round %d: %s, %d chains: raw %s/s, HTTP %s/s", round+1, x.store, x.chains, harness.FmtRate(rs.rate()), harness.FmtRate(hs.rate()))
			}
			raws, https = append(raws, rs), append(https, hs)
		}
		rep.raw, rep.http = append(rep.raw, raws), append(rep.http, https)
	}
	print(out, o, w.Root, rep)
	return rep, nil
}

// setUp opens the raw store of kind st and starts signoff serve on another
// of the same kind, each with most chains, and returns its rows; a
// PostgreSQL that does not answer gives skipped rows.
func setUp(ctx context.Context, w *harness.Workspace, o options, st string, most int, progress func(string, ...any)) ([]*row, error) {
	rows := make([]*row, len(o.chains))
	for i, n := range o.chains {
		rows[i] = &row{store: st, chains: n}
	}
	var rawStore, serveStore string
	switch st {
	case "sqlite":
		rawStore, serveStore = filepath.Join(w.Dir, "raw.db"), "sqlite:"+filepath.Join(w.Dir, "serve.db")
	case "postgres":
		why := "-postgres off"
		if o.postgres != "off" {
			var err error
			if rawStore, err = harness.PGSchema(ctx, &w.Cleanups, o.postgres, "signoff_bench_raw_"); err == nil {
				serveStore, err = harness.PGSchema(ctx, &w.Cleanups, o.postgres, "signoff_bench_http_")
			}
			why = fmt.Sprint(err)
			if err != nil {
				why += " (set -postgres or SIGNOFF_TEST_POSTGRES to a PostgreSQL that does; Debian package postgresql)"
			}
		}
		if serveStore == "" {
			progress("skipping the postgres rows: %s", why)
			for _, x := range rows {
				x.skip = why
			}
			return rows, nil
		}
	}
	raw, err := openRaw(ctx, w, st, rawStore)
	if err != nil {
		return nil, err
	}
	rc, err := newRawChains(ctx, raw, most)
	if err != nil {
		return nil, err
	}
	progress("starting signoff serve --mode jwt on %s and signing in %d times", st, most)
	p, creds, err := w.SignedInOn(ctx, "signoff-"+st, "jwt", serveStore, o.logLevel, most)
	if err != nil {
		return nil, err
	}
	for _, x := range rows {
		x.raw = &rawChains{st: raw, tips: rc.tips[:x.chains]}
		x.http = newHTTPChains(p.URL, creds[:x.chains])
		x.pid = p.PID()
	}
	return rows, nil
}

// openRaw opens and migrates the store of kind st at where (a file, a
// postgres URL), closed at w's Close.
func openRaw(ctx context.Context, w *harness.Workspace, st, where string) (signoff.Store, error) {
	switch st {
	case "sqlite":
		s, err := sqlitestore.Open(where)
		if err != nil {
			return nil, err
		}
		w.OnClose(func() { s.Close() })
		_, err = s.Migrate(ctx)
		return s, err
	default:
		s, err := pgstore.Open(ctx, where)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", server.Redact(where), err)
		}
		w.OnClose(s.Close)
		_, err = s.Migrate(ctx)
		return s, err
	}
}

// print writes the report: medians over the rounds.
func print(out io.Writer, o options, root string, rep *report) {
	fmt.Fprintf(out, "## Refresh rotation: HTTP against the raw store\n\n")
	fmt.Fprintf(out, "- command: `%s` (%d round(s), %v warm-up + %v measured per row; signoff serve --log-level %s)\n", harness.CommandLine("./cmd/writes"), o.rounds, o.warm, o.d, o.logLevel)
	fmt.Fprintf(out, "- machine: %s\n- signoff: %s, %s\n", harness.Machine(), harness.GitState(root), harness.GoVersion())
	fmt.Fprintf(out, "- raw: RotateRefreshToken in this process, CPU from getrusage of this process; HTTP: POST /refresh (native client) to signoff serve --mode jwt, CPU of signoff serve from /proc/PID/stat. Neither counts PostgreSQL's server processes.\n\n")
	fmt.Fprintln(out, "| store | chains | raw rotations/s | raw CPU/rotation | HTTP rotations/s | serve CPU/rotation | HTTP ÷ raw |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|")
	for i, x := range rep.rows {
		if x.skip != "" {
			fmt.Fprintf(out, "| %s | %d | skipped: %s | | | | |\n", x.store, x.chains, x.skip)
			continue
		}
		var rr, hr, rc, hc []float64
		for r := range rep.raw {
			rs, hs := rep.raw[r][i], rep.http[r][i]
			rr, hr = append(rr, rs.rate()), append(hr, hs.rate())
			rc, hc = append(rc, rs.perRot().Seconds()), append(hc, hs.perRot().Seconds())
		}
		ratio := 0.0
		if m := harness.Median(rr); m > 0 {
			ratio = harness.Median(hr) / m
		}
		fmt.Fprintf(out, "| %s | %d | %s | %s | %s | %s | %.2f |\n", x.store, x.chains,
			harness.FmtRate(harness.Median(rr)), fmtSec(harness.Median(rc)),
			harness.FmtRate(harness.Median(hr)), fmtSec(harness.Median(hc)), ratio)
	}
	var loads []string
	for r := range rep.raw {
		for i, x := range rep.rows {
			if x.skip == "" {
				loads = append(loads, fmt.Sprintf("round %d: %s", r+1, rep.raw[r][i].load))
				break
			}
		}
	}
	fmt.Fprintf(out, "\nLoad average at the start of each round: %s.\n", strings.Join(loads, "; "))
}

func fmtSec(s float64) string { return harness.FmtDur(time.Duration(s * float64(time.Second))) }
