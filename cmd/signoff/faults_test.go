package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/signoff/signoff/internal/apiclient"
)

// Faults against real signoff serve processes (I1, I4, I11, R38, R51, R52):
// the store stops under load, an instance loses its revocation bus, an
// instance is killed, a logout is interrupted between its two writes. Each
// store fault runs on a PostgreSQL or Redis that the test starts on its own
// port (private_test.go), so the shared services stay up.

// lease is logbus's default Lease, which signoff serve runs with: an
// instance trusts its memory for at most this long after its last good read
// of the bus, and a publisher waits at most this long for an instance that
// stopped heartbeating.
const lease = 2 * time.Second

// The store stops while clients hammer two instances: nothing revoked is
// ever accepted, live sessions are answered 503 once the lease has lapsed
// (a warm instance may answer from memory until then), logout and logout
// everywhere answer 503 without deleting or clearing anything, /readyz
// answers 503. After a restart nothing revoked is accepted, on the old
// instances or on a new one whose memory is empty, and the session whose
// logout failed is still live (that logout did nothing) and can now be
// logged out (I4, I11, R38, R52).
func TestFault_StoreDown_R52(t *testing.T) {
	for _, backend := range []string{"postgres", "redis"} {
		for _, mode := range []string{"session", "jwt"} {
			t.Run(backend+"/"+mode, func(t *testing.T) {
				t.Parallel()
				var args []string
				var stop, start func(*testing.T)
				switch backend {
				case "postgres": // users, sessions and the bus in one private PostgreSQL
					pg := privatePG(t)
					args = []string{"--store", pg.url()}
					stop, start = pg.stop, pg.start
				case "redis": // users in SQL; sessions and the bus in a private Redis
					// Durable, unlike a cache: a Redis restarted without its
					// data has lost every session, so "the session whose
					// logout failed is still live" could not hold, and every
					// instance's bus registration would be gone too. With the
					// append-only file fsynced before each reply, a restart
					// finds every write that was acknowledged.
					rd := privateRedis(t, true)
					args = []string{"--store", usersStore(t), "--sessions", rd.url()}
					stop, start = rd.stop, rd.start
				}
				storeDown(t, mode, args, stop, start)
			})
		}
	}
}

