package logbustest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
)

// A Gate stops the next caller at one exact point until the test opens it.
// The zero value lets everyone through.
type Gate struct {
	mu      sync.Mutex
	armed   bool
	reached chan struct{}
	open    chan struct{}
}

// Arm makes the next call that reaches the gate wait until Open. The
// channel it returns is closed when that call has reached the gate.
func (g *Gate) Arm() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = true
	g.reached = make(chan struct{})
	g.open = make(chan struct{})
	return g.reached
}

// Open lets the waiting call (and any later one) through.
func (g *Gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = false
	if g.open != nil {
		select {
		case <-g.open:
		default:
			close(g.open)
		}
	}
}

// Pass is the point where a wrapper stalls: the call that reaches an armed
// gate waits there until Open.
func (g *Gate) Pass() {
	g.mu.Lock()
	if !g.armed {
		g.mu.Unlock()
		return
	}
	g.armed = false
	reached, open := g.reached, g.open
	g.mu.Unlock()
	close(reached)
	<-open
}

// StallLog is one instance's handle on a Log that a test can stop at two
// points: Read stops the next After before it reads the log, Beat stops the
// next Heartbeat before it is recorded (after the read it follows). It is
// how a test reaches the interleavings of a slow database, a GC pause, a
// lock queue or a hung process without sleeping and hoping.
type StallLog struct {
	logbus.Log
	Read, Beat Gate
}

// After implements logbus.Log.
func (s *StallLog) After(ctx context.Context, after int64) ([]logbus.Entry, error) {
	s.Read.Pass()
	return s.Log.After(ctx, after)
}

// Heartbeat implements logbus.Log.
func (s *StallLog) Heartbeat(ctx context.Context, instance string, cursor int64) error {
	s.Beat.Pass()
	return s.Log.Heartbeat(ctx, instance, cursor)
}

// stallSubscribe is Subscribe on a StallLog whose gates open when the test
// ends, before the bus closes: a failed test must not leave its reader
// stuck at a gate.
func stallSubscribe(t *testing.T, s *StallLog, opt logbus.Options) (*logbus.Bus, *Recorder) {
	t.Helper()
	b, r := Subscribe(t, s, opt)
	t.Cleanup(func() { s.Read.Open(); s.Beat.Open() })
	return b, r
}

// Reach waits for a gate to be reached, failing the test after a bound that
// only a broken bus reaches.
func Reach(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never happened", what)
	}
}

// eventually waits until cond holds, failing after a bound that only a
// broken bus reaches.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
	}
}

// leaseOptions are Options with a lease long enough that a stall of a
// fraction of it is not mistaken for load.
func leaseOptions(id string) logbus.Options {
	opt := Options(id)
	opt.Lease = time.Second
	return opt
}

// A reader that stalls between reading the log and recording its
// heartbeat is waited for only until its previous heartbeat lapses; the
// publisher then returns. The reader must not count itself Fresh from that
// read: it proved nothing about what was published while it stalled.
func testStalledReader(t *testing.T, open func() logbus.Log) {
	sx := &StallLog{Log: open()}
	x, rx := stallSubscribe(t, sx, leaseOptions("X"))
	a, _ := Subscribe(t, open(), leaseOptions("A"))
	eventually(t, "X is Fresh", x.Fresh)

	stalled := sx.Beat.Arm()
	Reach(t, stalled, "X read the log and went to record its heartbeat")
	// A publishes while X is stuck: A waits for X's last recorded
	// heartbeat to lapse, then returns.
	if err := a.Publish(ctx, signoff.Revocation{SessionID: "ses_while_stalled", Until: until()}); err != nil {
		t.Fatalf("Publish while X stalls: %v; want success once X's lease lapses", err)
	}
	next := sx.Read.Arm()
	sx.Beat.Open() // X's heartbeat is recorded now, with the cursor of the read before the publish
	Reach(t, next, "X began its next read")
	if x.Fresh() && !rx.Has("ses_while_stalled") {
		t.Fatal("X counts itself Fresh from a read that began before a publish that did not wait for it, without having applied it")
	}
	sx.Read.Open()
	eventually(t, "X applies what it missed and is Fresh again", func() bool { return rx.Has("ses_while_stalled") && x.Fresh() })
}

