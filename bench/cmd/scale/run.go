package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

// server is a signoff serve and the Cookie lines of its sessions.
type server struct {
	name  string
	p     *harness.Proc
	lines []string // one request's header lines per session
}

// sample is one flat row's measurement.
type sample struct {
	rate, cpu float64 // req/s; server CPU seconds per request
	ok        int64
	misses    int64   // requests the cache did not answer: the store was read
	goal      int64   // the collector's heap goal after the row (go_memstats_next_gc_bytes)
	gc        float64 // the collections' mark CPU seconds per request (gctrace)
	gcs       int     // collections in the window
	load      string
}

// footprint is what the resident set was at one count of cached sessions.
type footprint struct {
	sessions      int
	before, after int64 // VmRSS bytes: sessions in the store, then cached
	cached        int64 // signoff_cached_sessions after
}

func (f footprint) perSession() float64 { return float64(f.after-f.before) / float64(f.sessions) }

// report is what a run measured.
type report struct {
	flat   [][]sample // [round][variant]
	labels []string   // the variants'
	memory []footprint
}

// variant is a flat row: a server with n sessions, quiet or not (SeedSQLite).
type variant struct {
	n     int
	quiet bool
	label string
}

func (o options) variants() []variant {
	n := strconv.Itoa(o.sessions)
	return []variant{
		{1, true, "1 session"},
		{o.sessions, true, n + " sessions, no last-seen write due"},
		{o.sessions, false, n + " sessions, last-seen writes due at the steady rate"},
	}
}

// run is the whole benchmark: the table to out, progress to log; it stops
// and removes everything it started and made before it returns.
func run(ctx context.Context, o options, out, log io.Writer) (*report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) { fmt.Fprintf(log, "scale: "+format+"\n", args...) }
	progress("building ./cmd/signoff; then 1 and %d sessions, %d round(s) of %v + %v each; then the resident set at %v cached sessions; bounded by -budget %v",
		o.sessions, o.Rounds, o.Warm, o.D, o.rss, o.budget)
	w, err := harness.NewWorkspace("signoff-scale-", o.Repo)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	rep := &report{}
	cacheSize := slices.Max(append([]int{o.sessions}, o.rss...)) * 2

	var servers []*server
	for i, v := range o.variants() {
		s, err := start(ctx, w, fmt.Sprintf("flat-%d-%d", i, v.n), v.n, v.quiet, cacheSize, o.LogLevel, progress)
		if err != nil {
			return nil, err
		}
		if _, err := fill(ctx, s, o.K, progress); err != nil {
			return nil, err
		}
		servers = append(servers, s)
		rep.labels = append(rep.labels, v.label)
	}
	if o.goal {
		s, label, err := startGoalMatched(ctx, w, o, servers[0], servers[1], cacheSize, progress)
		if err != nil {
			return nil, err
		}
		servers = slices.Insert(servers, 1, s)
		rep.labels = slices.Insert(rep.labels, 1, label)
	}
	for round := range o.Rounds {
		ss := make([]sample, len(servers))
		for i, s := range servers {
			missed, err := metric(ctx, s.p.URL, missMetric)
			if err != nil {
				return nil, err
			}
			var offs []int64
			var logErr error
			mark := func() {
				off, err := logSize(s.p.Log)
				offs, logErr = append(offs, off), cmp.Or(logErr, err)
			}
			res, use, err := harness.MeasureLoadRandomMarked(ctx, s.p.URL, "/api/me", s.lines, o.K, o.Warm, o.D, mark, s.p.PID())
			if err = cmp.Or(err, logErr); err != nil {
				return nil, err
			}
			gc, gcs, err := gcMarkCPU(s.p.Log, offs[0], offs[1])
			if err != nil {
				return nil, err
			}
			if res.OK == 0 || res.Other+res.Errs > 0 {
				return nil, fmt.Errorf("%s: %d answered 200, %d did not, %d errors: every session must stay live", s.name, res.OK, res.Other, res.Errs)
			}
			ss[i] = sample{rate: res.Rate(), cpu: use.Server[0] / res.Rate(), ok: res.OK, load: harness.LoadAvg(),
				gc: gc.Seconds() / float64(res.OK), gcs: gcs}
			if ss[i].misses, err = metric(ctx, s.p.URL, missMetric); err != nil {
				return nil, err
			}
			ss[i].misses -= missed
			if ss[i].goal, err = metric(ctx, s.p.URL, goalMetric); err != nil {
				return nil, err
			}
			progress("round %d, %s: %s req/s, %s µs of server CPU per request, of it %s µs in %d collections' mark, %d store reads (load %s)",
				round+1, s.name, harness.FmtRate(ss[i].rate), harness.Micro(ss[i].cpu), harness.Micro(ss[i].gc), ss[i].gcs, ss[i].misses, ss[i].load)
		}
		rep.flat = append(rep.flat, ss)
	}
	for _, s := range servers {
		s.p.Stop()
	}

	for _, n := range o.rss {
		s, err := start(ctx, w, fmt.Sprintf("rss-%d", n), n, true, cacheSize, o.LogLevel, progress)
		if err != nil {
			return nil, err
		}
		f := footprint{sessions: n}
		if f.before, err = rss(s.p.PID()); err != nil {
			return nil, err
		}
		if f.cached, err = fill(ctx, s, o.K, progress); err != nil {
			return nil, err
		}
		if f.after, err = rss(s.p.PID()); err != nil {
			return nil, err
		}
		s.p.Stop()
		progress("%d cached sessions: resident set %s → %s", n, mib(f.before), mib(f.after))
		rep.memory = append(rep.memory, f)
	}
	print(out, o, w.Root, rep)
	return rep, nil
}

