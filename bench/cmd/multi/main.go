// Command multi measures signoff serve as it is deployed when one machine is
// not enough: three instances on loopback sharing PostgreSQL (and, with
// -redis, Redis for sessions and the revocation bus). It builds cmd/signoff,
// starts the instances against a fresh schema (and a fresh Redis key
// prefix), and prints the machine, the versions and Markdown tables of:
//
//   - revocation propagation: from the moment instance A's logout response
//     arrives to the first 401 from the last of B and C, polled with the old
//     credential as fast as one client can; and how many of those replays
//     were still accepted (it must be none);
//   - POST /logout round trips with three instances and with one;
//   - GET /api/me latency for a credential's first request on an instance
//     (cache miss: one store read) and for the next (cache hit);
//   - GET /api/me requests per second from K keep-alive clients against one
//     instance with a warm cache, against the same server code with a bus
//     that is never fresh (every request reads through to the store), and
//     against a bare net/http handler.
//
// It stops only the processes it started, by PID, on exit and on Ctrl-C
// (twice: at once), drops the schemas and deletes the Redis keys it made.
//
//	cd bench
//	go run ./cmd/multi -mode session
//	go run ./cmd/multi -mode jwt -redis redis://127.0.0.1:6379/0
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/internal/apiclient"
	"github.com/signoff/signoff/server"
)

type options struct {
	pg, redis, mode string
	n, k, creds     int
	d, warm         time.Duration
	timeout         time.Duration
	logLevel        string
	repo            string
}

func main() {
	var o options
	var child childConfig
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL `URL`; a fresh schema is created in it for each set of instances and dropped at the end")
	flag.StringVar(&o.redis, "redis", "", "Redis `URL` for sessions and the revocation bus (--sessions), under a fresh key prefix deleted at the end; empty: PostgreSQL only")
	flag.StringVar(&o.mode, "mode", "session", "session or jwt")
	flag.IntVar(&o.n, "n", 200, "sessions for the propagation and logout measurements (1 to 5000)")
	flag.IntVar(&o.k, "k", 32, "concurrent keep-alive clients of the throughput runs (1 to 256)")
	flag.IntVar(&o.creds, "creds", 4, "distinct credentials the throughput clients share (1 to 64)")
	flag.DurationVar(&o.d, "d", 5*time.Second, "measured duration of each throughput run (at most 1m)")
	flag.DurationVar(&o.warm, "warmup", time.Second, "unmeasured load before each throughput run (at most 1m)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "longest wait for B and C to refuse a logged-out credential")
	flag.StringVar(&o.logLevel, "server-log-level", "info", "--log-level of the servers (info, their default, writes an access-log line per request to a file)")
	flag.StringVar(&o.repo, "repo", "", "the signoff repository to build (default: the module bench replaces signoff with, ../)")
	flag.StringVar(&child.kind, "child", "", "internal: run as a child server (bare or signoff)")
	flag.StringVar(&child.store, "child-store", "", "internal")
	flag.StringVar(&child.sessions, "child-sessions", "", "internal")
	flag.StringVar(&child.keys, "child-keys", "", "internal")
	flag.BoolVar(&child.readThrough, "child-read-through", false, "internal")
	flag.Parse()
	if child.kind != "" {
		child.mode, child.logLevel = o.mode, o.logLevel
		if err := runChild(child); err != nil {
			fmt.Fprintln(os.Stderr, "multi child:", err)
			os.Exit(1)
		}
		return
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "multi:", err)
		os.Exit(2)
	}

	ctx, cancel, interrupted := harness.Interruptible("multi", 15*time.Minute)
	h := &runner{o: o, out: os.Stdout}
	err := h.run(ctx)
	h.Close()
	cancel()
	if interrupted() {
		fmt.Fprintln(os.Stderr, "multi: interrupted; servers stopped, schemas and keys removed")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "multi:", err)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.mode != "session" && o.mode != "jwt":
		return fmt.Errorf("-mode: want session or jwt, got %q", o.mode)
	case o.n < 1 || o.n > 5000:
		return fmt.Errorf("-n: want 1 to 5000, got %d", o.n)
	case o.k < 1 || o.k > harness.MaxClients:
		return fmt.Errorf("-k: want 1 to %d, got %d", harness.MaxClients, o.k)
	case o.creds < 1 || o.creds > 64:
		return fmt.Errorf("-creds: want 1 to 64, got %d", o.creds)
	case o.d <= 0 || o.d > harness.MaxDuration || o.warm < 0 || o.warm > harness.MaxDuration:
		return fmt.Errorf("-d and -warmup: want at most %v", harness.MaxDuration)
	case o.timeout <= 0 || o.timeout > time.Minute:
		return errors.New("-timeout: want more than 0 and at most 1m")
	}
	return nil
}

