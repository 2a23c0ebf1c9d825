// Package logbustest is the conformance suite for a logbus.Log: the bus
// protocol run on it, with several instances, as a store's own test calls it:
//
//	logbustest.Run(t, func(t *testing.T) func() logbus.Log { … })
//
// The constructor returns a function that opens one more handle on one
// shared, empty log: each handle stands for another process.
package logbustest

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/store/memstore"
)

// Run runs every check; each gets a log of its own.
func Run(t *testing.T, newLog func(t *testing.T) func() logbus.Log) {
	checks := []struct {
		name string
		fn   func(*testing.T, func() logbus.Log)
	}{
		{"PublishWaitsForEveryInstance", testPublishWaits},
		{"PublishOnlyIsNoInstance", testPublishOnly},
		{"DeadInstanceHoldsNobodyUp", testDeadInstance},
		{"UnconfirmedPublishFails", testUnconfirmed},
		{"CloseDeregisters", testCloseDeregisters},
		{"OrderUnderConcurrentPublishers", testOrder},
		{"ThreeManagersLogout", testThreeManagers},
		{"StalledReaderIsNotFresh", testStalledReader},
		{"SkewedClocks", testSkewedClocks},
		{"ReplayAtSubscribe", testReplayAtSubscribe},
		{"SameInstanceID", testSameInstanceID},
		{"LogoutEverywhereHalfWay", testLogoutEverywhereHalfWay},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newLog(t)) })
	}
}

var ctx = context.Background()

// Options are fast timings for tests.
func Options(id string) logbus.Options {
	return logbus.Options{InstanceID: id, Poll: 20 * time.Millisecond, Lease: 500 * time.Millisecond, AckTimeout: 3 * time.Second}
}

// Recorder keeps the revocations a subscriber was given.
type Recorder struct {
	mu  sync.Mutex
	got []signoff.Revocation
}

// Apply is the subscriber.
func (r *Recorder) Apply(x signoff.Revocation) {
	r.mu.Lock()
	r.got = append(r.got, x)
	r.mu.Unlock()
}

// Sessions lists the session IDs applied, in order.
func (r *Recorder) Sessions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, x := range r.got {
		out = append(out, x.SessionID)
	}
	return out
}

// Has reports whether sid was applied.
func (r *Recorder) Has(sid string) bool {
	for _, s := range r.Sessions() {
		if s == sid {
			return true
		}
	}
	return false
}

// Saw reports whether any revocation applied satisfies match.
func (r *Recorder) Saw(match func(signoff.Revocation) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.got {
		if match(x) {
			return true
		}
	}
	return false
}

// Subscribe starts a Bus on l that records what it applies; it is closed
// when the test ends.
func Subscribe(t *testing.T, l logbus.Log, opt logbus.Options) (*logbus.Bus, *Recorder) {
	t.Helper()
	b := logbus.New(l, opt)
	t.Cleanup(func() { b.Close() })
	r := &Recorder{}
	if err := b.Subscribe(r.Apply); err != nil {
		t.Fatal(err)
	}
	return b, r
}

func until() time.Time { return time.Now().Add(time.Hour) }