func storeDown(t *testing.T, mode string, args []string, stop, start func(*testing.T)) {
	args = append(args, "--mode", mode, "--keys", filepath.Join(t.TempDir(), "keys.json"))
	a := serve(t, args...) // creates the key file the others share
	b := serve(t, args...)
	ps := []*proc{a, b}
	email := "faults@example.test"
	register(t, a, email)
	gone := login(t, a.url, email, mode) // logged out before the outage
	kept := login(t, b.url, email, mode) // its logout fails during the outage
	live := login(t, a.url, email, mode) // only ever authenticates
	if t.Failed() {
		t.FailNow()
	}
	creds := map[string]apiclient.Cred{"revoked": gone, "kept": kept, "live": live}
	for name, c := range creds { // warm: every instance has every session in memory
		wantMe(t, ps, c, 200, name+" before the outage")
	}
	if r := call(t, "POST", b.url+"logout", gone, gone.RefreshBody()); r.status != 200 {
		t.Fatalf("logout before the outage: %d %s", r.status, r.body)
	}
	wantDead(t, ps, gone, "revoked before the outage")

	h := startHammer(t, ps, creds, 3, 4000)
	defer h.halt()
	waitFor(t, patience, "the hammer has 30 answers", func() bool { return h.count() >= 30 })
	stopping := time.Now()
	stop(t)
	down := time.Now()

	// Logout during the outage: 503, and nothing deleted or cleared, so
	// the client keeps its credential and can retry (I4, R38).
	var slowest time.Duration
	for i, p := range ps {
		began := time.Now()
		r := call(t, "POST", p.url+"logout", kept, kept.RefreshBody())
		slowest = max(slowest, time.Since(began))
		if r.status != 503 {
			t.Errorf("logout on instance %d with the store down: %d %s, want 503", i, r.status, r.body)
		}
		if d := clearing(r); d != "" {
			t.Errorf("logout on instance %d with the store down answered %d and still sent %s", i, r.status, d)
		}
	}
	r := call(t, "POST", a.url+"logout/all", kept, "{}")
	if r.status != 503 {
		t.Errorf("logout everywhere with the store down: %d %s, want 503", r.status, r.body)
	}
	if d := clearing(r); d != "" {
		t.Errorf("logout everywhere with the store down answered %d and still sent %s", r.status, d)
	}
	for i, p := range ps {
		if st := readiness(t, p); st != "503" {
			t.Errorf("/readyz on instance %d with the store down: %s, want 503", i, st)
		}
	}
	// Once the lease has lapsed no instance answers from memory. The wait
	// is patient: with the store down an answer can take seconds on a
	// loaded machine. What bounds trust in memory by the lease is asserted
	// on every answer the hammer got (h.check: a 200 for a live session
	// must have begun before the lease could lapse), not by this wait.
	waitFor(t, patience, "every instance answers 503 for a live session", func() bool {
		for _, p := range ps {
			if me(t, p, live) != 503 {
				return false
			}
		}
		return true
	})
	lapsed := time.Since(down)
	// The hammer must have asked every instance after the lease lapsed, or
	// h.check would have nothing to check there: wait for those answers
	// rather than for a time that usually brings some.
	waitFor(t, patience, "the hammer has answers for live sessions, begun after the lease lapsed, from every instance", func() bool {
		return h.pastLease(down) == len(ps)
	})
	// Each instance's bus noticed the outage (it logs it once, at its first
	// failed read), while the store is still down.
	for i, p := range ps {
		waitFor(t, patience, fmt.Sprintf("instance %d logs that its bus failed", i), func() bool {
			return strings.Contains(p.stderr.String(), "revocation bus: read failed")
		})
	}
	h.halt()
	h.check(t, stopping, down)

	start(t)
	waitFor(t, patience, "every instance is ready again after the restart", func() bool {
		for _, p := range ps {
			if readiness(t, p) != "ready" {
				return false
			}
		}
		return true
	})
	for i, p := range ps {
		waitFor(t, patience, fmt.Sprintf("instance %d logs that its bus recovered", i), func() bool {
			return strings.Contains(p.stderr.String(), "revocation bus: recovered")
		})
	}

	// Nothing revoked comes back: not on the instances that remember the
	// revocation, nor on a new one that only has the store.
	ps = append(ps, serve(t, args...))
	wantDead(t, ps, gone, "revoked before the outage, after the restart")
	wantMe(t, ps, kept, 200, "whose logout failed during the outage, after the restart")
	wantMe(t, ps, live, 200, "live, after the restart")
	r = call(t, "POST", b.url+"logout", kept, kept.RefreshBody())
	if r.status != 200 || !deletes(r, mode) {
		t.Fatalf("logout after the restart: %d %s, deletes the cookie: %v", r.status, r.body, deletes(r, mode))
	}
	wantDead(t, ps, kept, "logged out after the restart")
	t.Logf("store down: %s; logout answered 503 within %v; every instance answered 503 for a live session %v after the store went down (lease %v), the slowest answer took %v; after the restart nothing revoked was accepted on 3 instances",
		h.summary(), slowest.Round(time.Millisecond), lapsed.Round(time.Millisecond), lease, h.slowest().Round(time.Millisecond))
}

// An instance loses its revocation bus while the store stays up. The bus of
// PostgreSQL is LISTEN/NOTIFY plus two tables in the same database, that of
// Redis pub/sub plus keys in the same Redis: stopping it means stopping the
// store, which TestFault_StoreDown_R52 does. What can fail on its own is an
// instance's subscription, in three ways, each tried here on three
// instances A, B, C sharing a private store:
//
//  1. The wake-ups are lost: the test keeps killing every LISTEN (pub/sub)
//     connection, server-side. Readers and waiting publishers still poll,
//     so every logout is still seen everywhere before it returns, and
//     every instance stays fresh.
//  2. B loses its registration, as when an instance silent for an hour is
//     trimmed or a Redis restarts empty: its heartbeats fail, its lease
//     lapses, /readyz and its log say it is degraded, and it reads every
//     credential through to the store. A logout on A no longer waits for B
//     and is still refused on B at once.
//  3. C hangs (SIGSTOP) past the lease, missing a logout on A, which waits
//     for C at most one lease. When C resumes, the credential is refused on
//     C at once (its memory is stale, so it reads through, or it catches up
//     first), and C is fresh again soon after.
func TestFault_BusDown(t *testing.T) {
	for _, backend := range []string{"postgres", "redis"} {
		for _, mode := range []string{"session", "jwt"} {
			t.Run(backend+"/"+mode, func(t *testing.T) {
				t.Parallel()
				var f busFault
				switch backend {
				case "postgres":
					pg := privatePG(t)
					// One connection for the killer, which runs every 10 ms
					// for as long as step 1 takes: a new connection each
					// time costs PostgreSQL a fork, load the test would add
					// to the very instances it is timing.
					killer, err := pgx.Connect(t.Context(), pg.url())
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { killer.Close(context.Background()) })
					f = busFault{
						args: []string{"--store", pg.url()},
						ids:  func(t *testing.T) []string { return pg.column(t, "SELECT id FROM instances") },
						killPush: func(t *testing.T) int64 {
							var n int64
							const kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
							if err := killer.QueryRow(t.Context(), kill).Scan(&n); err != nil {
								t.Errorf("%s: %v", kill, err)
							}
							return n
						},
						expire: func(t *testing.T, id string) { pg.execSQL(t, "DELETE FROM instances WHERE id = $1", id) },
					}
				case "redis":
					rd := privateRedis(t, false)
					c := rd.client()
					t.Cleanup(func() { c.Close() })
					const inst = "signoff:{bus}:inst" // the default prefix; see redisstore.NewBus
					f = busFault{
						args: []string{"--store", usersStore(t), "--sessions", rd.url()},
						ids: func(t *testing.T) []string {
							ids, err := c.HKeys(t.Context(), inst).Result()
							if err != nil {
								t.Fatal(err)
							}
							return ids
						},
						killPush: func(t *testing.T) int64 {
							n, err := c.ClientKillByFilter(t.Context(), "TYPE", "pubsub").Result()
							if err != nil && err != redis.Nil {
								t.Errorf("CLIENT KILL TYPE pubsub: %v", err)
							}
							return n
						},
						expire: func(t *testing.T, id string) {
							if n, err := c.HDel(t.Context(), inst, id).Result(); err != nil || n != 1 {
								t.Fatalf("HDEL the registration: %d %v", n, err)
							}
						},
					}
				}
				busDown(t, mode, f)
			})
		}
	}
}

// busFault is how to break one backend's bus without stopping its store.
type busFault struct {
	args     []string
	ids      func(t *testing.T) []string         // the registered instances
	killPush func(t *testing.T) int64            // kills the wake-up connections; how many
	expire   func(t *testing.T, instance string) // deletes an instance's registration
}

func busDown(t *testing.T, mode string, f busFault) {
	args := append(f.args, "--mode", mode, "--keys", filepath.Join(t.TempDir(), "keys.json"))
	var ps []*proc
	var ids []string
	for range 3 { // one at a time, to tell which registration is whose
		var before []string
		if len(ps) > 0 { // before the first, PostgreSQL has no instances table
			before = f.ids(t)
		}
		ps = append(ps, serve(t, args...))
		var id string
		for _, x := range f.ids(t) {
			if !slices.Contains(before, x) {
				id = x
			}
		}
		if id == "" {
			t.Fatalf("instance %d registered no bus subscription", len(ps)-1)
		}
		ids = append(ids, id)
	}
	a, b, c := ps[0], ps[1], ps[2]
	email := "bus@example.test"
	register(t, a, email)

	// 1. Every wake-up connection is killed over and over, until the last
	// logout of this step has been checked, however long that takes; and
	// the killer is stopped before the test ends even when it fails, since
	// it reports through t and uses the private store.
	var kills atomic.Int64
	stop := make(chan struct{})
	var kw sync.WaitGroup
	halt := sync.OnceFunc(func() { close(stop); kw.Wait() })
	defer halt()
	kw.Add(1)
	go func() {
		defer kw.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			kills.Add(f.killPush(t))
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var slowest time.Duration
	const n = 6
	for i := range n {
		s := login(t, ps[i%3].url, email, mode)
		if t.Failed() {
			t.FailNow()
		}
		wantMe(t, ps, s, 200, "before logout")
		began := time.Now()
		if r := call(t, "POST", ps[(i+1)%3].url+"logout", s, s.RefreshBody()); r.status != 200 {
			t.Fatalf("logout with the wake-ups lost: %d %s", r.status, r.body)
		}
		slowest = max(slowest, time.Since(began))
		wantDead(t, ps, s, "logged out while the wake-ups were lost")
	}
	halt()
	if kills.Load() == 0 {
		t.Fatal("no wake-up connection was ever killed: the fault did not happen")
	}
	waitReady(t, ps, "ready", "with the wake-ups lost, polling keeps every instance fresh")
	t.Logf("1. wake-ups lost (%d connections killed): %d logouts, the slowest %v, each refused on all 3 instances when it returned",
		kills.Load(), n, slowest.Round(time.Millisecond))

	// 2. B's registration is deleted (as the trim of instances silent for an
	// hour would, or an operator): B notices at its next heartbeat (within a
	// quarter lease), registers again keeping its own cursor, and a logout
	// on A then waits for B again and is refused on B at once. (Between the
	// deletion and B noticing, publishers do not wait for B while B still
	// trusts its memory: a window of up to a quarter lease that only an
	// outside deletion of a live instance opens.)
	s := login(t, a.url, email, mode)
	live := login(t, c.url, email, mode)
	if t.Failed() {
		t.FailNow()
	}
	wantMe(t, ps, s, 200, "before B lost its registration")
	wantMe(t, ps, live, 200, "before B lost its registration")
	lost := time.Now()
	f.expire(t, ids[1])
	waitFor(t, patience, "B says it registered again", func() bool {
		return strings.Contains(b.stderr.String(), "registered again after being dropped")
	})
	waitReady(t, ps, "ready", "every instance is ready again")
	back := time.Since(lost)
	began := time.Now()
	if r := call(t, "POST", a.url+"logout", s, s.RefreshBody()); r.status != 200 {
		t.Fatalf("logout on A after B registered again: %d %s", r.status, r.body)
	}
	took := time.Since(began)
	wantDead(t, []*proc{b, c, a}, s, "logged out on A after B registered again")
	wantMe(t, []*proc{b}, live, 200, "live, on B")
	t.Logf("2. B lost its registration: back after %v; a logout on A then took %v and was refused on B at once",
		back.Round(time.Millisecond), took.Round(time.Millisecond))

	// 3. C hangs past the lease.
	u := login(t, a.url, email, mode)
	if t.Failed() {
		t.FailNow()
	}
	wantMe(t, ps, u, 200, "before C hung")
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			c.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	defer resume()
	// A waits for C only until C's lease lapses: had it waited for C's
	// acknowledgement until the bus's AckTimeout, the logout would answer
	// 503. So the 200 is the proof, not the time it took, which a loaded
	// machine stretches.
	began = time.Now()
	r := call(t, "POST", a.url+"logout", u, u.RefreshBody())
	took = time.Since(began)
	if r.status != 200 {
		t.Fatalf("logout on A with C hung: %d %s after %v", r.status, r.body, took)
	}
	resume()
	wantDead(t, []*proc{c, b, a}, u, "logged out on A while C was hung, right after C resumed")
	waitReady(t, ps[2:], "ready", "C is fresh again after it resumes: its registration outlived a short silence")
	t.Logf("3. C hung (SIGSTOP): a logout on A waited %v for it (lease %v); refused on C as soon as it resumed",
		took.Round(time.Millisecond), lease)

	// A registration lost for good is not taken again: B stays degraded
	// (correct, but every request costs a store read) until restarted.
	if st := readiness(t, b); st != "ready" {
		t.Logf("note: B is still %q %v after losing its registration: logbus.Bus never registers again after Heartbeat fails with \"no longer registered\"",
			st, time.Since(lost).Round(time.Millisecond))
	}
}

// Three instances share the stores; one is killed with SIGKILL. The other
// two keep serving without a single failed request, and a logout on them
// returns (after waiting at most one lease for the dead instance's
// acknowledgement) and is refused on both.
func TestFault_SIGKILL(t *testing.T) {
	for _, backend := range []string{"postgres", "postgres+redis"} {
		for _, mode := range []string{"session", "jwt"} {
			t.Run(backend+"/"+mode, func(t *testing.T) {
				t.Parallel()
				// A killed instance does not touch the stores: shared ones
				// do, when the environment names them.
				var args []string
				if pg := os.Getenv("SIGNOFF_TEST_POSTGRES"); pg != "" {
					args = []string{"--store", pgSchema(t, pg)}
				} else {
					args = []string{"--store", privatePG(t).url()}
				}
				if backend == "postgres+redis" {
					if rd := os.Getenv("SIGNOFF_TEST_REDIS"); rd != "" {
						args = append(args, "--sessions", redisPrefix(t, rd))
					} else {
						args = append(args, "--sessions", privateRedis(t, false).url())
					}
				}
				killed(t, mode, args)
			})
		}
	}
}

func killed(t *testing.T, mode string, args []string) {
	args = append(args, "--mode", mode, "--keys", filepath.Join(t.TempDir(), "keys.json"))
	a := serve(t, args...)
	b := serve(t, args...)
	c := serve(t, args...)
	ps := []*proc{a, b, c}
	email := "kill@example.test"
	register(t, a, email)
	onC := login(t, c.url, email, mode) // signed in on the instance that dies
	onA := login(t, a.url, email, mode)
	live := login(t, b.url, email, mode)
	if t.Failed() {
		t.FailNow()
	}
	for _, x := range []apiclient.Cred{onC, onA, live} {
		wantMe(t, ps, x, 200, "before the kill")
	}
	h := startHammer(t, ps[:2], map[string]apiclient.Cred{"live": live}, 2, 4000)
	defer h.halt()
	waitFor(t, patience, "the hammer has 20 answers", func() bool { return h.count() >= 20 })

	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(patience):
		t.Fatalf("the killed instance did not exit within %v", patience)
	}
	survivors := ps[:2]
	var took [2]time.Duration
	for i, x := range []apiclient.Cred{onC, onA} {
		// A 200 means the wait for the dead instance ended with its lease,
		// not with the bus's AckTimeout (which answers 503): the status is
		// the proof, not the time, which a loaded machine stretches.
		began := time.Now()
		r := call(t, "POST", survivors[i].url+"logout", x, x.RefreshBody())
		took[i] = time.Since(began)
		if r.status != 200 {
			t.Fatalf("logout %d after the kill: %d %s after %v", i, r.status, r.body, took[i])
		}
		wantDead(t, survivors, x, "logged out after the kill")
	}
	wantMe(t, survivors, live, 200, "live, after the kill")
	h.halt()
	if bad := h.failures(func(s sample) bool { return s.status == 200 }); bad != "" {
		t.Errorf("the survivors did not keep serving: %s", bad)
	}
	t.Logf("SIGKILL: the first logout after it took %v (it waits for the dead instance at most a lease, %v), the next %v; %s",
		took[0].Round(time.Millisecond), lease, took[1].Round(time.Millisecond), h.summary())
}

// register creates the user every test signs in as.
func register(t *testing.T, p *proc, email string) {
	t.Helper()
	if r := call(t, "POST", p.url+"register", apiclient.Cred{}, `{"email":"`+email+`","password":"correct horse battery staple"}`); r.status != 202 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
}

// me is the status of GET /api/me with c.
func me(t *testing.T, p *proc, c apiclient.Cred) int {
	return call(t, "GET", p.url+"api/me", c, "").status
}

// wantMe checks that c gets status on every instance.
func wantMe(t *testing.T, ps []*proc, c apiclient.Cred, status int, what string) {
	t.Helper()
	for i, p := range ps {
		if st := me(t, p, c); st != status {
			t.Errorf("session %s: /api/me on instance %d: %d, want %d", what, i, st, status)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// wantDead checks that c is refused on every instance: its cookie or access
// token at /api/me and /verify, and its refresh token at /refresh.
func wantDead(t *testing.T, ps []*proc, c apiclient.Cred, what string) {
	t.Helper()
	for i, p := range ps {
		for _, path := range []string{"api/me", "verify"} {
			if st := call(t, "GET", p.url+path, c, "").status; st != 401 {
				t.Errorf("session %s: /%s on instance %d: %d, want 401", what, path, i, st)
			}
		}
		if c.RefreshToken != "" {
			if r := call(t, "POST", p.url+"refresh", apiclient.Cred{}, c.RefreshBody()); r.status != 401 {
				t.Errorf("session %s: /refresh on instance %d: %d %s, want 401", what, i, r.status, r.body)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// readiness is what /readyz says: "ready", "degraded", or the status code
// when it is not 200.
func readiness(t *testing.T, p *proc) string {
	r := call(t, "GET", p.url+"readyz", apiclient.Cred{}, "")
	if r.status != 200 {
		return strconv.Itoa(r.status)
	}
	var v struct{ Status string }
	json.Unmarshal([]byte(r.body), &v)
	return v.Status
}

// waitReady waits until /readyz on every instance in ps says want.
func waitReady(t *testing.T, ps []*proc, want, what string) {
	t.Helper()
	waitFor(t, patience, what, func() bool {
		for _, p := range ps {
			if readiness(t, p) != want {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds, and fails the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clearing names what a response deletes or clears on the client: the
// names of the cookies it sets and Clear-Site-Data. Never a cookie's value.
func clearing(r reply) string {
	var out []string
	for _, sc := range r.h.Values("Set-Cookie") {
		name, _, _ := strings.Cut(sc, "=")
		out = append(out, "Set-Cookie "+name)
	}
	if r.h.Get("Clear-Site-Data") != "" {
		out = append(out, "Clear-Site-Data")
	}
	return strings.Join(out, ", ")
}

// deletes reports whether a logout response deletes the mode's cookie and
// clears site data.
func deletes(r reply, mode string) bool {
	name := "__Host-session="
	if mode == "jwt" {
		name = "__Host-refresh="
	}
	for _, sc := range r.h.Values("Set-Cookie") {
		if strings.HasPrefix(sc, name+";") && strings.Contains(sc, "Max-Age=0") {
			return r.h.Get("Clear-Site-Data") != ""
		}
	}
	return false
}

// sample is one answer the hammer got.
type sample struct {
	name, path  string
	inst        int
	began, done time.Time
	status      int
}

// hammer sends GET /api/me and /verify with each of a few credentials to
// each instance, from a few goroutines, each at most max times and until
// halted.
type hammer struct {
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []sample
}

func startHammer(t *testing.T, ps []*proc, creds map[string]apiclient.Cred, workers, max int) *hammer {
	h := &hammer{stop: make(chan struct{})}
	var names []string
	for name := range creds {
		names = append(names, name)
	}
	slices.Sort(names)
	for w := range workers {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for i := range max {
				select {
				case <-h.stop:
					return
				default:
				}
				s := sample{name: names[i%len(names)], inst: (w + i/len(names)) % len(ps), path: "api/me"}
				if w%2 == 1 {
					s.path = "verify"
				}
				s.began = time.Now()
				s.status = call(t, "GET", ps[s.inst].url+s.path, creds[s.name], "").status
				s.done = time.Now()
				h.mu.Lock()
				h.samples = append(h.samples, s)
				h.mu.Unlock()
				time.Sleep(3 * time.Millisecond) // a steady load, not a flood: 2 cores run the instances too
			}
		}()
	}
	return h
}

func (h *hammer) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.samples)
}

// halt stops the hammer and waits for its requests in flight.
func (h *hammer) halt() {
	h.once.Do(func() { close(h.stop) })
	h.wg.Wait()
}

// failures describes the first few samples that are not ok, and how many.
func (h *hammer) failures(ok func(sample) bool) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var bad []string
	n := 0
	for _, s := range h.samples {
		if !ok(s) {
			if n++; n <= 5 {
				bad = append(bad, fmt.Sprintf("%s /%s on instance %d: %d", s.name, s.path, s.inst, s.status))
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d answers, e.g. %s", n, len(h.samples), strings.Join(bad, "; "))
}

// check applies the fail-closed rules to the answers around a store
// outage that began at stopping and was complete at down: before it, the
// revoked credential gets 401 and the others 200; after it, the revoked
// one gets 401 or 503 and never 200, and the others get 503, or 200 from
// memory only while the lease can still be fresh. A live session is never
// 401: the store being down signs no one out.
func (h *hammer) check(t *testing.T, stopping, down time.Time) {
	t.Helper()
	fresh := lapse(down)
	past := 0
	bad := h.failures(func(s sample) bool {
		revoked := s.name == "revoked"
		switch {
		case s.done.Before(stopping):
			return (revoked && s.status == 401) || (!revoked && s.status == 200)
		case revoked:
			return s.status == 401 || s.status == 503
		case s.status == 200:
			return s.began.Before(fresh)
		default:
			if s.began.After(fresh) {
				past++
			}
			return s.status == 503
		}
	})
	if bad != "" {
		t.Errorf("fail closed: %s", bad)
	}
	if past == 0 {
		t.Errorf("the hammer has no answer for a live session from after the lease lapsed: nothing was checked")
	}
}

// lapse is when every instance's lease has lapsed, for a store that was
// down at down: an instance trusts its memory only for a lease after its
// last complete read began, and that read began before the store stopped.
// The 50 ms are for the wall clock the instances read.
func lapse(down time.Time) time.Time { return down.Add(lease + 50*time.Millisecond) }

// pastLease counts the instances from which the hammer has an answer for a
// credential that is not revoked, begun after the lease lapsed (see lapse).
func (h *hammer) pastLease(down time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[int]bool{}
	for _, s := range h.samples {
		if s.name != "revoked" && s.began.After(lapse(down)) {
			seen[s.inst] = true
		}
	}
	return len(seen)
}

// slowest is the longest any request took.
func (h *hammer) slowest() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var d time.Duration
	for _, s := range h.samples {
		d = max(d, s.done.Sub(s.began))
	}
	return d
}

// summary counts the answers by credential and status.
func (h *hammer) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := map[string]map[int]int{}
	for _, s := range h.samples {
		if n[s.name] == nil {
			n[s.name] = map[int]int{}
		}
		n[s.name][s.status]++
	}
	var out []string
	for name, by := range n {
		var parts []string
		for st, k := range by {
			parts = append(parts, fmt.Sprintf("%d×%d", k, st))
		}
		slices.Sort(parts)
		out = append(out, name+" "+strings.Join(parts, " "))
	}
	slices.Sort(out)
	return fmt.Sprintf("%d requests (%s)", len(h.samples), strings.Join(out, "; "))
}

// A logout is interrupted inside Manager.revoke: its publish (the bus log's
// Append) is held up, and then the client gives up (a tab closed right
// after "sign out", a mobile request that timed out) or the database
// connection doing the append is terminated. The hold-up is made exact on a
// private PostgreSQL by holding the advisory lock that orders appends
// (pgstore's busLock). Whatever the logout answered, the instances must
// not disagree once the bus is back: A, B and a new instance that knows
// only the store answer the same; and when the client retries and logout
// answers 200, no instance accepts the session (I1, I11).
//
// This failed while Manager.revoke wrote the store first and published
// second: a failed publish left the store revoked while instances with a
// fresh bus kept the session in memory, and in session mode a retried
// logout found no live session to publish again. It now publishes first,
// and does not abandon a revocation because the client hung up.
func TestFault_InterruptedLogout_I1(t *testing.T) {
	for _, how := range []string{"client-gave-up", "store-failed"} {
		for _, mode := range []string{"session", "jwt"} {
			t.Run(how+"/"+mode, func(t *testing.T) {
				t.Parallel()
				interruptedLogout(t, how, mode)
			})
		}
	}
}

func interruptedLogout(t *testing.T, how, mode string) {
	pg := privatePG(t)
	args := []string{"--store", pg.url(), "--mode", mode, "--keys", filepath.Join(t.TempDir(), "keys.json")}
	a := serve(t, args...)
	b := serve(t, args...)
	email := "interrupted@example.test"
	register(t, a, email)
	s := login(t, a.url, email, mode)
	if t.Failed() {
		t.FailNow()
	}
	wantMe(t, []*proc{a, b}, s, 200, "before logout") // both have it in memory

	ctx := t.Context()
	lock, err := pgx.Connect(ctx, pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(ctx)
	const busLock = 0x5169_6e6f_6666 // store/pgstore/bus.go
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(busLock)); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			if _, err := lock.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(busLock)); err != nil {
				t.Error(err)
			}
		}
	}
	defer unlock()
	waiting := func() int64 { // backends waiting for the lock: A's append
		return pg.count(t, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'")
	}
	answered := func() int { return strings.Count(a.stderr.String(), "route=/logout status=") }

	// The client gives up at the exact point the test means: once A's
	// append is seen waiting for the lock. A client timeout instead could
	// expire, on a loaded machine, before A has even begun the revocation,
	// and the test would then be about something else.
	giveUp, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := apiclient.NewRequest(giveUp, "POST", a.url+"logout", s, s.RefreshBody())
	status := make(chan int, 1)
	go func() {
		res, err := client.Do(req)
		if err != nil {
			status <- 0
			return
		}
		res.Body.Close()
		status <- res.StatusCode
	}()
	waitFor(t, patience, "A's append waits for the lock", func() bool { return waiting() == 1 })
	switch how {
	case "client-gave-up":
		cancel()
		if st := <-status; st != 0 {
			t.Fatalf("logout answered %d while its append waited", st)
		}
		// A does not give up with the client: a revocation once begun is
		// finished (Manager.revoke runs without the request's
		// cancellation), so it still waits for the lock.
		if waiting() != 1 || answered() != 0 {
			t.Fatalf("A abandoned the logout when the client gave up (waiting %d, answered %d)", waiting(), answered())
		}
	case "store-failed":
		if n := pg.count(t, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"); n != 1 {
			t.Fatalf("terminated %d backends", n)
		}
		if st := <-status; st != 503 && st != 200 {
			t.Fatalf("logout whose append failed answered %d", st)
		}
	}
	unlock()
	waitFor(t, patience, "A has answered the logout", func() bool { return answered() == 1 })
	line := a.stderr.String()
	line = line[strings.Index(line, "route=/logout status="):]
	line, _, _ = strings.Cut(line, " ms=")
	if _, st, _ := strings.Cut(line, " status="); how == "client-gave-up" && !strings.HasPrefix(st, "200") {
		// The check above saw A still waiting right after the client
		// left, but A may notice the hang-up a moment later: what it
		// finally did is the proof that it finished the revocation.
		t.Errorf("A abandoned the logout when the client gave up: it logged %q", line)
	}

	c := serve(t, args...) // knows only what the store says
	ps := []*proc{a, b, c}
	var got []int
	agree := func() bool {
		got = got[:0]
		for _, p := range ps {
			got = append(got, me(t, p, s))
		}
		return got[0] == got[1] && got[1] == got[2]
	}
	// An instance may answer from memory for up to a lease after its last
	// read; the bug this test caught kept them apart for good. The wait is
	// patient (a loaded machine stretches a lease's worth of reads), and
	// its expiry is that bug.
	deadline := time.Now().Add(patience)
	for !agree() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !(got[0] == got[1] && got[1] == got[2]) {
		t.Errorf("after an interrupted logout (A logged %q) the instances disagree about the session, %v after the store was back: /api/me on A, B and a new instance: %v", line, patience, got)
	}
	retry := call(t, "POST", a.url+"logout", s, s.RefreshBody())
	if retry.status != 200 {
		t.Fatalf("retried logout: %d %s", retry.status, retry.body)
	}
	wantDead(t, ps, s, "after the retried logout answered 200")
}