// runner is one run: what it started and made, and how to undo it.
type runner struct {
	o      options
	out    io.Writer
	root   string // the signoff repository
	dir    string // binary, key files, server logs
	bin    string // signoff
	self   string // this program, for -child
	client *http.Client
	harness.Cleanups
}

const (
	email    = "bench@example.test"
	password = "correct horse battery staple"
)

func (h *runner) run(ctx context.Context) error {
	o := h.o
	var err error
	if h.dir, err = os.MkdirTemp("", "signoff-multi-"); err != nil {
		return err
	}
	h.OnClose(func() { os.RemoveAll(h.dir) })
	if h.self, err = os.Executable(); err != nil {
		return err
	}
	h.client = &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, DisableCompression: true},
	}
	h.root = o.repo
	if h.root == "" {
		if h.root, err = harness.RepoRoot(); err != nil {
			return err
		}
	}
	progress("building ./cmd/signoff in %s", h.root)
	if h.bin, err = harness.BuildSignoff(h.root, h.dir); err != nil {
		return err
	}
	if err := h.printEnv(ctx); err != nil {
		return err
	}

	progress("one instance: %d logins, %d logouts", o.n, o.n)
	single, err := h.single(ctx)
	if err != nil {
		return err
	}
	progress("three instances: %d logins, %d first and %d second requests, %d logouts with replays", o.n, 3*o.n, 3*o.n, o.n)
	m, err := h.multi(ctx)
	if err != nil {
		return err
	}
	progress("throughput: 5 runs of %v after %v of warm-up, %d clients", o.d, o.warm, o.k)
	tput, err := h.throughput(ctx, m)
	if err != nil {
		return err
	}
	h.printTables(single, m, tput)
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "multi: "+format+"\n", args...)
}

// --- environment ---

func (h *runner) printEnv(ctx context.Context) error {
	o := h.o
	model, cores := harness.CPUInfo()
	pgv, err := pgVersion(ctx, o.pg)
	if err != nil {
		return err
	}
	rv := "not used"
	if o.redis != "" {
		if rv, err = redisVersion(ctx, o.redis); err != nil {
			return err
		}
	}
	stores := "PostgreSQL: users, sessions, revocation bus (LISTEN/NOTIFY)"
	if o.redis != "" {
		stores = "PostgreSQL: users; Redis: sessions, refresh tokens, revocation bus (pub/sub)"
	}
	w := h.out
	fmt.Fprintf(w, "## signoff serve × 3: %s mode, %s\n\n", o.mode, map[bool]string{false: "PostgreSQL", true: "PostgreSQL + Redis"}[o.redis != ""])
	fmt.Fprintf(w, "- machine: %s, %d cores (GOMAXPROCS %d), Linux %s; load average at start: %s\n",
		model, cores, runtime.GOMAXPROCS(0), harness.Kernel(), harness.LoadAvg())
	fmt.Fprintf(w, "- Go: %s (builds signoff serve and this program)\n", harness.GoVersion())
	fmt.Fprintf(w, "- signoff: %s\n", harness.GitState(h.root))
	fmt.Fprintf(w, "- PostgreSQL: %s\n", pgv)
	fmt.Fprintf(w, "- Redis: %s\n", rv)
	fmt.Fprintf(w, "- mode: %s; stores: %s\n", o.mode, stores)
	fmt.Fprintf(w, "- command: `%s`\n", harness.CommandLine("./cmd/multi"))
	return nil
}

func pgVersion(ctx context.Context, u string) (string, error) {
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL %s: %w", server.Redact(u), err)
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, "SELECT version()").Scan(&v)
	return v, err
}

func redisVersion(ctx context.Context, u string) (string, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return "", errors.New("-redis: the URL does not parse")
	}
	c := redis.NewClient(opt)
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("Redis %s: INFO server: %w", server.Redact(u), err)
	}
	v, mode := "", ""
	for _, l := range strings.Split(info, "\n") {
		k, val, _ := strings.Cut(strings.TrimSpace(l), ":")
		switch k {
		case "redis_version":
			v = val
		case "redis_mode":
			mode = val
		}
	}
	return "Redis " + v + " (" + mode + ")", nil
}

