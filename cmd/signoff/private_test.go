package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/signoff/signoff/internal/servetest"
	"github.com/signoff/signoff/internal/syncbuf"
	"github.com/signoff/signoff/internal/testenv"
)

// Private database servers for the fault tests: each test starts its own
// PostgreSQL or Redis on a free loopback port, stops it and starts it again,
// so the shared services that other tests use stay up.

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(servetest.FreeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// missing skips the test because a private server cannot be started, or
// fails it when the environment variable ciVar is set: CI, which sets it,
// must run the fault tests rather than skip them.
func missing(t *testing.T, ciVar, why string) {
	t.Helper()
	if os.Getenv(ciVar) != "" {
		t.Fatalf("%s; %s is set, so this test must run, not skip", why, ciVar)
	}
	suite := "fault tests on a private PostgreSQL"
	if ciVar == "SIGNOFF_TEST_REDIS" {
		suite = "fault tests on a private Redis"
	}
	testenv.Skip(t, suite, why)
}

// pgBin is where Debian's PostgreSQL 15 puts initdb, pg_ctl and postgres.
const pgBin = "/usr/lib/postgresql/15/bin"

// pgServer is a private PostgreSQL cluster in a temporary directory.
type pgServer struct {
	dir  string // owned by the postgres user when the test runs as root; holds the socket and the log
	data string
	port int
	root bool // run the binaries through runuser -u postgres: PostgreSQL refuses to run as root
}

// privatePG initdbs and starts a PostgreSQL of this test's own. It is
// stopped and its directory removed when the test ends.
func privatePG(t *testing.T) *pgServer {
	t.Helper()
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(pgBin, name)); err != nil {
			missing(t, "SIGNOFF_TEST_POSTGRES", "no private PostgreSQL: "+filepath.Join(pgBin, name)+" is missing (apt-get install postgresql-15)")
		}
	}
	s := &pgServer{root: os.Geteuid() == 0}
	uid, gid := -1, -1
	if s.root {
		if _, err := exec.LookPath("runuser"); err != nil {
			missing(t, "SIGNOFF_TEST_POSTGRES", "no private PostgreSQL: the test runs as root and runuser is missing, so it cannot run initdb as postgres")
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "SIGNOFF_TEST_POSTGRES", "no private PostgreSQL: the test runs as root and there is no postgres user to run it as")
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	// Not t.TempDir: its parents are 0700 root directories that the
	// postgres user cannot enter. os.MkdirTemp puts it straight in /tmp.
	dir, err := os.MkdirTemp("", "signoff-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // registered first, so it runs last
	if s.root {
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.dir, s.data, s.port = dir, filepath.Join(dir, "data"), freePort(t)
	if out, err := s.run("initdb", "-D", s.data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.start(t)
	t.Cleanup(func() { s.run("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop") })
	return s
}

// run runs one of PostgreSQL's programs as the postgres user, for at most
// two minutes (initdb takes seconds on an idle machine and far longer on a
// loaded one), and returns its output.
func (s *pgServer) run(prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	defer cancel()
	path := filepath.Join(pgBin, prog)
	var cmd *exec.Cmd
	if s.root {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	return cmd.CombinedOutput()
}

// url is the --store URL of the private cluster.
func (s *pgServer) url() string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(s.port) + "/postgres?sslmode=disable"
}

// start starts the cluster on its port and waits until it accepts
// connections. The server's output goes to a log file: with pg_ctl's own
// stdout, CombinedOutput would wait for the server to exit.
func (s *pgServer) start(t *testing.T) {
	t.Helper()
	opts := "-p " + strconv.Itoa(s.port) + " -k " + s.dir + " -c listen_addresses=127.0.0.1"
	if out, err := s.run("pg_ctl", "-D", s.data, "-l", filepath.Join(s.dir, "log"), "-o", opts, "-w", "-t", strconv.Itoa(int(patience.Seconds())), "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop crashes the cluster: immediate mode kills the server processes
// without a checkpoint, and the next start recovers from the WAL, which
// holds every committed transaction.
func (s *pgServer) stop(t *testing.T) {
	t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// execSQL runs one statement on the private cluster.
func (s *pgServer) execSQL(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.url())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// count runs a query that returns one number.
func (s *pgServer) count(t *testing.T, sql string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.url())
	if err != nil {
		t.Error(err)
		return 0
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Errorf("%s: %v", sql, err)
	}
	return n
}

// column runs a query that returns one text column.
func (s *pgServer) column(t *testing.T, sql string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.url())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// redisServer is a private redis-server, a child process of the test.
type redisServer struct {
	path   string
	args   []string
	port   int
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{}
}

// privateRedis starts a redis-server of this test's own on a free port. A
// durable one keeps an append-only file, fsynced before every reply, in a
// temporary directory, so a restart finds every write that was
// acknowledged; the other keeps nothing and restarts empty.
func privateRedis(t *testing.T, durable bool) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "SIGNOFF_TEST_REDIS", "no private Redis: redis-server is not on PATH (apt-get install redis-server)")
	}
	s := &redisServer{path: path, port: freePort(t), out: &syncbuf.Buffer{}}
	s.args = []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--daemonize", "no", "--save", "", "--dir", t.TempDir()}
	if durable {
		s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		s.args = append(s.args, "--appendonly", "no")
	}
	s.start(t)
	t.Cleanup(func() { s.kill() })
	return s
}

// url is the --sessions URL of the private Redis.
func (s *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(s.port) + "/0" }

// start starts redis-server on its port and waits until it answers PING.
func (s *redisServer) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.path, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { s.cmd.Wait(); close(exited) }()
	c := s.client()
	defer c.Close()
	deadline := time.Now().Add(patience)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("redis-server exited at start: %s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not answer after %v: %v\n%s", patience, err, s.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop crashes the Redis: SIGKILL to the child process this test started,
// by its PID.
func (s *redisServer) stop(t *testing.T) {
	t.Helper()
	if !s.kill() {
		t.Fatalf("redis-server did not exit within %v of SIGKILL", patience)
	}
}

func (s *redisServer) kill() bool {
	select {
	case <-s.exited:
		return true
	default:
	}
	s.cmd.Process.Kill()
	select {
	case <-s.exited:
		return true
	case <-time.After(patience):
		return false
	}
}

// client is a go-redis client of the private Redis that tries once.
func (s *redisServer) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(s.port), MaxRetries: -1, DialTimeout: time.Second})
}

// usersStore is the --store that holds the users when sessions are in a
// private Redis: a fresh schema of the shared PostgreSQL when there is one,
// or else a private PostgreSQL.
func usersStore(t *testing.T) string {
	if pg := os.Getenv("SIGNOFF_TEST_POSTGRES"); pg != "" {
		return pgSchema(t, pg)
	}
	return privatePG(t).url()
}
