package main

import (
	"context"
	"fmt"
	"io"

	"github.com/signoff/signoff/bench/internal/harness"
)

// With -together the flat rows are measured side by side instead: each
// server with many sessions loaded at the same time as the one with one
// session, -k/2 clients each, over one window, so that a machine slower
// for a while slows both sides of the ratio alike; and a control, a
// second one-session server beside the first, which reads what the
// method gives where there is no difference.

// pairReport is what a -together run measured: samples[round][line].
type pairReport struct {
	labels   []string
	samples  [][]harness.PairSample
	loadAvgs []string
}

// runTogether is run with -together: the flat comparison only, side by
// side (no resident-set rows, no -goal row).
func runTogether(ctx context.Context, o options, out, log io.Writer) (*pairReport, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) { fmt.Fprintf(log, "scale: "+format+"\n", args...) }
	progress("building ./cmd/signoff; then 1 and %d sessions side by side, %d round(s) of 3 pairs of %v + %v each; bounded by -budget %v",
		o.sessions, o.Rounds, o.Warm, o.D, o.budget)
	w, err := harness.NewWorkspace("signoff-scale-", o.Repo)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	cacheSize := 2 * o.sessions
	vs := append(o.variants(), variant{1, true, "1 session, a second server"})
	servers := make([]*server, len(vs))
	for i, v := range vs {
		if servers[i], err = start(ctx, w, fmt.Sprintf("flat-%d-%d", i, v.n), v.n, v.quiet, cacheSize, o.LogLevel, progress); err != nil {
			return nil, err
		}
		if _, err := fill(ctx, servers[i], o.K, progress); err != nil {
			return nil, err
		}
	}
	one := servers[0]
	rep := &pairReport{}
	for i, v := range vs[1:] {
		label := v.label + " ÷ 1 session"
		if i == len(vs)-2 {
			label = "control: " + label
		}
		rep.labels = append(rep.labels, label)
	}
	for round := range o.Rounds {
		rep.loadAvgs = append(rep.loadAvgs, harness.LoadAvg())
		var ss []harness.PairSample
		for _, s := range servers[1:] {
			target := func(x *server) harness.Target {
				return harness.Target{Base: x.p.URL, Path: "/api/me", Headers: x.lines, Random: true, PIDs: []int{x.p.PID()}}
			}
			// the order of the two, swapped every round
			res, uses, err := harness.MeasurePair(ctx, target(s), target(one), round%2 == 1, o.K/2, o.Warm, o.D)
			if err != nil {
				return nil, err
			}
			var got harness.PairSample
			for j, x := range [2]*server{s, one} {
				r := res[j]
				if r.OK == 0 || r.Other+r.Errs+r.Outside.Other+r.Outside.Errs > 0 {
					return nil, fmt.Errorf("%s: %d answered 200, %d did not, %d errors: every session must stay live", x.name, r.OK, r.Other+r.Outside.Other, r.Errs+r.Outside.Errs)
				}
				if uses[j].Server[0] < 0 {
					return nil, fmt.Errorf("%s: could not read its CPU time (PID %d) from /proc", x.name, x.p.PID())
				}
				got.Rate[j], got.CPU[j] = r.Rate(), uses[j].Server[0]/r.Rate()
			}
			progress("round %d, %s beside 1 session: %s ÷ %s µs of server CPU per request", round+1, s.name, harness.Micro(got.CPU[0]), harness.Micro(got.CPU[1]))
			ss = append(ss, got)
		}
		rep.samples = append(rep.samples, ss)
	}
	fmt.Fprintf(out, "## scale, side by side: %s\n\n", harness.CommandLine("./cmd/scale"))
	fmt.Fprintf(out, "- machine: %s\n- signoff: %s\n", harness.Machine(), harness.GitState(w.Root))
	fmt.Fprintf(out, "- GET /api/me, signoff serve --mode session on SQLite, a random session per request; the two servers of a line loaded at once, %d clients each, %v measured after %v of warm-up; their order swapped each round\n\n",
		o.K/2, o.D, o.Warm)
	harness.PrintPairs(out, rep.labels, rep.loadAvgs, rep.samples)
	return rep, nil
}