// --- stores ---

func rnd(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// storeArgs creates a fresh schema (and a fresh Redis key prefix) and
// returns the signoff serve flags that use them; all of it is removed at
// close, after the servers have stopped.
func (h *runner) storeArgs(ctx context.Context, keys string) (st stores, err error) {
	name := rnd("signoff_bench_")
	conn, err := pgx.Connect(ctx, h.o.pg)
	if err != nil {
		return st, fmt.Errorf("connect to PostgreSQL %s: %w", server.Redact(h.o.pg), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return st, err
	}
	h.OnClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, h.o.pg)
		if err == nil {
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "multi: could not drop schema %s: %v\n", name, err)
		}
	})
	u, _ := url.Parse(h.o.pg)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	st.store, st.keys = u.String(), filepath.Join(h.dir, keys)
	if h.o.redis == "" {
		return st, nil
	}
	opt, err := redis.ParseURL(h.o.redis)
	if err != nil {
		return st, errors.New("-redis: the URL does not parse")
	}
	prefix := rnd("signoffbench") + ":"
	h.OnClose(func() { // the bus's keys have no TTL
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := redis.NewClient(opt)
		defer c.Close()
		it := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for it.Next(ctx) {
			c.Del(ctx, it.Val())
		}
		if err := it.Err(); err != nil {
			fmt.Fprintf(os.Stderr, "multi: could not delete Redis keys %s*: %v\n", prefix, err)
		}
	})
	ru, _ := url.Parse(h.o.redis)
	q = ru.Query()
	q.Set("prefix", prefix)
	ru.RawQuery = q.Encode()
	st.sessions = ru.String()
	return st, nil
}

// stores is where one set of instances keeps its data.
type stores struct {
	store, sessions, keys string
}

func (st stores) serveArgs(mode, logLevel string) []string {
	a := []string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "off", "--store", st.store}
	if st.sessions != "" {
		a = append(a, "--sessions", st.sessions)
	}
	a = append(a, "--mode", mode, "--keys", st.keys)
	if logLevel != "info" {
		a = append(a, "--log-level", logLevel)
	}
	return a
}

// serve starts signoff serve with st; it is stopped at close if not before.
func (h *runner) serve(name string, st stores) (*harness.Proc, error) {
	p, err := harness.StartServer(h.dir, name, h.bin, st.serveArgs(h.o.mode, h.o.logLevel)...)
	if err != nil {
		return nil, err
	}
	h.OnClose(p.Stop)
	return p, nil
}

// serveCommand is the signoff serve command line, passwords redacted.
func serveCommand(st stores, mode, logLevel string) string {
	a := st.serveArgs(mode, logLevel)
	for i := range a {
		if strings.Contains(a[i], "://") {
			a[i] = "'" + server.Redact(a[i]) + "'"
		}
	}
	return "signoff " + strings.Join(a, " ")
}

// --- HTTP ---

// reply is a response and when it came: headersAt when the status line and
// headers had arrived, doneAt when the body had been read.
type reply struct {
	status                   int
	start, headersAt, doneAt time.Time
	header                   http.Header
	body                     []byte
}

func (r reply) rtt() time.Duration { return r.doneAt.Sub(r.start) }

func (h *runner) do(ctx context.Context, method, u string, c apiclient.Cred, body string) (reply, error) {
	req, err := apiclient.NewRequest(ctx, method, u, c, body)
	if err != nil {
		return reply{}, err
	}
	start := time.Now()
	res, err := h.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	at := time.Now()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	return reply{status: res.StatusCode, start: start, headersAt: at, doneAt: time.Now(), header: res.Header, body: b}, err
}