// Managers starts one Manager per log handle, all in mode on store and
// sharing their keys, as the instances of one deployment do; opt(i) gives
// instance i's bus options. Each is closed when the test ends.
func Managers(t *testing.T, mode signoff.Mode, store signoff.Store, logs []logbus.Log, opt func(i int) logbus.Options) []*signoff.Manager {
	t.Helper()
	key, err := accesstoken.GenerateKey(accesstoken.EdDSA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := accesstoken.NewKeySet(key)
	refreshKey := make([]byte, 32)
	rand.Read(refreshKey)
	var ms []*signoff.Manager
	for i, l := range logs {
		bus := logbus.New(l, opt(i))
		t.Cleanup(func() { bus.Close() })
		m, err := signoff.New(signoff.Config{Mode: mode, Store: store, Bus: bus, Keys: keys, RefreshKey: refreshKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	return ms
}

func testPublishWaits(t *testing.T, open func() logbus.Log) {
	var buses []*logbus.Bus
	var rs []*Recorder
	for _, id := range []string{"A", "B", "C"} {
		b, r := Subscribe(t, open(), Options(id))
		buses, rs = append(buses, b), append(rs, r)
	}
	for i := range 12 {
		sid := "ses_" + string(rune('a'+i))
		if err := buses[i%3].Publish(ctx, signoff.Revocation{SessionID: sid, UserID: "u", Until: until()}); err != nil {
			t.Fatal(err)
		}
		// Publish waits for every instance holding a lease. One whose
		// heartbeat lapsed (a loaded CI machine, -race) is not waited for,
		// but then it is not Fresh and reads through to the store: what
		// I1 needs is "applied, or not trusting memory". Fresh is read
		// first, so an instance catching up in between cannot fail this.
		for j, r := range rs {
			if fresh := buses[j].Fresh(); fresh && !r.Has(sid) {
				t.Fatalf("Publish of %s from instance %d returned before instance %d, still Fresh, applied it", sid, i%3, j)
			}
		}
	}
	// A lapsed lease (above) comes back by itself once heartbeats resume.
	for deadline := time.Now().Add(5 * time.Second); !buses[0].Fresh(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a reading instance is not Fresh")
		}
	}
}

func testPublishOnly(t *testing.T, open func() logbus.Log) {
	_, r := Subscribe(t, open(), Options("serve"))
	cli := logbus.New(open(), logbus.Options{})
	defer cli.Close()
	if cli.Fresh() {
		t.Error("a bus that never subscribed is Fresh")
	}
	// An admin command: every field reaches the serving instance, the
	// operator included, for its log.
	if err := cli.Publish(ctx, signoff.Revocation{UserID: "u", AuthVersion: 3, Pending: "lae_1", Operator: "alice@ops-1", Action: "user.disabled", Keys: 7, Until: until()}); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) != 1 || r.got[0].AuthVersion != 3 || r.got[0].UserID != "u" || r.got[0].Pending != "lae_1" || r.got[0].Operator != "alice@ops-1" || r.got[0].Keys != 7 || r.got[0].Action != "user.disabled" {
		t.Fatalf("the serving instance applied %+v when Publish returned", r.got)
	}
}

func testDeadInstance(t *testing.T, open func() logbus.Log) {
	sd := &StallLog{Log: open()}
	dead, _ := stallSubscribe(t, sd, Options("dead"))
	Reach(t, sd.Read.Arm(), "dead began a read, where it hangs")
	live, _ := Subscribe(t, open(), Options("live"))
	if err := live.Publish(ctx, signoff.Revocation{SessionID: "s", Until: until()}); err != nil {
		t.Fatalf("Publish with a dead instance: %v; want success once its lease lapses", err)
	}
	if dead.Fresh() {
		t.Fatal("an instance that stopped reading is still Fresh")
	}
}

func testUnconfirmed(t *testing.T, open func() logbus.Log) {
	opt := Options("stuck")
	opt.Lease = time.Hour
	ss := &StallLog{Log: open()}
	stallSubscribe(t, ss, opt)
	Reach(t, ss.Read.Arm(), "stuck began a read, where it hangs")
	pub := logbus.New(open(), logbus.Options{Poll: 10 * time.Millisecond, Lease: time.Hour, AckTimeout: 150 * time.Millisecond})
	defer pub.Close()
	if err := pub.Publish(ctx, signoff.Revocation{SessionID: "s", Until: until()}); err == nil {
		t.Fatal("Publish with a live instance that never applied: want an error")
	}
}

func testCloseDeregisters(t *testing.T, open func() logbus.Log) {
	opt := Options("gone")
	opt.Lease = time.Hour
	gone := logbus.New(open(), opt)
	if err := gone.Subscribe(func(signoff.Revocation) {}); err != nil {
		t.Fatal(err)
	}
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	if gone.Fresh() {
		t.Error("a closed bus is Fresh")
	}
	pub := logbus.New(open(), logbus.Options{AckTimeout: 150 * time.Millisecond})
	defer pub.Close()
	if err := pub.Publish(ctx, signoff.Revocation{SessionID: "s", Until: until()}); err != nil {
		t.Fatalf("Publish after the only instance closed: %v", err)
	}
}

// Every instance applies every entry exactly once, in one order, however
// many publish at once.
func testOrder(t *testing.T, open func() logbus.Log) {
	_, r := Subscribe(t, open(), Options("reader"))
	var pubs []*logbus.Bus
	for range 3 {
		p := logbus.New(open(), logbus.Options{Poll: 20 * time.Millisecond, AckTimeout: 5 * time.Second})
		t.Cleanup(func() { p.Close() })
		pubs = append(pubs, p)
	}
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				sid := "ses_" + string(rune('A'+i)) + string(rune('a'+j))
				if err := p.Publish(ctx, signoff.Revocation{SessionID: sid, Until: until()}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := r.Sessions()
	seen := map[string]bool{}
	for _, s := range got {
		if seen[s] {
			t.Fatalf("%s applied twice", s)
		}
		seen[s] = true
	}
	if len(seen) != 30 {
		t.Fatalf("the reader applied %d of 30 revocations", len(seen))
	}
}

// Three Managers on one store, each with its own handle on the log: a
// logout on one is final on all three when it returns (I1, R51).
func testThreeManagers(t *testing.T, open func() logbus.Log) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			ms := Managers(t, mode, memstore.New(), []logbus.Log{open(), open(), open()}, func(i int) logbus.Options {
				return Options(string(rune('A'+i)) + mode.String())
			})
			for i := range 9 {
				req := SignIn(t, ms[i%3], "usr_1").Request
				for j, m := range ms {
					if _, err := m.Authenticate(req("GET")); err != nil {
						t.Fatalf("session %d on instance %d before logout: %v", i, j, err)
					}
				}
				if err := ms[(i+1)%3].Logout(httptest.NewRecorder(), req("POST")); err != nil {
					t.Fatal(err)
				}
				for j, m := range ms {
					if _, err := m.Authenticate(req("GET")); err == nil {
						t.Fatalf("session %d: instance %d accepted the credential after the logout on instance %d returned", i, j, (i+1)%3)
					}
				}
			}
		})
	}
}
