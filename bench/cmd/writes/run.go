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

// report is what a run measured: for each round, the samples of every
// rotate row (raw and http), of every target's logout row, and of every
// target's everywhere row at each of the sizes.
type report struct {
	rows       []*row
	raw, http  [][]sample
	targets    []*target
	logout     [][]logoutSample
	everywhere [][][]everySample
	loads      []string // at the start of each round
}

// run is the whole benchmark: the tables to out, progress to log; it stops
// and removes everything it started and made before it returns.
func run(ctx context.Context, o options, out, log io.Writer) (*report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	o.sessions = slices.Sorted(slices.Values(o.sessions))
	progress := func(format string, args ...any) { fmt.Fprintf(log, "writes: "+format+"\n", args...) }
	progress("%d round(s) of %s; bounded by -budget %v", o.rounds, strings.Join(o.rows, ", "), o.budget)
	progress("building ./cmd/signoff")
	w, err := harness.NewWorkspace("signoff-writes-", o.repo)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	rep := &report{}
	if o.has("rotate") {
		most := slices.Max(o.chains)
		for _, st := range stores {
			rows, err := setUp(ctx, w, o, st, most, progress)
			if err != nil {
				return nil, err
			}
			rep.rows = append(rep.rows, rows...)
		}
	}
	if o.has("logout") || o.has("everywhere") {
		if rep.targets, err = setUpTargets(ctx, w, o, progress); err != nil {
			return nil, err
		}
	}
	for round := range o.rounds {
		rep.loads = append(rep.loads, harness.LoadAvg())
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
		if o.has("rotate") {
			rep.raw, rep.http = append(rep.raw, raws), append(rep.http, https)
		}
		if o.has("logout") {
			var ls []logoutSample
			for _, t := range rep.targets {
				var s logoutSample
				if t.skip == "" {
					if s, err = logoutOnce(ctx, t, o); err != nil {
						return nil, fmt.Errorf("round %d, logout on %s, %s mode: %w", round+1, t.store, t.mode, err)
					}
					progress("round %d: logout on %s, %s mode: %s/s, p99 %s, %s of CPU each", round+1, t.store, t.mode,
						harness.FmtRate(s.rate()), harness.FmtDur(s.lat.P99), harness.FmtDur(s.perLogout()))
				}
				ls = append(ls, s)
			}
			rep.logout = append(rep.logout, ls)
		}
		if o.has("everywhere") {
			var es [][]everySample
			for _, t := range rep.targets {
				ss := make([]everySample, len(o.sessions))
				for i, n := range o.sessions {
					if t.skip != "" {
						continue
					}
					if ss[i], err = everywhereOnce(ctx, t, n); err != nil {
						return nil, fmt.Errorf("round %d, logout everywhere on %s, %s mode, %d sessions: %w", round+1, t.store, t.mode, n, err)
					}
					progress("round %d: logout everywhere on %s, %s mode, %d sessions: HTTP %s, raw %s", round+1, t.store, t.mode, n,
						ss[i].httpString(), ss[i].rawString())
				}
				es = append(es, ss)
			}
			rep.everywhere = append(rep.everywhere, es)
		}
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
	fmt.Fprintf(out, "## Writes against the store's floor\n\n")
	fmt.Fprintf(out, "- command: `%s` (%d round(s); signoff serve --log-level %s)\n", harness.CommandLine("./cmd/writes"), o.rounds, o.logLevel)
	fmt.Fprintf(out, "- machine: %s\n- signoff: %s, %s\n", harness.Machine(), harness.GitState(root), harness.GoVersion())
	fmt.Fprintf(out, "- no figure counts PostgreSQL's own server processes.\n")
	if o.has("rotate") {
		printRotate(out, o, rep)
	}
	if o.has("logout") {
		printLogout(out, o, rep)
	}
	if o.has("everywhere") {
		printEverywhere(out, o, rep)
	}
	fmt.Fprintf(out, "\nLoad average at the start of each round: ")
	for r, l := range rep.loads {
		if r > 0 {
			fmt.Fprint(out, "; ")
		}
		fmt.Fprintf(out, "round %d: %s", r+1, l)
	}
	fmt.Fprintln(out, ".")
}

func printRotate(out io.Writer, o options, rep *report) {
	fmt.Fprintf(out, "\n### Refresh rotation: HTTP against the raw store\n\n")
	fmt.Fprintf(out, "%v warm-up + %v measured per row. Raw: RotateRefreshToken in this process, CPU from getrusage of this process; HTTP: POST /refresh (native client) to signoff serve --mode jwt, CPU of signoff serve from /proc/PID/stat.\n\n", o.warm, o.d)
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
}

func printLogout(out io.Writer, o options, rep *report) {
	fmt.Fprintf(out, "\n### Logout of one device: POST /logout\n\n")
	fmt.Fprintf(out, "%d measured logouts per row and round (after %d unmeasured), each of a session made in the store, from %d concurrent clients; session mode: the cookie; jwt mode: a native client's refresh token in the body. CPU of signoff serve from /proc/PID/stat. Old credentials of %d sessions a round refused after (/api/me 401; jwt: access token 401, /refresh 401).\n\n",
		o.logouts, max(o.logouts/10, o.clients), o.clients, checked+2)
	fmt.Fprintln(out, "| store | mode | logouts/s | p50 | p99 | serve CPU/logout |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|")
	for i, t := range rep.targets {
		if t.skip != "" {
			fmt.Fprintf(out, "| %s | %s | skipped: %s | | | |\n", t.store, t.mode, t.skip)
			continue
		}
		var rate, p50, p99, cpu []float64
		for r := range rep.logout {
			s := rep.logout[r][i]
			rate, cpu = append(rate, s.rate()), append(cpu, s.perLogout().Seconds())
			p50, p99 = append(p50, s.lat.P50.Seconds()), append(p99, s.lat.P99.Seconds())
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", t.store, t.mode, harness.FmtRate(harness.Median(rate)),
			fmtSec(harness.Median(p50)), fmtSec(harness.Median(p99)), fmtSec(harness.Median(cpu)))
	}
}

func printEverywhere(out io.Writer, o options, rep *report) {
	fmt.Fprintf(out, "\n### Logout everywhere: POST /logout/all against the user's live sessions\n\n")
	fmt.Fprintf(out, "The sessions made in the store in one transaction before each round. HTTP: the time the client waited for POST /logout/all (the caller's cookie, or access token); raw: Store.RevokeUserSessions in this process, for another user with as many sessions. Old credentials of the first, the last and up to %d random sessions refused after.\n\n", checked)
	fmt.Fprintln(out, "| store | mode | sessions | HTTP | HTTP ÷ fewest | raw RevokeUserSessions |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|")
	for i, t := range rep.targets {
		if t.skip != "" {
			fmt.Fprintf(out, "| %s | %s | | skipped: %s | | |\n", t.store, t.mode, t.skip)
			continue
		}
		var first float64
		for j, n := range o.sessions {
			var h, r []float64
			var hf, rf []string
			for _, round := range rep.everywhere {
				s := round[i][j]
				h, r = append(h, s.http.Seconds()), append(r, s.raw.Seconds())
				if s.httpFailed != "" {
					hf = append(hf, s.httpFailed)
				}
				if s.rawFailed != "" {
					rf = append(rf, s.rawFailed)
				}
			}
			hs, rs, ratio := fmtSec(harness.Median(h)), fmtSec(harness.Median(r)), "–"
			if j == 0 {
				first = harness.Median(h)
			}
			if len(hf) > 0 {
				hs = fmt.Sprintf("failed in %d of %d rounds: %s", len(hf), len(h), strings.Join(hf, ", "))
			} else if first > 0 {
				ratio = fmt.Sprintf("%.1f", harness.Median(h)/first)
			}
			if len(rf) > 0 {
				rs = fmt.Sprintf("failed in %d of %d rounds: %s", len(rf), len(r), strings.Join(rf, ", "))
			}
			fmt.Fprintf(out, "| %s | %s | %d | %s | %s | %s |\n", t.store, t.mode, n, hs, ratio, rs)
		}
	}
}

func fmtSec(s float64) string { return harness.FmtDur(time.Duration(s * float64(time.Second))) }