// expect fails unless a request answers want.
func (h *runner) expect(ctx context.Context, want int, method, u string, c apiclient.Cred, body string) (reply, error) {
	r, err := h.do(ctx, method, u, c, body)
	if err != nil {
		return r, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if r.status != want {
		return r, fmt.Errorf("%s %s: %d, want %d: %.300s", method, u, r.status, want, apiclient.RedactBody(r.body))
	}
	return r, nil
}

func (h *runner) register(ctx context.Context, base string) error {
	_, err := h.expect(ctx, 202, "POST", base+"register", apiclient.Cred{}, `{"email":"`+email+`","password":"`+password+`"}`)
	return err
}

func (h *runner) login(ctx context.Context, base string) (apiclient.Cred, error) {
	r, err := h.expect(ctx, 200, "POST", base+"login", apiclient.Cred{}, apiclient.LoginBody(email, password, h.o.mode == "jwt"))
	if err != nil {
		return apiclient.Cred{}, err
	}
	c, ok := apiclient.FromLogin(r.header, r.body)
	if !ok {
		return c, fmt.Errorf("login at %s gave no credential", base)
	}
	return c, nil
}

// loginMany signs in n times, spread over bases, four at a time (each
// login costs an argon2id hash on the server). It stops at the first error.
func (h *runner) loginMany(ctx context.Context, bases []string, n int) ([]apiclient.Cred, error) {
	creds := make([]apiclient.Cred, n)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, 4)
	for i := range creds {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var err error
			if creds[i], err = h.login(ctx, bases[i%len(bases)]); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return creds, first
}

// --- one instance ---

type singleResult struct {
	logout   []time.Duration
	accepted int // replays after logout answered 200
	cmd      string
}

func (h *runner) single(ctx context.Context) (singleResult, error) {
	var res singleResult
	st, err := h.storeArgs(ctx, "keys-single.json")
	if err != nil {
		return res, err
	}
	res.cmd = serveCommand(st, h.o.mode, h.o.logLevel)
	p, err := h.serve("single", st)
	if err != nil {
		return res, err
	}
	defer p.Stop()
	if err := h.register(ctx, p.URL); err != nil {
		return res, err
	}
	creds, err := h.loginMany(ctx, []string{p.URL}, h.o.n)
	if err != nil {
		return res, err
	}
	for _, c := range creds { // in the cache, as in the three-instance run
		if _, err := h.expect(ctx, 200, "GET", p.URL+"api/me", c, ""); err != nil {
			return res, err
		}
	}
	for _, c := range creds {
		r, err := h.expect(ctx, 200, "POST", p.URL+"logout", c, c.RefreshBody())
		if err != nil {
			return res, err
		}
		res.logout = append(res.logout, r.rtt())
		r, err = h.do(ctx, "GET", p.URL+"api/me", c, "")
		if err != nil {
			return res, err
		}
		if r.status == 200 {
			res.accepted++
		}
	}
	return res, p.Alive()
}

// --- three instances ---

type multiResult struct {
	ps                []*harness.Proc
	st                stores
	cmd               string
	miss, hit         []time.Duration
	logout, propagate []time.Duration
	polls, accepted   int // replays on B and C after the logout response, and how many answered 200
	other             int // replays that answered neither 200 nor 401, or failed
	firstPoll         int // B or C pollings whose very first request answered 401
}

func (h *runner) multi(ctx context.Context) (*multiResult, error) {
	n := h.o.n
	st, err := h.storeArgs(ctx, "keys-multi.json")
	if err != nil {
		return nil, err
	}
	m := &multiResult{st: st, cmd: serveCommand(st, h.o.mode, h.o.logLevel)}
	for i := range 3 { // one at a time: the first creates the key file the others read
		p, err := h.serve(string(rune('A'+i)), st)
		if err != nil {
			return nil, err
		}
		m.ps = append(m.ps, p)
	}
	bases := []string{m.ps[0].URL, m.ps[1].URL, m.ps[2].URL}
	if err := h.register(ctx, bases[0]); err != nil {
		return nil, err
	}
	creds, err := h.loginMany(ctx, bases, n)
	if err != nil {
		return nil, err
	}
	// Every instance serves every credential twice: the first request is a
	// cache miss (login does not fill the cache), the second a hit.
	for _, into := range []*[]time.Duration{&m.miss, &m.hit} {
		for _, c := range creds {
			for _, p := range m.ps {
				r, err := h.expect(ctx, 200, "GET", p.URL+"api/me", c, "")
				if err != nil {
					return nil, err
				}
				*into = append(*into, r.rtt())
			}
		}
	}
	for i, c := range creds {
		a, b, cc := m.ps[i%3], m.ps[(i+1)%3], m.ps[(i+2)%3]
		if err := h.propagate(ctx, m, a, b, cc, c); err != nil {
			return nil, err
		}
	}
	for _, p := range m.ps {
		if err := p.Alive(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type pollResult struct {
	first401               time.Time
	polls, accepted, other int
	err                    error
}

// propagate logs c out through a while b and c wait; from the moment the
// logout response arrives (t0) each polls with c until it answers 401.
func (h *runner) propagate(ctx context.Context, m *multiResult, a, b, c *harness.Proc, cr apiclient.Cred) error {
	ictx, cancel := context.WithTimeout(ctx, h.o.timeout)
	defer cancel()
	gate := make(chan struct{})
	results := make(chan pollResult, 2)
	for _, p := range []*harness.Proc{b, c} {
		go func() {
			var r pollResult
			defer func() { results <- r }()
			select {
			case <-gate:
			case <-ictx.Done():
				r.err = ictx.Err()
				return
			}
			for {
				x, err := h.do(ictx, "GET", p.URL+"api/me", cr, "")
				if ictx.Err() != nil {
					r.err = fmt.Errorf("instance %s still had not answered 401 %v after the logout response (%d polls, %d answered 200)", p.Name, h.o.timeout, r.polls, r.accepted)
					return
				}
				r.polls++
				switch {
				case err != nil:
					r.other++
				case x.status == 401:
					r.first401 = x.headersAt
					return
				case x.status == 200:
					r.accepted++
				default:
					r.other++
				}
			}
		}()
	}
	x, err := h.do(ictx, "POST", a.URL+"logout", cr, cr.RefreshBody())
	if err == nil && x.status != 200 {
		err = fmt.Errorf("%d: %.300s", x.status, x.body)
	}
	if err != nil {
		cancel()
		<-results
		<-results
		return fmt.Errorf("logout at instance %s: %w", a.Name, err)
	}
	t0 := x.headersAt
	close(gate)
	m.logout = append(m.logout, x.rtt())
	var last time.Time
	for range 2 {
		r := <-results
		if r.err != nil {
			err = errors.Join(err, r.err)
			continue
		}
		m.polls += r.polls
		m.accepted += r.accepted
		m.other += r.other
		if r.polls == 1 {
			m.firstPoll++
		}
		if r.first401.After(last) {
			last = r.first401
		}
	}
	if err != nil {
		return err
	}
	m.propagate = append(m.propagate, last.Sub(t0))
	return nil
}

// --- throughput ---

type tputRow struct {
	what string
	res  harness.LoadResult
	cpu  harness.CPUUse
}

type tputResult struct {
	rows              []tputRow
	bareIn, bareChild float64
}

func (h *runner) throughput(ctx context.Context, m *multiResult) (*tputResult, error) {
	o := h.o
	tp := &tputResult{}
	// run measures one server; pid is its process, 0 for this one.
	run := func(what string, pid int, base, path string, headers []string) (harness.LoadResult, error) {
		progress("  %s", what)
		var marks []harness.CPUSample
		var pids []int // none: the server is this process
		if pid > 0 {
			pids = append(pids, pid)
		}
		r, err := harness.Load(ctx, base, path, headers, o.k, o.warm, o.d, func() { marks = append(marks, harness.SampleCPU(pids...)) })
		if err != nil {
			return r, fmt.Errorf("%s: %w", what, err)
		}
		if r.OK == 0 {
			return r, fmt.Errorf("%s: no request succeeded (%d other statuses, %d errors)", what, r.Other, r.Errs)
		}
		tp.rows = append(tp.rows, tputRow{what, r, marks[0].To(marks[1])})
		return r, nil
	}

	// The baseline, in this process and in a child process of its own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	bare := &http.Server{Handler: bareHandler()}
	go bare.Serve(ln)
	r, err := run("bare net/http in the load generator's process, GET /x", 0, "http://"+ln.Addr().String()+"/", "/x", nil)
	bare.Close()
	if err != nil {
		return nil, err
	}
	tp.bareIn = r.Rate()
	child, err := harness.StartServer(h.dir, "bare", h.self, "-child", "bare")
	if err != nil {
		return nil, err
	}
	h.OnClose(child.Stop)
	if r, err = run("bare net/http in a process of its own, GET /x", child.PID(), child.URL, "/x", nil); err != nil {
		return nil, err
	}
	child.Stop()
	tp.bareChild = r.Rate()

	// signoff: fresh credentials, warm on the instance under load.
	a := m.ps[0]
	creds, err := h.loginMany(ctx, []string{a.URL}, o.creds)
	if err != nil {
		return nil, err
	}
	headers := make([]string, len(creds))
	for i, c := range creds {
		headers[i] = c.Header()
	}
	warm := func(p *harness.Proc, readiness string) error {
		r, err := h.expect(ctx, 200, "GET", p.URL+"readyz", apiclient.Cred{}, "")
		if err != nil {
			return err
		}
		var ready struct{ Status string }
		json.Unmarshal(r.body, &ready)
		if ready.Status != readiness {
			return fmt.Errorf("instance %s: readyz says %q, want %q", p.Name, ready.Status, readiness)
		}
		for _, c := range creds {
			for range 2 {
				if _, err := h.expect(ctx, 200, "GET", p.URL+"api/me", c, ""); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := warm(a, "ready"); err != nil {
		return nil, err
	}
	if _, err := run("signoff serve (instance A of 3), GET /api/me, warm cache", a.PID(), a.URL, "/api/me", headers); err != nil {
		return nil, err
	}

	// The same server code in a child, with the real bus and with one that
	// is never fresh.
	for _, rt := range []bool{false, true} {
		args := []string{"-child", "signoff", "-mode", o.mode, "-server-log-level", o.logLevel,
			"-child-store", m.st.store, "-child-keys", m.st.keys}
		if m.st.sessions != "" {
			args = append(args, "-child-sessions", m.st.sessions)
		}
		what, readiness := "package server in a child (4th instance), GET /api/me, warm cache", "ready"
		if rt {
			args = append(args, "-child-read-through")
			what, readiness = "package server in a child, bus never fresh: every GET /api/me reads through to the store", "degraded"
		}
		p, err := harness.StartServer(h.dir, "server-child", h.self, args...)
		if err != nil {
			return nil, err
		}
		h.OnClose(p.Stop)
		if err := warm(p, readiness); err != nil {
			return nil, err
		}
		if _, err := run(what, p.PID(), p.URL, "/api/me", headers); err != nil {
			return nil, err
		}
		if err := p.Alive(); err != nil {
			return nil, err
		}
		p.Stop()
	}
	return tp, a.Alive()
}

// --- output ---

func (h *runner) printTables(s singleResult, m *multiResult, tp *tputResult) {
	o, w := h.o, h.out
	fmt.Fprintf(w, "- three instances: `%s` (×3)\n", m.cmd)
	fmt.Fprintf(w, "- one instance: the same on another fresh schema%s\n", map[bool]string{false: "", true: " and key prefix"}[o.redis != ""])
	fmt.Fprintf(w, "- load average at the end: %s\n\n", harness.LoadAvg())

	fmt.Fprintln(w, "| measure | instances | samples | p50 | p99 | max |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	row := func(what string, inst int, ds []time.Duration) {
		sm := harness.Summarize(ds)
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s |\n", what, inst, sm.N, harness.FmtDur(sm.P50), harness.FmtDur(sm.P99), harness.FmtDur(sm.Max))
	}
	row("revocation propagation: A's logout response → the later of B's and C's first 401", 3, m.propagate)
	row("POST /logout round trip", 3, m.logout)
	row("POST /logout round trip", 1, s.logout)
	row("GET /api/me, a credential's first request on an instance (cache miss)", 3, m.miss)
	row("GET /api/me, its second request there (cache hit)", 3, m.hit)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Replays of a logged-out credential on B and C from the logout response on: %d, of which %d answered 200 (must be 0) and %d neither 200 nor 401; the first replay already answered 401 in %d of %d cases. One instance: %d of %d replays answered 200.\n\n",
		m.polls, m.accepted, m.other, m.firstPoll, 2*len(m.propagate), s.accepted, len(s.logout))

	fmt.Fprintf(w, "| GET from %d keep-alive clients over loopback, %v measured after %v | req/s | × bare, own process | × bare, in-process | non-2xx | errors | CPU: load generator | CPU: server | server CPU per request | machine busy |\n", o.k, o.d, o.warm)
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range tp.rows {
		rate := r.res.Rate()
		server, per := "(same process)", "–"
		if len(r.cpu.Server) == 1 && r.cpu.Server[0] >= 0 {
			server = fmt.Sprintf("%.2f cores", r.cpu.Server[0])
			per = harness.FmtDur(time.Duration(r.cpu.Server[0] / rate * float64(time.Second)))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %d | %.2f cores | %s | %s | %.0f%% |\n", r.what, harness.FmtRate(rate),
			fmtRatio(rate/tp.bareChild), fmtRatio(rate/tp.bareIn), r.res.Other, r.res.Errs,
			r.cpu.Self, server, per, 100*r.cpu.Machine)
	}
}

func fmtRatio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }
