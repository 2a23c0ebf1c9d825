package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/signoff/signoff/bench/internal/harness"
)

// target is one row: what the load generator asks, and of whom.
type target struct {
	kind    string // "a", "b" or "c"
	mode    string // signoff's mode; "" for (a)
	label   string
	base    string   // http://127.0.0.1:PORT/
	path    string   // what is asked
	headers []string // one per credential: the lines of client i%len
	noCred  string   // the same request's lines without a credential
}

// targetKinds is the order of the rows in a round.
var targetKinds = []struct{ kind, mode string }{{"a", ""}, {"b", "session"}, {"c", "session"}, {"b", "jwt"}, {"c", "jwt"}}

// appPath is what the clients of (a) and (b) ask the app for.
const appPath = "/app/page"

// targets lists the rows in the order of a round. (a) is asked with the
// session mode's request: the app ignores the cookie, and nginx then
// parses the same bytes as in (b). (c) carries, besides the client's
// headers, those nginx's subrequest adds (harness.ForwardAuthConf's proxy_set_header).
func (r *runner) targets() []target {
	var ts []target
	for _, tk := range targetKinds {
		t := target{kind: tk.kind, mode: tk.mode, path: appPath}
		mode := tk.mode
		if mode == "" {
			mode = "session"
		}
		extra := ""
		switch tk.kind {
		case "a":
			t.label = "(a) nginx alone: proxy_pass to the app, no auth"
			t.base = "http://" + r.addr["alone"] + "/"
		case "b":
			t.label = "(b) " + mode + ": through nginx, auth_request → /verify, then the app"
			t.base = "http://" + r.addr[mode] + "/"
		case "c":
			t.label = "(c) " + mode + ": GET /verify direct, keep-alive"
			t.base = r.signoff[mode].URL
			t.path = "/verify"
			extra = "\r\nX-Original-Method: GET\r\nX-Original-URI: " + appPath +
				"\r\nX-Forwarded-Host: " + r.addr[mode] + "\r\nX-Forwarded-Proto: http"
		}
		for _, c := range r.creds[mode] {
			t.headers = append(t.headers, harness.CredLines(mode, c.Header())+extra)
		}
		t.noCred = harness.CredLines(mode, "") + extra
		ts = append(ts, t)
	}
	return ts
}

// preflight checks every target once with net/http before any load: (a)
// answers the app's body; (b) answers it with a credential and, without
// one, 302 to sign-in (session mode, a browser) or 401 (jwt mode, an API
// client): the auth subrequest is really made, and refuses; (c) answers
// 200 with X-Auth-User with one and 401 without.
func (r *runner) preflight(ctx context.Context, ts []target) error {
	get := func(t target, lines string, want int) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(t.base, "/")+t.path, nil)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range strings.Split(lines, "\r\n") {
			k, v, _ := strings.Cut(l, ":")
			req.Header.Add(k, strings.TrimSpace(v))
		}
		res, body, err := r.Client.Send(req, want)
		if err != nil {
			err = fmt.Errorf("%s: %w", t.label, err)
		}
		return res, body, err
	}
	for _, t := range ts {
		for _, h := range t.headers {
			res, body, err := get(t, h, 200)
			if err != nil {
				return err
			}
			if t.kind == "c" && res.Header.Get("X-Auth-User") == "" {
				return fmt.Errorf("%s: 200 without X-Auth-User", t.label)
			}
			if t.kind != "c" && string(body) != appBody {
				return fmt.Errorf("%s: the answer is not the app's: %.100q", t.label, body)
			}
		}
		if t.kind == "a" {
			continue
		}
		want := 401 // an API client, or /verify itself
		if t.kind == "b" && t.mode == "session" {
			want = 302 // a browser is sent to sign-in
		}
		if _, _, err := get(t, t.noCred, want); err != nil {
			return fmt.Errorf("without a credential: %w", err)
		}
	}
	return nil
}

// sample is one measurement of one target in one round.
type sample struct {
	res     harness.LoadResult
	cpu     harness.CPUUse // Server: nginx, then signoff per mode
	nginx   float64        // nginx's CPU per request, seconds
	signoff float64        // both signoff processes' CPU per request, seconds
}

// report is what a run measured: samples[round][target].
type report struct {
	targets  []target
	samples  [][]sample
	loadAvgs []string // at each round's start
	pids     struct {
		nginx   int
		workers []int // nginx's children as the rounds began
		signoff []int
	}
}

// measure runs the rounds. Any response that is not 2xx, or a connection
// error, in a measured window or its warm-up, ends the run with an error.
func (r *runner) measure(ctx context.Context, ts []target) (*report, error) {
	o := r.o
	rep := &report{targets: ts}
	pids := []int{r.nginx.PID()}
	for _, mode := range modes {
		pids = append(pids, r.signoff[mode].PID())
	}
	rep.pids.nginx, rep.pids.signoff = pids[0], pids[1:]
	rep.pids.workers = harness.Descendants(pids[0])
	if len(rep.pids.workers) == 0 { // its CPU would not be counted
		return nil, fmt.Errorf("nginx (PID %d) has no worker process that /proc shows", pids[0])
	}
	for round := range o.Rounds {
		la := harness.LoadAvg()
		rep.loadAvgs = append(rep.loadAvgs, la)
		r.progress("round %d of %d: %d measurements of %v after %v of warm-up, %d clients; load average %s", round+1, o.Rounds, len(ts), o.D, o.Warm, o.K, la)
		var row []sample
		for _, t := range ts {
			r.progress("  %s", t.label)
			res, cpu, err := harness.MeasureLoad(ctx, t.base, t.path, t.headers, o.K, o.Warm, o.D, pids...)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.label, err)
			}
			if res.Other+res.Outside.Other > 0 || res.Errs+res.Outside.Errs > 0 || res.OK == 0 {
				return nil, fmt.Errorf("%s, round %d: %d responses 2xx, %d of another status, %d connection errors (warm-up included): every response must be 2xx (a credential no longer live? nginx out of connections or ports?)\nnginx error.log:\n%s",
					t.label, round+1, res.OK+res.Outside.OK, res.Other+res.Outside.Other, res.Errs+res.Outside.Errs, r.nginx.Errors())
			}
			s := sample{res: res, cpu: cpu}
			rate := res.Rate()
			s.nginx = s.cpu.Server[0] / rate
			for _, c := range s.cpu.Server[1:] {
				s.signoff += c / rate
			}
			for _, c := range s.cpu.Server {
				if c < 0 {
					return nil, fmt.Errorf("%s: could not read a server's CPU time from /proc", t.label)
				}
			}
			row = append(row, s)
		}
		rep.samples = append(rep.samples, row)
		if err := r.alive(); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// alive fails if a server exited.
func (r *runner) alive() error {
	if err := r.nginx.Alive(); err != nil {
		return err
	}
	for _, mode := range modes {
		if err := r.signoff[mode].Alive(); err != nil {
			return err
		}
	}
	return nil
}