// Instances whose clocks disagree: X's clock is 2 s behind A's (or ahead).
// A must still wait for X while X counts itself Fresh, and no longer than
// X's lease: liveness is judged on one clock, the log's, never by
// comparing hosts' clocks. Options.Now is the only host clock a Bus is
// given; when heartbeats were stamped with it, -2s failed here on every
// log, and +2s held publishers past their AckTimeout.
func testSkewedClocks(t *testing.T, open func() logbus.Log) {
	for _, skew := range []time.Duration{-2 * time.Second, 2 * time.Second} {
		t.Run(skew.String(), func(t *testing.T) {
			sx := &StallLog{Log: open()}
			opt := leaseOptions("X" + skew.String())
			opt.Now = func() time.Time { return time.Now().Add(skew) }
			x, rx := stallSubscribe(t, sx, opt)
			a, _ := Subscribe(t, open(), leaseOptions("A"+skew.String()))
			eventually(t, "X is Fresh", x.Fresh)

			stalled := sx.Read.Arm()
			Reach(t, stalled, "X began a read")
			sid := "ses_skew" + skew.String()
			if err := a.Publish(ctx, signoff.Revocation{SessionID: sid, Until: until()}); err != nil {
				t.Fatalf("Publish while X stalls: %v; want success once X's lease lapses", err)
			}
			if x.Fresh() && !rx.Has(sid) {
				t.Fatalf("with X's clock %s off, A's publish returned while X, still Fresh, had not applied it", skew)
			}
			sx.Read.Open()
			eventually(t, "X applies it and is Fresh again", func() bool { return rx.Has(sid) && x.Fresh() })
		})
	}
}

// An instance that subscribes applies every entry the log still holds,
// not only those after the end of the log when it registered: a
// revocation published just before it started may have its store write
// land after this instance first read the store.
func testReplayAtSubscribe(t *testing.T, open func() logbus.Log) {
	a, _ := Subscribe(t, open(), Options("A"))
	if err := a.Publish(ctx, signoff.Revocation{SessionID: "ses_before_start", Until: until()}); err != nil {
		t.Fatal(err)
	}
	_, rx := Subscribe(t, open(), Options("X"))
	if !rx.Has("ses_before_start") {
		t.Fatal("an instance that subscribed after a publish did not apply it before Subscribe returned")
	}
}

// Two processes given one InstanceID (an old and a new one overlapping in a
// restart, or a fixed ID copied between hosts) are two instances: each
// applies what the other publishes before that publish returns, and the
// new one applies what the old one published before it started.
func testSameInstanceID(t *testing.T, open func() logbus.Log) {
	old, rold := Subscribe(t, open(), Options("web1"))
	publish := func(b *logbus.Bus, sid string) {
		t.Helper()
		if err := b.Publish(ctx, signoff.Revocation{SessionID: sid, Until: until()}); err != nil {
			t.Fatal(err)
		}
	}
	publish(old, "ses_before_the_new_one")
	neu, rneu := Subscribe(t, open(), Options("web1"))
	if !rneu.Has("ses_before_the_new_one") {
		t.Fatal("the new process did not apply what the old one under its name published before it started")
	}
	publish(old, "ses_from_the_old_one")
	if fresh := neu.Fresh(); fresh && !rneu.Has("ses_from_the_old_one") {
		t.Fatal("a publish by the old process returned before the new one, Fresh, under the same name applied it")
	}
	publish(neu, "ses_from_the_new_one")
	if fresh := old.Fresh(); fresh && !rold.Has("ses_from_the_new_one") {
		t.Fatal("a publish by the new process returned before the old one, Fresh, under the same name applied it")
	}
}