// goalMetric is the collector's heap goal: at GOGC=100 about twice the
// heap that was live at the last collection, and never under 4 MB.
const goalMetric = "go_memstats_next_gc_bytes"

// startGoalMatched starts the control row: a server with one session whose
// GOGC is raised so that its heap goal is that of many, the server with
// many sessions. Both are loaded first (for -warm each) so that their goals
// are those of the load. A request's garbage is spread over the heap goal
// before a collection frees it; with one session that is 4 MB, with
// 100,000 some 100 MB. The row tells that cost (garbage in memory the
// processor no longer caches) apart from what the many sessions cost by
// themselves: marking them, and fetching a random one.
func startGoalMatched(ctx context.Context, w *harness.Workspace, o options, one, many *server, cacheSize int, progress func(string, ...any)) (*server, string, error) {
	var goals [2]int64
	for i, s := range []*server{one, many} {
		if _, _, err := harness.MeasureLoadRandom(ctx, s.p.URL, "/api/me", s.lines, o.K, 0, o.Warm, s.p.PID()); err != nil {
			return nil, "", err
		}
		g, err := metric(ctx, s.p.URL, goalMetric)
		if err != nil {
			return nil, "", err
		}
		if g <= 0 {
			return nil, "", fmt.Errorf("%s: %s is %d", s.name, goalMetric, g)
		}
		goals[i] = g
	}
	gogc := max(100, int(math.Round(100*float64(goals[1])/float64(goals[0]))))
	progress("heap goals under load: %s with 1 session, %s with %d; the control row runs 1 session with GOGC=%d",
		mib(goals[0]), mib(goals[1]), o.sessions, gogc)
	s, err := startEnv(ctx, w, "goal-1", 1, true, cacheSize, o.LogLevel, []string{gctraceEnv, "GOGC=" + strconv.Itoa(gogc)}, progress)
	if err != nil {
		return nil, "", err
	}
	if _, err := fill(ctx, s, o.K, progress); err != nil {
		return nil, "", err
	}
	return s, fmt.Sprintf("1 session, GOGC=%d: the heap goal of %d sessions", gogc, o.sessions), nil
}

// start seeds the SQLite file of a server named name with n sessions,
// quiet or not (SeedSQLite), and starts signoff serve on it.
func start(ctx context.Context, w *harness.Workspace, name string, n int, quiet bool, cacheSize int, logLevel string, progress func(string, ...any)) (*server, error) {
	return startEnv(ctx, w, name, n, quiet, cacheSize, logLevel, []string{gctraceEnv}, progress)
}

// startEnv is start with env added to the server's environment.
func startEnv(ctx context.Context, w *harness.Workspace, name string, n int, quiet bool, cacheSize int, logLevel string, env []string, progress func(string, ...any)) (*server, error) {
	progress("%s: seeding %d users and sessions", name, n)
	db := filepath.Join(w.Dir, name+".db")
	cookies, err := harness.SeedSQLite(ctx, db, n, quiet)
	if err != nil {
		return nil, err
	}
	args := append(harness.ServeStoreArgs("session", "sqlite:"+db, logLevel), "--cache-size", strconv.Itoa(cacheSize))
	p, err := w.ServeEnv("signoff-"+name, env, w.Signoff, args...)
	if err != nil {
		return nil, err
	}
	s := &server{name: name, p: p, lines: make([]string, n)}
	for i, c := range cookies {
		s.lines[i] = c + "\r\nAccept: application/json"
	}
	res, _, err := harness.Fetch(ctx, p.URL, "/api/me", "Accept: application/json")
	if err != nil {
		return nil, err
	}
	if res.StatusCode != 401 {
		return nil, fmt.Errorf("%s: GET /api/me without a cookie: %d, want 401", name, res.StatusCode)
	}
	return s, nil
}

