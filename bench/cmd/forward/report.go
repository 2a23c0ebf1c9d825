package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

// summary is a target's medians over the rounds.
type summary struct {
	rate, nginx, signoff, total float64 // req/s; CPU seconds per request
	self, machine               float64 // load generator's cores; busy fraction
	ok                          int64   // 2xx responses in all rounds, warm-ups included
}

func (rep *report) summary(i int) summary {
	var rate, nginx, signoff, total, self, machine []float64
	var s summary
	for _, row := range rep.samples {
		x := row[i]
		rate = append(rate, x.res.Rate())
		nginx = append(nginx, x.nginx)
		signoff = append(signoff, x.signoff)
		total = append(total, x.nginx+x.signoff)
		self = append(self, x.cpu.Self)
		machine = append(machine, x.cpu.Machine)
		s.ok += x.res.OK + x.res.Outside.OK
	}
	s.rate, s.nginx, s.signoff, s.total = harness.Median(rate), harness.Median(nginx), harness.Median(signoff), harness.Median(total)
	s.self, s.machine = harness.Median(self), harness.Median(machine)
	return s
}

// find returns the index of the target of kind and mode.
func (rep *report) find(kind, mode string) int {
	for i, t := range rep.targets {
		if t.kind == kind && t.mode == mode {
			return i
		}
	}
	return -1
}

func perReq(sec float64) string { return harness.FmtDur(time.Duration(sec * float64(time.Second))) }

func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }

func (r *runner) print(rep *report) {
	o, w := r.o, r.out
	fmt.Fprintf(w, "## Forward-auth: GET /verify through nginx\n\n")
	fmt.Fprintf(w, "- machine: %s\n", harness.Machine())
	fmt.Fprintf(w, "- Go: %s (builds signoff serve and this program)\n", harness.GoVersion())
	fmt.Fprintf(w, "- signoff: %s: `%s`, and `%s` (its key file created beside the database)\n",
		harness.GitState(r.Root), harness.ServeCommand("session", o.LogLevel), harness.ServeCommand("jwt", o.LogLevel))
	fmt.Fprintf(w, "- nginx: %s, one process for everything: `worker_processes 1`, `access_log off`; (b) is `%s` as tested, once per mode; the app is a server block of the same nginx answering `return 200 \"ok\\n\"`, reached by `proxy_pass` from (a) and (b)\n",
		harness.NginxVersion(o.nginx), harness.ForwardAuthConf)
	fmt.Fprintf(w, "- load: %d keep-alive clients over loopback, %d credentials per mode, GET %s (or /verify); each measurement %v after %v of warm-up; rounds: %d, each in the order of the rows; medians of the rounds\n",
		o.K, o.creds, appPath, o.D, o.Warm, o.Rounds)
	fmt.Fprintf(w, "- command: `%s`\n\n", harness.CommandLine("./cmd/forward"))

	// Per round: the load average, the rates and the server CPU per request.
	fmt.Fprint(w, "| round | load average at its start |")
	for _, t := range rep.targets {
		name := t.mode
		if t.kind == "a" {
			name = "nginx alone"
		}
		fmt.Fprintf(w, " (%s) %s: req/s, server CPU per request |", t.kind, name)
	}
	fmt.Fprint(w, "\n|--:|---|")
	for range rep.targets {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w)
	for i, row := range rep.samples {
		fmt.Fprintf(w, "| %d | %s |", i+1, rep.loadAvgs[i])
		for _, s := range row {
			fmt.Fprintf(w, " %s, %s |", harness.FmtRate(s.res.Rate()), perReq(s.nginx+s.signoff))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	// Medians.
	a := rep.summary(rep.find("a", ""))
	fmt.Fprintf(w, "| GET from %d keep-alive clients, median of %d round(s) | req/s | × (a) | server CPU per request: nginx | signoff | nginx + signoff | × (a) | CPU: load generator | machine busy | responses (all 2xx), warm-ups included |\n", o.K, o.Rounds)
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for i, t := range rep.targets {
		s := rep.summary(i)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.2f cores | %.0f%% | %d |\n", t.label, harness.FmtRate(s.rate), ratio(s.rate/a.rate),
			perReq(s.nginx), perReq(s.signoff), perReq(s.total), ratio(s.total/a.total), s.self, 100*s.machine, s.ok)
	}
	fmt.Fprintln(w)

	// The ratios, per mode.
	for _, mode := range modes {
		b, c := rep.summary(rep.find("b", mode)), rep.summary(rep.find("c", mode))
		fmt.Fprintf(w, "- %s mode: through nginx (b) serves %s the requests per second of nginx alone (a) (%s against %s req/s). Server CPU per request: (b) %s against (a) %s (%s): the auth subrequest adds %s in nginx and %s in signoff. /verify direct (c): %s of signoff per request, %s req/s.\n",
			mode, ratio(b.rate/a.rate), harness.FmtRate(b.rate), harness.FmtRate(a.rate),
			perReq(b.total), perReq(a.total), ratio(b.total/a.total),
			signedPerReq(b.nginx-a.nginx), signedPerReq(b.signoff-a.signoff),
			perReq(c.signoff), harness.FmtRate(c.rate))
	}
}

// signedPerReq is perReq with a sign.
func signedPerReq(sec float64) string {
	if sec < 0 {
		return "−" + perReq(-sec)
	}
	return "+" + perReq(sec)
}
