package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/signoff/signoff/bench/internal/floor"
	"github.com/signoff/signoff/bench/internal/harness"
)

// summary is a row's medians over the rounds.
type summary struct {
	rate     float64   // req/s
	cpu      float64   // CPU seconds per request, all the row's processes
	min, max float64   // the least and the most of cpu over the rounds
	split    []float64 // the same per process
	ok       int64     // 2xx responses in all rounds, warm-ups included
}

// summary returns row i's medians; ok is false for a skipped row.
func (rep *report) summary(i int) (s summary, ok bool) {
	var rate, cpu []float64
	var split [][]float64
	if len(rep.samples) == 0 {
		return s, false
	}
	for _, ss := range rep.samples {
		x := ss[i]
		if x == nil {
			return s, false
		}
		sp, total := x.perReq()
		rate, cpu = append(rate, x.rate()), append(cpu, total)
		for j, v := range sp {
			if j >= len(split) {
				split = append(split, nil)
			}
			split[j] = append(split[j], v)
		}
		s.ok += x.res.OK + x.res.Outside.OK
	}
	s.rate, s.cpu = harness.Median(rate), harness.Median(cpu)
	s.min, s.max = slices.Min(cpu), slices.Max(cpu)
	for _, vs := range split {
		s.split = append(s.split, harness.Median(vs))
	}
	return s, true
}

// roundRatio returns the median over the rounds of v of row i over v of
// row j in the same round: rows a few seconds apart, so that a machine
// slower in one round than in another moves both sides of each ratio. ok
// is false when either row is missing or skipped.
func (rep *report) roundRatio(i, j int, v func(*sample) float64) (r float64, ok bool) {
	if i < 0 || j < 0 || len(rep.samples) == 0 {
		return 0, false
	}
	var rs []float64
	for _, ss := range rep.samples {
		if ss[i] == nil || ss[j] == nil {
			return 0, false
		}
		rs = append(rs, v(ss[i])/v(ss[j]))
	}
	return harness.Median(rs), true
}

func sampleRate(x *sample) float64 { return x.rate() }

func sampleCPU(x *sample) float64 {
	_, total := x.perReq()
	return total
}

// find returns the index of the row id, or -1.
func (rep *report) find(id string) int {
	for i, x := range rep.rows {
		if x.id == id {
			return i
		}
	}
	return -1
}

// micro prints CPU seconds per request in µs, three significant figures.

func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }

// redactedHeaders are those whose values are not printed: they carry the
// user or the session.
func redacted(name string) bool {
	return strings.HasPrefix(name, "X-Auth-") || name == "Set-Cookie" || name == "Authorization"
}

// describe prints a recorded answer: its status, header and body sizes and
// its headers, with the values of those that name the user or the session
// replaced by their length.
func describe(res floor.Response) string {
	var hs []string
	size := len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n") // net/http adds it
	for _, k := range res.Names() {
		for _, v := range res.Header[k] {
			size += len(k) + len(v) + 4
			if redacted(k) {
				v = fmt.Sprintf("(%d bytes)", len(v))
			}
			hs = append(hs, "`"+k+": "+v+"`")
		}
	}
	return fmt.Sprintf("%d, %d header lines + Date (%d bytes), body %d bytes: %s",
		res.Status, len(hs), size, len(res.Body), strings.Join(hs, ", "))
}

func (r *runner) print(rep *report) {
	o, w := r.o, r.out
	fmt.Fprintf(w, "## End to end: one run, every row\n\n")
	fmt.Fprintf(w, "- machine: %s\n", harness.Machine())
	fmt.Fprintf(w, "- Go: %s (builds signoff serve, the small servers and this program)\n", harness.GoVersion())
	fmt.Fprintf(w, "- signoff: %s: `%s` and `%s` (its key file created beside the database), on SQLite in a temporary directory\n",
		harness.GitState(r.Root), harness.ServeCommand("session", o.LogLevel), harness.ServeCommand("jwt", o.LogLevel))
	if r.nginx != nil {
		fmt.Fprintf(w, "- nginx: %s, `worker_processes 1`, `access_log off`; auth_request through the `location = /_signoff/verify` of `%s` as it is\n",
			harness.NginxVersion(r.nginx.Cmd.Path), harness.ForwardAuthConf)
	} else {
		fmt.Fprintf(w, "- nginx: rows skipped: %s\n", r.nginxWhy)
	}
	if r.redisWhy == "" {
		fmt.Fprintf(w, "- Redis: %s at %s; its CPU (PID %d) counts in the scs (redisstore) row; scs's redigo pool has MaxIdle %d (the README's 10 would close and redial connections under %d clients)\n",
			r.redisVer, o.redis, r.redisPID, o.K, o.K)
	} else {
		fmt.Fprintf(w, "- Redis: row skipped: %s\n", r.redisWhy)
	}
	fmt.Fprintf(w, "- load: %d keep-alive clients over loopback, one credential per server; each row %v measured after %v of warm-up; %d round(s), every round the rows in the order of the table; medians of the rounds\n",
		o.K, o.D, o.Warm, o.Rounds)
	fmt.Fprintf(w, "- server CPU per request: user+system time of the row's processes and their children (/proc/PID/stat) over the measured window, divided by its responses\n")
	fmt.Fprintf(w, "- command: `%s`\n\n", harness.CommandLine("./cmd/e2e"))

	fmt.Fprintf(w, "What each row answered before the load (net/http and nginx add a fresh Date; a same-response floor answers what the signoff row above it answered):\n\n")
	for _, x := range rep.rows {
		if x.skip == "" && !strings.HasPrefix(x.id, "floor ") {
			fmt.Fprintf(w, "- %s: %s\n", x.label, describe(x.answer))
		}
	}
	fmt.Fprintln(w)

	// Per round.
	fmt.Fprint(w, "| req/s, server CPU per request (µs) |")
	for i, la := range rep.loadAvgs {
		fmt.Fprintf(w, " round %d (load average %s) |", i+1, la)
	}
	fmt.Fprint(w, "\n|---|")
	for range rep.loadAvgs {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w)
	for i, x := range rep.rows {
		if x.skip != "" {
			continue
		}
		fmt.Fprintf(w, "| %s |", x.label)
		for _, ss := range rep.samples {
			_, total := ss[i].perReq()
			fmt.Fprintf(w, " %s, %s |", harness.FmtRate(ss[i].rate()), harness.Micro(total))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	// Medians.
	bare, _ := rep.summary(rep.find("hello"))
	fmt.Fprintf(w, "| median of %d round(s), %d clients | req/s | × bare hello | × bare hello, the rounds' own, median | server CPU per request (µs) | its range over the rounds | × bare hello CPU | × same-response floor (CPU) | × floor, the rounds' own, median | CPU counted | responses (all 2xx) |\n", o.Rounds, o.K)
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")
	hello := rep.find("hello")
	var splits []string
	for i, x := range rep.rows {
		s, ok := rep.summary(i)
		if !ok {
			fmt.Fprintf(w, "| %s | skipped: %s | | | | | | | | | |\n", x.label, x.skip)
			continue
		}
		fl, flRound := "", ""
		if x.floorOf != "" {
			f := rep.find(x.floorOf)
			if fs, ok := rep.summary(f); ok {
				fl = ratio(s.cpu / fs.cpu)
			}
			if r, ok := rep.roundRatio(i, f, sampleCPU); ok {
				flRound = ratio(r)
			}
		}
		helloRound := ""
		if r, ok := rep.roundRatio(i, hello, sampleRate); ok {
			helloRound = ratio(r)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s–%s | %s | %s | %s | %s | %d |\n", x.label, harness.FmtRate(s.rate), ratio(s.rate/bare.rate), helloRound,
			harness.Micro(s.cpu), harness.Micro(s.min), harness.Micro(s.max), ratio(s.cpu/bare.cpu), fl, flRound, strings.Join(x.procs, " + "), s.ok)
		if len(x.procs) > 1 {
			var parts []string
			for j, p := range x.procs {
				parts = append(parts, p+" "+harness.Micro(s.split[j])+" µs")
			}
			splits = append(splits, fmt.Sprintf("- %s: %s per request", x.label, strings.Join(parts, ", ")))
		}
	}
	fmt.Fprintln(w)
	for _, s := range splits {
		fmt.Fprintln(w, s)
	}
	if len(splits) > 0 {
		fmt.Fprintln(w)
	}
}
