package logbus_test

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/logbus/logbustest"
	"github.com/signoff/signoff/store/memstore"
)

var ctx = context.Background()

// flaky is one instance's view of a shared log that it can lose.
type flaky struct {
	*logbus.MemLog
	down atomic.Bool
}

var errDown = errors.New("injected: the log cannot be reached")

func (f *flaky) After(ctx context.Context, after int64) ([]logbus.Entry, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.MemLog.After(ctx, after)
}

func (f *flaky) Heartbeat(ctx context.Context, id string, c int64) error {
	if f.down.Load() {
		return errDown
	}
	return f.MemLog.Heartbeat(ctx, id, c)
}

func subscribe(t *testing.T, l logbus.Log, id string) (*logbus.Bus, *logbustest.Recorder) {
	t.Helper()
	return logbustest.Subscribe(t, l, logbustest.Options(id))
}

func until() time.Time { return time.Now().Add(time.Hour) }

// An instance that loses the log stops being Fresh within a lease, does
// not hold publishers up beyond it, and on recovery applies what it missed
// before it is Fresh again.
func TestMemLog(t *testing.T) {
	logbustest.Run(t, func(t *testing.T) func() logbus.Log {
		l := &logbus.MemLog{}
		return func() logbus.Log { return l }
	})
}

func TestLostLogCatchUp(t *testing.T) {
	shared := &logbus.MemLog{}
	a, _ := subscribe(t, shared, "A")
	fb := &flaky{MemLog: shared}
	b, rb := subscribe(t, fb, "B")

	fb.down.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for b.Fresh() {
		if time.Now().After(deadline) {
			t.Fatal("B stayed Fresh without its log")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.Publish(ctx, signoff.Revocation{SessionID: "ses_missed", Until: until()}); err != nil {
		t.Fatalf("Publish with B's lease lapsed: %v", err)
	}
	if rb.Has("ses_missed") {
		t.Fatal("B applied a revocation while its log was down")
	}
	fb.down.Store(false)
	for !b.Fresh() {
		if time.Now().After(deadline) {
			t.Fatal("B did not become Fresh again")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !rb.Has("ses_missed") {
		t.Fatal("B is Fresh again without the revocation it missed")
	}
}

// While clients keep authenticating on B and C, A logs the session out: no
// request that started after A's logout returned succeeds.
func TestLogoutRace_R51(t *testing.T) {
	log := &logbus.MemLog{}
	ms := logbustest.Managers(t, signoff.ModeSession, memstore.New(), []logbus.Log{log, log, log}, func(i int) logbus.Options {
		return logbustest.Options(string(rune('A' + i)))
	})
	req := logbustest.SignIn(t, ms[0], "usr_1").Request
	var loggedOut atomic.Bool
	var late atomic.Int64 // successes of requests that began after logout returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, m := range ms[1:] {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := loggedOut.Load()
					if _, err := m.Authenticate(req("GET")); err == nil && after {
						late.Add(1)
					}
				}
			}()
		}
	}
	time.Sleep(20 * time.Millisecond) // let the readers warm their caches
	if err := ms[0].Logout(httptest.NewRecorder(), req("POST")); err != nil {
		t.Fatal(err)
	}
	loggedOut.Store(true)
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := late.Load(); n != 0 {
		t.Fatalf("%d requests that began after logout returned were accepted", n)
	}
}

// named is one instance's handle on a shared log that remembers the name,
// suffix and all, the instance registered under.
type named struct {
	*logbus.MemLog
	mu   sync.Mutex
	name string
}

func (n *named) Register(ctx context.Context, instance string) (int64, error) {
	n.mu.Lock()
	n.name = instance
	n.mu.Unlock()
	return n.MemLog.Register(ctx, instance)
}

func (n *named) instance() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.name
}

// An instance dropped from the log (silent past the trim, or the log lost
// its state) registers again by itself, keeps its own cursor, and is Fresh
// again only after it has applied what was published meanwhile.
func TestDroppedInstanceRegistersAgain(t *testing.T) {
	log := &logbus.MemLog{}
	la, lb := &named{MemLog: log}, &named{MemLog: log}
	a, _ := subscribe(t, la, "A")
	b, rb := subscribe(t, lb, "B")
	if err := log.Deregister(ctx, lb.instance()); err != nil {
		t.Fatal(err)
	}
	// Published while B is not registered: A does not wait for B.
	if err := a.Publish(ctx, signoff.Revocation{SessionID: "ses_meanwhile", Until: until()}); err != nil {
		t.Fatal(err)
	}
	registered := func() bool { // B is in the log again: A's publishes wait for it
		n, err := log.Behind(ctx, la.instance(), math.MaxInt64, time.Minute)
		return err == nil && n == 1
	}
	deadline := time.Now().Add(5 * time.Second)
	for !rb.Has("ses_meanwhile") || !b.Fresh() || !registered() {
		if time.Now().After(deadline) {
			t.Fatalf("B did not recover: applied %v, Fresh %v, registered %v", rb.Has("ses_meanwhile"), b.Fresh(), registered())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Registered again: a publish waits for B once more.
	if err := a.Publish(ctx, signoff.Revocation{SessionID: "ses_after", Until: until()}); err != nil {
		t.Fatal(err)
	}
	if !rb.Has("ses_after") {
		t.Fatal("Publish returned before the re-registered B applied it")
	}
}

// gatedStore stalls RevokeSession at its start, between a logout's publish
// and its store write.
type gatedStore struct {
	signoff.Store
	revoke logbustest.Gate
}

func (s *gatedStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	s.revoke.Pass()
	return s.Store.RevokeSession(ctx, id, at)
}

// An instance that starts while a logout elsewhere has published but not
// yet written the store reads the session as live from the store; it must
// still refuse it, at the latest once the logout has returned (I1).
func TestInstanceStartingDuringLogout_I1(t *testing.T) {
	mem, log := memstore.New(), &logbus.MemLog{}
	gated := &gatedStore{Store: mem}
	manager := func(id string, store signoff.Store) *signoff.Manager {
		return logbustest.Managers(t, signoff.ModeSession, store, []logbus.Log{log}, func(int) logbus.Options { return logbustest.Options(id) })[0]
	}
	a := manager("A", gated)
	req := logbustest.SignIn(t, a, "usr_1").Request
	stalled := gated.revoke.Arm()
	t.Cleanup(gated.revoke.Open)
	logout := make(chan error, 1)
	go func() { logout <- a.Logout(httptest.NewRecorder(), req("POST")) }()
	logbustest.Reach(t, stalled, "the logout published and went to write the store")

	b := manager("B", mem) // starts now: the store still says the session is live
	b.Authenticate(req("GET"))
	gated.revoke.Open()
	if err := <-logout; err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the first may fill B's memory; the others hit it
		if _, err := b.Authenticate(req("GET")); err == nil {
			t.Fatalf("request %d: B, started during the logout, accepted the session after the logout returned", i)
		}
	}
}

// A Bus takes one subscriber: a second one would have missed what the
// first applied at Subscribe.
func TestSecondSubscribeRefused(t *testing.T) {
	b, _ := subscribe(t, &logbus.MemLog{}, "A")
	if err := b.Subscribe(func(signoff.Revocation) {}); err == nil {
		t.Fatal("a second Subscribe on a started Bus succeeded")
	}
}
