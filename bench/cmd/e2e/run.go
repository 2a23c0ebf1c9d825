package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signoff/signoff/bench/internal/floor"
	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/internal/apiclient"
)

// modes are signoff serve's two modes.
var modes = []string{"session", "jwt"}

// runner is one run: what it started and made, and how to undo it.
type runner struct {
	o        options
	out, log io.Writer
	*harness.Workspace
	servers string // cmd/e2e/servers, built into the workspace

	hello    *harness.Proc
	signoff  map[string]*harness.Proc // by mode
	creds    map[string]apiclient.Cred
	floors   map[string]*harness.Proc // by mode
	twins    map[string]*harness.Proc // by mode, with -together: a second floor
	recorded map[string]floor.Spec    // by mode: what signoff answered
	nginx    *harness.Nginx           // nil: skipped
	nginxWhy string                   // why it was skipped
	addr     map[string]string        // nginx's listen addresses: "static", "session", "jwt"
	libs     map[string]*harness.Proc // "scs", "scs-redis", "gorilla"; absent: skipped
	libCreds map[string]string        // their Cookie lines
	redisWhy string                   // why scs on Redis was skipped
	redisPID int
	redisVer string
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.log, "e2e: "+format+"\n", args...)
}

// run is the whole benchmark: it writes the report to out and its progress
// to log, and stops everything it started before it returns.
func run(ctx context.Context, o options, out, log io.Writer) (*report, error) {
	r, err := newRunner(o, out, log)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.startAll(ctx); err != nil {
		return nil, err
	}
	rows := r.rows()
	if err := r.preflight(ctx, rows); err != nil {
		return nil, err
	}
	rep, err := r.measure(ctx, rows)
	if err != nil {
		return nil, err
	}
	r.print(rep)
	return rep, nil
}

// newRunner checks o, says how long the run will take (refusing one
// longer than -budget), and builds signoff serve and the small servers
// into a new workspace, which the caller closes.
func newRunner(o options, out, log io.Writer) (*runner, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	r := &runner{o: o, out: out, log: log,
		signoff: map[string]*harness.Proc{}, creds: map[string]apiclient.Cred{}, floors: map[string]*harness.Proc{},
		recorded: map[string]floor.Spec{}, addr: map[string]string{}, libs: map[string]*harness.Proc{}, libCreds: map[string]string{}}
	n, what := o.measured(), "rows"
	if o.together {
		n, what = o.measuredPairs(), "side-by-side pairs"
	}
	if est := o.estimate(n); est > o.budget {
		return nil, fmt.Errorf("this run would take up to %v (%d rounds of %d %s of %v + %v, and up to %v of set-up), more than -budget %v: raise -budget, or lower -rounds, -d or -warmup",
			est.Round(time.Second), o.Rounds, n, what, o.Warm, o.D, setupTime, o.budget)
	}
	meas := time.Duration(o.Rounds*n) * (o.Warm + o.D)
	r.progress("%d round(s) of %d %s, each %v of warm-up and %v measured: %v of load, with the set-up about %v; bounded by -budget %v",
		o.Rounds, n, what, o.Warm, o.D, meas.Round(time.Second), (meas + 30*time.Second).Round(time.Second), o.budget)
	r.progress("building ./cmd/signoff and ./cmd/e2e/servers")
	var err error
	if r.Workspace, err = harness.NewWorkspace("signoff-e2e-", o.Repo); err != nil {
		return nil, err
	}
	if r.servers, err = buildServers(r.Dir); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// buildServers builds this module's cmd/e2e/servers into dir.
func buildServers(dir string) (string, error) {
	mod, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m (run this from the bench module): %v", err)
	}
	return harness.Build(strings.TrimSpace(string(mod)), "./cmd/e2e/servers", filepath.Join(dir, "servers"))
}

// startAll starts every server, signs in where a row needs a credential
// and records the floors' responses. nginx and Redis rows are skipped,
// with the reason, when there is no nginx or no Redis.
func (r *runner) startAll(ctx context.Context) error {
	var err error
	if r.hello, err = r.startRole("hello", "-role", "hello"); err != nil {
		return err
	}
	for _, mode := range modes {
		if err := r.startSignoff(ctx, mode); err != nil {
			return err
		}
		if err := r.startFloor(ctx, mode); err != nil {
			return err
		}
	}
	if bin, err := harness.FindNginx(r.o.nginx); err != nil {
		r.nginxWhy = err.Error()
	} else if err := r.startNginx(bin); err != nil {
		return err
	}
	if err := r.startLib(ctx, "scs", "-role", "scs"); err != nil {
		return err
	}
	if err := r.findRedis(ctx); err != nil {
		r.redisWhy = err.Error()
	} else if err := r.startLib(ctx, "scs-redis", "-role", "scs", "-redis", r.o.redis,
		"-redis-prefix", "scs:e2e:"+strconv.Itoa(os.Getpid())+":", "-redis-idle", strconv.Itoa(r.o.K)); err != nil {
		return err
	}
	return r.startLib(ctx, "gorilla", "-role", "gorilla")
}

