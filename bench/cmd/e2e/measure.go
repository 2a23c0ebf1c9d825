package main

import (
	"context"
	"fmt"

	"github.com/signoff/signoff/bench/internal/harness"
)

// sample is one measurement of one row in one round.
type sample struct {
	res harness.LoadResult
	cpu harness.CPUUse // Server: one per process of the row
}

// rate is the sample's 2xx responses per second.
func (s sample) rate() float64 { return s.res.Rate() }

// perReq is the CPU seconds per request of the row's processes, each
// (split) and together (total).
func (s sample) perReq() (split []float64, total float64) {
	rate := s.rate()
	for _, c := range s.cpu.Server {
		split = append(split, c/rate)
		total += c / rate
	}
	return split, total
}

// report is what a run measured: samples[round][row], nil for a skipped
// row.
type report struct {
	rows     []row
	samples  [][]*sample
	loadAvgs []string // at each round's start
	pids     []int    // every process the run started
}

// measure runs the rounds. A response that is not 2xx, or a connection
// error, in a measured window or its warm-up, ends the run with an error.
func (r *runner) measure(ctx context.Context, rows []row) (*report, error) {
	o := r.o
	rep := &report{rows: rows, pids: r.startedPIDs()}
	if r.nginx != nil && len(harness.Descendants(r.nginx.PID())) == 0 {
		return nil, fmt.Errorf("nginx (PID %d) has no worker process that /proc shows: its CPU would not be counted", r.nginx.PID())
	}
	for round := range o.Rounds {
		if round > 0 {
			// An access token lives 5 minutes (signoff's default), and
			// a round of every row takes more than one: jwt mode signs
			// in again, and the rows carry the new token.
			if err := r.renewJWT(ctx); err != nil {
				return nil, err
			}
			rows = r.rows()
		}
		la := harness.LoadAvg()
		rep.loadAvgs = append(rep.loadAvgs, la)
		r.progress("round %d of %d; load average %s", round+1, o.Rounds, la)
		ss := make([]*sample, len(rows))
		for i, x := range rows {
			if x.skip != "" {
				continue
			}
			r.progress("  %s", x.label)
			res, cpu, err := harness.MeasureLoad(ctx, x.base, x.path, []string{x.lines}, o.K, o.Warm, o.D, x.pids...)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", x.label, err)
			}
			if err := r.checkSample(x, round, res, cpu); err != nil {
				return nil, err
			}
			ss[i] = &sample{res: res, cpu: cpu}
		}
		rep.samples = append(rep.samples, ss)
		if err := r.alive(); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// checkSample fails unless every response of row x's measurement in
// round (warm-up included) was 2xx and the CPU time of each of its
// processes was read.
func (r *runner) checkSample(x row, round int, res harness.LoadResult, cpu harness.CPUUse) error {
	if res.Other+res.Outside.Other > 0 || res.Errs+res.Outside.Errs > 0 || res.OK == 0 {
		return fmt.Errorf("%s, round %d: %d responses 2xx, %d of another status, %d connection errors (warm-up included): every response must be 2xx%s",
			x.label, round+1, res.OK+res.Outside.OK, res.Other+res.Outside.Other, res.Errs+res.Outside.Errs, r.nginxErrors(x))
	}
	for j, c := range cpu.Server {
		if c < 0 {
			return fmt.Errorf("%s: could not read the CPU time of %s (PID %d) from /proc", x.label, x.procs[j], x.pids[j])
		}
	}
	return nil
}

// renewJWT signs in to signoff serve --mode jwt again, for a fresh access
// token: a sign-in outside every measured window.
func (r *runner) renewJWT(ctx context.Context) error {
	c, err := r.Client.Login(ctx, r.signoff["jwt"].URL, "jwt")
	if err != nil {
		return fmt.Errorf("signing in again for a fresh access token: %w", err)
	}
	r.creds["jwt"] = c
	return nil
}

// nginxErrors is the end of nginx's error log, for a row that nginx serves.
func (r *runner) nginxErrors(x row) string {
	if r.nginx == nil || x.procs[0] != "nginx" {
		return ""
	}
	return "\nnginx error.log:\n" + r.nginx.Errors()
}

// procs is every process the run started, by name.
func (r *runner) procs() map[string]*harness.Proc {
	ps := map[string]*harness.Proc{}
	if r.hello != nil {
		ps["hello"] = r.hello
	}
	for _, mode := range modes {
		ps["signoff "+mode], ps["floor "+mode] = r.signoff[mode], r.floors[mode]
		if p, ok := r.twins[mode]; ok {
			ps["twin "+mode] = p
		}
	}
	for name, p := range r.libs {
		ps[name] = p
	}
	if r.nginx != nil {
		ps["nginx"] = r.nginx.Proc
	}
	return ps
}

// alive fails if a server exited.
func (r *runner) alive() error {
	for _, p := range r.procs() {
		if err := p.Alive(); err != nil {
			return err
		}
	}
	return nil
}

// startedPIDs are the processes the run started and their children now.
func (r *runner) startedPIDs() []int {
	var pids []int
	for _, p := range r.procs() {
		pids = append(pids, p.PID())
		pids = append(pids, harness.Descendants(p.PID())...)
	}
	return pids
}