// fill asks s for every one of its sessions, so that its cache holds them
// all, checks that each answered 200, and returns how many sessions its
// metrics say it holds in memory. A server caches what it reads from the
// store only while its revocation bus is fresh; on two busy cores a poll
// can be late by more than a lease, and the sessions asked for meanwhile
// are answered from the store and not kept (a million sessions: some
// hundreds). So it asks for all of them again, up to fillPasses times in
// all, until every one is cached.
func fill(ctx context.Context, s *server, k int, progress func(string, ...any)) (int64, error) {
	t0 := time.Now()
	var cached int64
	for pass := 1; ; pass++ {
		ok, other, err := harness.Visit(ctx, s.p.URL, "/api/me", s.lines, k)
		if err != nil {
			return 0, err
		}
		if ok != int64(len(s.lines)) {
			return 0, fmt.Errorf("%s: %d of %d sessions answered 200 (%d did not)", s.name, ok, len(s.lines), other)
		}
		if cached, err = metric(ctx, s.p.URL, "signoff_cached_sessions"); err != nil {
			return 0, err
		}
		if cached >= int64(len(s.lines)) {
			break
		}
		if pass == fillPasses {
			return 0, fmt.Errorf("%s: signoff_cached_sessions is %d after all %d sessions answered %d times", s.name, cached, len(s.lines), pass)
		}
		progress("%s: %d of %d sessions cached after pass %d (the bus was not fresh for the others); asking for all again", s.name, cached, len(s.lines), pass)
	}
	progress("%s: %d sessions answered 200 in %v; %d cached", s.name, len(s.lines), time.Since(t0).Round(time.Millisecond), cached)
	return cached, nil
}

// fillPasses is how many times fill asks for every session at most.
const fillPasses = 3

// missMetric counts the requests a cache did not answer.
const missMetric = `signoff_authentications_total{cache="miss",result="ok"}`

// metric reads one series of the server at base, name with its labels as
// the exposition writes them; a series not (yet) there is 0.
func metric(ctx context.Context, base, name string) (int64, error) {
	res, body, err := harness.Fetch(ctx, base, "/metrics", "")
	if err != nil {
		return 0, err
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("GET /metrics: %d", res.StatusCode)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, nil
}

// rss is the resident set of process pid, from /proc/PID/status.
func rss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

// print writes the report as Markdown tables.
func print(out io.Writer, o options, root string, rep *report) {
	fmt.Fprintf(out, "## scale: %s\n\n", harness.CommandLine("./cmd/scale"))
	fmt.Fprintf(out, "- machine: %s\n- signoff: %s\n\n", harness.Machine(), harness.GitState(root))
	fmt.Fprintf(out, "GET /api/me, signoff serve --mode session on SQLite, a random session per request, %d clients; server CPU per request (µs) in each round, then medians:\n\n", o.K)
	fmt.Fprint(out, "| live sessions |")
	for i := range rep.flat {
		fmt.Fprintf(out, " round %d |", i+1)
	}
	fmt.Fprintln(out, " CPU/req | × 1 session | the rounds' own ratios, median | of it, GC mark | collections a second | req/s | store reads | heap goal |")
	fmt.Fprintln(out, "|---|"+strings.Repeat("--:|", len(rep.flat)+8))
	var one float64
	for v, label := range rep.labels {
		var cpus, ratios, rates, goals, gcs, gcRates []float64
		var misses int64
		fmt.Fprintf(out, "| %s |", label)
		for _, ss := range rep.flat {
			fmt.Fprintf(out, " %s |", harness.Micro(ss[v].cpu))
			cpus, rates = append(cpus, ss[v].cpu), append(rates, ss[v].rate)
			ratios = append(ratios, ss[v].cpu/ss[0].cpu)
			goals = append(goals, float64(ss[v].goal))
			gcs, gcRates = append(gcs, ss[v].gc), append(gcRates, float64(ss[v].gcs)/o.D.Seconds())
			misses += ss[v].misses
		}
		cpu := harness.Median(cpus)
		if v == 0 {
			one = cpu
		}
		fmt.Fprintf(out, " %s | **%.2f×** | %.2f× | %s | %.1f | %s | %d | %s |\n", harness.Micro(cpu), cpu/one, harness.Median(ratios), harness.Micro(harness.Median(gcs)),
			harness.Median(gcRates), harness.FmtRate(harness.Median(rates)), misses, mib(int64(harness.Median(goals))))
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, "Load average at the end of each round:")
	for i, ss := range rep.flat {
		fmt.Fprintf(out, " %d: %s;", i+1, ss[len(ss)-1].load)
	}
	fmt.Fprint(out, "\n\n")
	if len(rep.memory) == 0 {
		return
	}
	fmt.Fprintln(out, "| cached sessions | resident set, sessions in the store | after one request each | per cached session |")
	fmt.Fprintln(out, "|--:|--:|--:|--:|")
	for _, f := range rep.memory {
		fmt.Fprintf(out, "| %d | %s | %s | %.0f B |\n", f.sessions, mib(f.before), mib(f.after), f.perSession())
	}
	fmt.Fprintln(out)
}