// startRole starts cmd/e2e/servers with args and stops it at Close.
func (r *runner) startRole(name string, args ...string) (*harness.Proc, error) {
	return r.Serve(name, r.servers, args...)
}

// startSignoff starts signoff serve in mode, registers the user and signs
// in once.
func (r *runner) startSignoff(ctx context.Context, mode string) error {
	r.progress("signoff serve --mode %s: start, register, sign in", mode)
	p, creds, err := r.SignedIn(ctx, mode, r.o.LogLevel, 1)
	if err != nil {
		return err
	}
	r.signoff[mode], r.creds[mode] = p, creds[0]
	return nil
}

// floorPaths are the answers of signoff that a floor replays.
var floorPaths = []string{"/verify", "/api/me"}

// startFloor asks signoff in mode /verify and /api/me, with the very
// requests of their rows, records the answers and starts a floor server
// that replays them.
func (r *runner) startFloor(ctx context.Context, mode string) error {
	spec := floor.Spec{}
	for _, path := range floorPaths {
		res, body, err := harness.Fetch(ctx, r.signoff[mode].URL, path, signoffLines(mode, path, r.creds[mode].Header()))
		if err != nil {
			return fmt.Errorf("recording signoff's %s (%s mode): %w", path, mode, err)
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("recording signoff's %s (%s mode): %d, want 200", path, mode, res.StatusCode)
		}
		spec[path] = floor.Record(res, body)
	}
	r.recorded[mode] = spec
	if err := spec.WriteFile(r.floorFile(mode)); err != nil {
		return err
	}
	p, err := r.startRole("floor-"+mode, "-role", "floor", "-spec", r.floorFile(mode))
	r.floors[mode] = p
	return err
}

// floorFile is where the recorded answers of the floor of mode are.
func (r *runner) floorFile(mode string) string {
	return filepath.Join(r.Dir, "floor-"+mode+".json")
}

// startLib starts a library's server and signs in to it: POST /login, the
// session cookie of the answer.
func (r *runner) startLib(ctx context.Context, name string, args ...string) error {
	r.progress("%s: start, sign in", name)
	p, err := r.startRole(name, args...)
	if err != nil {
		return err
	}
	res, _, err := r.Client.Expect(ctx, 200, "POST", p.URL+"login", apiclient.Cred{}, `{"email":"`+harness.Email+`","password":"`+harness.Password+`"}`)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var cs []string
	for _, c := range res.Cookies() {
		cs = append(cs, c.Name+"="+c.Value)
	}
	if len(cs) == 0 {
		return fmt.Errorf("%s: its sign-in set no cookie", name)
	}
	r.libs[name], r.libCreds[name] = p, "Cookie: "+strings.Join(cs, "; ")
	return nil
}

// findRedis checks that the Redis of -redis answers on 127.0.0.1, and finds
// its process and version: its CPU counts in the scs (Redis) row.
func (r *runner) findRedis(ctx context.Context) error {
	if r.o.redis == "off" {
		return fmt.Errorf("-redis off")
	}
	if host, _, _ := strings.Cut(r.o.redis, ":"); host != "127.0.0.1" {
		return fmt.Errorf("-redis %s: only a Redis on 127.0.0.1 is measured", r.o.redis)
	}
	// A dial first: go-redis would log every failed attempt.
	conn, err := net.DialTimeout("tcp", r.o.redis, 2*time.Second)
	if err != nil {
		return fmt.Errorf("no Redis answers at %s (%v): start one (Debian package redis-server)", r.o.redis, err)
	}
	conn.Close()
	c := redis.NewClient(&redis.Options{Addr: r.o.redis, DialTimeout: 2 * time.Second, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("the Redis at %s does not answer INFO (%v): start one (Debian package redis-server)", r.o.redis, err)
	}
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "process_id":
			r.redisPID, _ = strconv.Atoi(v)
		case "redis_version":
			r.redisVer = v
		}
	}
	if harness.ProcCPU(r.redisPID) < 0 {
		return fmt.Errorf("the Redis at %s says its process is %d, which /proc does not show (another PID namespace?): its CPU could not be counted", r.o.redis, r.redisPID)
	}
	return nil
}
