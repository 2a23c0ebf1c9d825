package main

import (
	"context"
	"fmt"
	"io"

	"github.com/signoff/signoff/bench/internal/harness"
)

// With -together the run measures each signoff row that has a
// same-response floor (/verify and /api/me in both modes) side by side
// with it: both servers loaded at once, -k/2 clients each, over the same
// measured window, so that a machine slower for a while (a neighbour on
// the host, a frequency step) slows both. Each such pair is followed by a
// control measured the same way: the floor beside a second floor process
// that answers the same (its twin). The control's ratio is what the
// method reads where there is no difference; the pair's, beside it, is
// signoff's cost over its floor. Within each pair the order of the two
// servers is swapped from one round to the next.

// pair is one side-by-side measurement: a and b at once.
type pair struct {
	a, b    row
	control bool // a floor and its twin
}

// togetherSample is one round of one pair.
type togetherSample struct{ a, b sample }

// togetherReport is what a -together run measured: samples[round][pair].
type togetherReport struct {
	pairs    []pair
	samples  [][]togetherSample
	loadAvgs []string
	pids     []int
}

// startTwins starts, for each mode, a second floor process that replays
// the same recorded answers as the first.
func (r *runner) startTwins() error {
	r.twins = map[string]*harness.Proc{}
	for _, mode := range modes {
		p, err := r.startRole("floor-"+mode+"-twin", "-role", "floor", "-spec", r.floorFile(mode))
		if err != nil {
			return err
		}
		r.twins[mode] = p
	}
	return nil
}

// pairs lists the pairs of a -together round, in order: each signoff row
// with its floor, then the floor with its twin. -rows keeps the pairs of
// the signoff rows (or floors) it names.
func (r *runner) pairs() []pair {
	var ps []pair
	for _, mode := range modes {
		for _, path := range floorPaths {
			id := mode + " " + path
			x, f := r.row(id), r.row("floor "+id)
			if r.o.only != nil && !r.o.only[id] && !r.o.only[f.id] {
				continue
			}
			twin := f
			twin.label = "its twin: " + f.label
			twin.base, twin.pids, twin.procs = r.twins[mode].URL, []int{r.twins[mode].PID()}, []string{"floor (twin)"}
			ps = append(ps, pair{a: x, b: f}, pair{a: f, b: twin, control: true})
		}
	}
	return ps
}

// measureTogether runs the rounds of a -together run.
func (r *runner) measureTogether(ctx context.Context) (*togetherReport, error) {
	o := r.o
	ps := r.pairs()
	rep := &togetherReport{pairs: ps, pids: r.startedPIDs()}
	for round := range o.Rounds {
		if round > 0 {
			if err := r.renewJWT(ctx); err != nil {
				return nil, err
			}
			ps = r.pairs()
		}
		la := harness.LoadAvg()
		rep.loadAvgs = append(rep.loadAvgs, la)
		r.progress("round %d of %d; load average %s", round+1, o.Rounds, la)
		ss := make([]togetherSample, len(ps))
		for i, p := range ps {
			r.progress("  %s beside %s", p.a.label, p.b.label)
			target := func(x row) harness.Target {
				return harness.Target{Base: x.base, Path: x.path, Headers: []string{x.lines}, PIDs: x.pids}
			}
			res, cpu, err := harness.MeasurePair(ctx, target(p.a), target(p.b), round%2 == 1, o.K/2, o.Warm, o.D)
			if err != nil {
				return nil, fmt.Errorf("%s beside %s: %w", p.a.label, p.b.label, err)
			}
			var got [2]sample
			for j, x := range [2]row{p.a, p.b} {
				if err := r.checkSample(x, round, res[j], cpu[j]); err != nil {
					return nil, err
				}
				got[j] = sample{res: res[j], cpu: cpu[j]}
			}
			ss[i] = togetherSample{a: got[0], b: got[1]}
		}
		rep.samples = append(rep.samples, ss)
		if err := r.alive(); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func (r *runner) printTogether(rep *togetherReport) {
	o, w := r.o, r.out
	fmt.Fprintf(w, "## Side by side: signoff and its same-response floor loaded at once\n\n")
	fmt.Fprintf(w, "- machine: %s\n", harness.Machine())
	fmt.Fprintf(w, "- Go: %s\n", harness.GoVersion())
	fmt.Fprintf(w, "- signoff: %s: `%s` and `%s`, on SQLite in a temporary directory\n",
		harness.GitState(r.Root), harness.ServeCommand("session", o.LogLevel), harness.ServeCommand("jwt", o.LogLevel))
	fmt.Fprintf(w, "- load: the two servers of a line at once, %d keep-alive clients each over loopback, %v measured after %v of warm-up, the same window for both; %d round(s), the two servers' order swapped each round\n",
		o.K/2, o.D, o.Warm, o.Rounds)
	fmt.Fprintf(w, "- server CPU per request: user+system time of each server's process (/proc/PID/stat) over the window, divided by its responses; a control line measures the floor beside a second floor process that answers the same\n")
	fmt.Fprintf(w, "- command: `%s`\n\n", harness.CommandLine("./cmd/e2e"))

	var labels []string
	for _, p := range rep.pairs {
		labels = append(labels, pairLabel(p))
	}
	samples := make([][]harness.PairSample, len(rep.samples))
	for round, ss := range rep.samples {
		for _, s := range ss {
			samples[round] = append(samples[round], harness.PairSample{
				Rate: [2]float64{s.a.rate(), s.b.rate()}, CPU: [2]float64{sampleCPU(&s.a), sampleCPU(&s.b)}})
		}
	}
	harness.PrintPairs(w, labels, rep.loadAvgs, samples)
}

// pairLabel names a pair in the tables.
func pairLabel(p pair) string {
	if p.control {
		return "control: " + p.a.label + " ÷ its twin"
	}
	return p.a.label + " ÷ its floor"
}

// runTogether is run with -together: signoff and the floors (and their
// twins) only, no hello, nginx or library rows.
func runTogether(ctx context.Context, o options, out, log io.Writer) (*togetherReport, error) {
	r, err := newRunner(o, out, log)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for _, mode := range modes {
		if err := r.startSignoff(ctx, mode); err != nil {
			return nil, err
		}
		if err := r.startFloor(ctx, mode); err != nil {
			return nil, err
		}
	}
	if err := r.startTwins(); err != nil {
		return nil, err
	}
	var rows []row
	for _, p := range r.pairs() {
		rows = append(rows, p.a, p.b)
	}
	if err := r.preflight(ctx, rows); err != nil {
		return nil, err
	}
	rep, err := r.measureTogether(ctx)
	if err != nil {
		return nil, err
	}
	r.printTogether(rep)
	return rep, nil
}

// measuredPairs is how many side-by-side measurements a -together round
// makes: two (the pair and its control) for each signoff row with a floor
// that -rows keeps.
func (o options) measuredPairs() int {
	n := 0
	for _, mode := range modes {
		for _, path := range floorPaths {
			id := mode + " " + path
			if o.only == nil || o.only[id] || o.only["floor "+id] {
				n += 2
			}
		}
	}
	return n
}
