// Package logbus is a signoff.Bus built on a shared, ordered log of
// revocations, for instances that share a store: a table in SQLite or
// PostgreSQL, a sorted set in Redis. Each store supplies a Log; this package
// supplies the protocol, which is the same everywhere:
//
//   - Publish appends the revocation to the log, applies it in this process,
//     and returns once every other live instance has recorded that it applied
//     it (its cursor is at or past the entry), or fails after AckTimeout.
//   - Each subscribing instance reads the log after its cursor, applies what
//     it finds, and records its new cursor with a heartbeat. It reads when the
//     Log wakes it (NOTIFY, pub/sub) and at least every Poll. When it first
//     subscribes it applies every entry the log still holds, so a revocation
//     published just before it started, whose store write may land after it
//     read the store, is never missing from its memory.
//   - Liveness is judged on one clock, the log's (the database's now(),
//     Redis TIME): the log stamps each heartbeat with its own time and
//     compares it with its own time. An instance is live while its last
//     heartbeat is younger than Lease; publishers wait only for live
//     instances, so a crashed one holds a logout up for at most one lease.
//     Hosts' clocks never meet, so a host whose clock is off is waited for
//     like any other.
//   - An instance is Fresh (trusts its memory) only from a complete read
//     that began after a heartbeat of its own had been recorded, and for
//     less than a lease (minus an eighth, for the log's clock to run a little
//     fast) after that heartbeat was sent, measured on this process's
//     monotonic clock. A publisher that appended after the read began saw
//     that heartbeat or a later one, so it waits for this instance at least
//     that long: either the entry was applied or the instance is no longer
//     Fresh. A read that stalls (a slow database, a GC pause) therefore
//     proves nothing beyond the heartbeat before it. When it is not Fresh
//     an instance reads every credential through to the store; when it
//     reads the log again it catches up on everything it missed, because
//     entries stay in the log until no credential they name can still be
//     valid.
package logbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff"
)

// An Entry is one revocation in the log.
type Entry struct {
	Seq    int64  // increasing; never reused
	Origin string // the instance that published it
	signoff.Revocation
}

// Log is the shared state a store provides. Every method is safe for
// concurrent use. The Log owns the clock that judges liveness: heartbeats
// are stamped with its time and compared with its time, never a host's.
type Log interface {
	// Append adds r, published by origin, and returns its Seq. Entries
	// must become visible in Seq order: once After shows Seq n, no entry
	// with a smaller Seq may appear later (a reader past n would never see
	// it). A Log whose sequence is handed out before commit serialises
	// appends to keep this.
	Append(ctx context.Context, origin string, r signoff.Revocation) (int64, error)
	// After returns the entries with Seq > after, in order.
	After(ctx context.Context, after int64) ([]Entry, error)
	// Register records a heartbeat of instance, now on the log's clock,
	// and returns its cursor: for an instance the log does not know, the
	// end of the log; for one it knows, the cursor it has.
	Register(ctx context.Context, instance string) (int64, error)
	// Heartbeat records that instance has applied everything up to cursor,
	// now on the log's clock. It fails with ErrNotRegistered if the
	// instance is not registered (it was trimmed, or the log lost its
	// state).
	Heartbeat(ctx context.Context, instance string, cursor int64) error
	// Behind counts the instances other than self whose last heartbeat is
	// younger than lease on the log's clock and whose cursor is before seq.
	Behind(ctx context.Context, self string, seq int64, lease time.Duration) (int, error)
	// Deregister removes instance.
	Deregister(ctx context.Context, instance string) error
	// Trim deletes entries whose Until is before until, and instances whose
	// last heartbeat is older than silentFor on the log's clock.
	Trim(ctx context.Context, until time.Time, silentFor time.Duration) error
}

// ErrNotRegistered is what Log.Heartbeat wraps when the instance is not in
// the log.
var ErrNotRegistered = errors.New("logbus: instance not registered")

// Waker is implemented by Logs that can push. Wake returns a channel that
// receives, without blocking the sender, whenever an entry may have been
// appended or an instance may have moved its cursor, and a function that
// stops it. Logs without it are polled.
type Waker interface {
	Wake() (c <-chan struct{}, stop func())
}

// Options tune a Bus. The zero value is sensible.
type Options struct {
	// InstanceID names this process in the log. A random suffix is added,
	// so two processes given one name (an old and a new one overlapping
	// in a restart) are still two instances that wait for each other.
	// Default: random.
	InstanceID string
	// Poll is the longest a subscriber goes without reading the log, and
	// how often a publisher rechecks acknowledgements. Default 100ms.
	Poll time.Duration
	// Lease is how long a heartbeat counts, on the log's clock. An instance
	// trusts its memory for at most seven eighths of it after sending the
	// heartbeat its last read relied on. Publishers judge other instances
	// by their own Lease, so every instance sharing a log must use the
	// same one. Default 2s.
	Lease time.Duration
	// AckTimeout bounds how long Publish waits for live instances. Default 5s.
	AckTimeout time.Duration
	// Logger receives the bus's warnings. Default: discard.
	Logger *slog.Logger
	// Now is the clock that judges a revocation's Until, when its entry
	// may be trimmed: the Manager's. Liveness never reads it (see the
	// package doc). Default time.Now.
	Now func() time.Time
}

// Bus is a signoff.Bus on a Log. A Bus that never subscribes (an admin
// command) only publishes: it is not an instance and nobody waits for it.
type Bus struct {
	log   Log
	opt   Options
	logr  *slog.Logger
	waker Waker // nil: poll only

	mu      sync.Mutex
	subs    []func(signoff.Revocation)
	started bool

	epoch  time.Time    // the origin of mono
	fresh  atomic.Int64 // mono ns from which freshness counts; 0: never
	closed atomic.Bool
	lost   atomic.Bool // the log restarted behind this instance
	stop   chan struct{}
	done   chan struct{}

	// The poller's own state.
	cursor int64
	sent   int64 // mono ns when the last heartbeat known recorded was sent
	reads  int
}

// New returns a Bus on log.
func New(log Log, opt Options) *Bus {
	var nonce [8]byte
	rand.Read(nonce[:])
	if opt.InstanceID == "" {
		opt.InstanceID = "inst_" + hex.EncodeToString(nonce[:])
	} else {
		opt.InstanceID += "~" + hex.EncodeToString(nonce[:4])
	}
	if opt.Poll <= 0 {
		opt.Poll = 100 * time.Millisecond
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Second
	}
	if opt.AckTimeout <= 0 {
		opt.AckTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	b := &Bus{log: log, opt: opt, logr: opt.Logger, epoch: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	b.waker, _ = log.(Waker)
	return b
}

// mono is this process's monotonic clock, in ns since the Bus was made
// (always positive once anything has happened).
func (b *Bus) mono() int64 { return int64(time.Since(b.epoch)) + 1 }

// Subscribe implements signoff.Bus. The first call registers the instance,
// applies every entry the log holds (see the package doc) and starts the
// reader; it returns once this instance is Fresh.
func (b *Bus) Subscribe(apply func(signoff.Revocation)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return errors.New("logbus: closed")
	}
	if b.started {
		// A later subscriber would have missed what the first one applied.
		return errors.New("logbus: a Bus takes one subscriber; give each Manager a Bus of its own")
	}
	b.subs = []func(signoff.Revocation){apply}
	// A long log takes a while to read; being slow here only delays
	// freshness, which the reader then proves on its own.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent := b.mono()
	end, err := b.log.Register(ctx, b.opt.InstanceID)
	if err != nil {
		return fmt.Errorf("logbus: subscribe: %w", err)
	}
	// Registered: publishers wait for this instance from now on. Read the
	// whole log, not only what follows end: an entry before end may be a
	// revocation whose store write has not landed yet.
	b.sent, b.cursor = sent, 0
	if err := b.read(ctx, true); err != nil {
		dctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		b.log.Deregister(dctx, b.opt.InstanceID)
		b.subs = nil
		return fmt.Errorf("logbus: subscribe: read the log: %w", err)
	}
	b.cursor = max(b.cursor, end)
	b.started = true
	go b.run()
	return nil
}

// Fresh implements signoff.Bus.
func (b *Bus) Fresh() bool {
	if b.closed.Load() || b.lost.Load() {
		return false
	}
	from := b.fresh.Load()
	return from != 0 && b.mono()-from < b.trust()
}

// trust is how long a read's proof lasts: seven eighths of a lease.
func (b *Bus) trust() int64 { return int64(b.opt.Lease - b.opt.Lease/8) }

// wakeup returns a channel that the Log pokes, or nil (never ready).
func (b *Bus) wakeup() (<-chan struct{}, func()) {
	if b.waker == nil {
		return nil, func() {}
	}
	return b.waker.Wake()
}

func (b *Bus) run() {
	defer close(b.done)
	t := time.NewTicker(b.opt.Poll)
	defer t.Stop()
	wake, stop := b.wakeup()
	defer stop()
	failing := false
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		case <-wake:
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opt.Lease)
		err := b.read(ctx, false)
		cancel()
		switch {
		case err != nil && !failing:
			failing = true
			b.logr.Warn("revocation bus: read failed; reading every credential through to the store until it recovers", "instance", b.opt.InstanceID, "err", err)
		case err == nil && failing:
			failing = false
			b.logr.Info("revocation bus: recovered", "instance", b.opt.InstanceID)
		}
	}
}

// read applies the entries after the cursor and records the new cursor
// (at once when it moved: a publisher waits for it) and a heartbeat (every
// quarter lease otherwise). Freshness comes from the heartbeat that was
// already recorded when the read began, never from the one it records:
// publishers that appended while this read was under way judged this
// instance by the older one. The replay at Subscribe holds b.mu.
func (b *Bus) read(ctx context.Context, replay bool) error {
	proof := b.sent
	es, err := b.log.After(ctx, b.cursor)
	if err != nil {
		return err
	}
	last := b.cursor
	var rs []signoff.Revocation
	for _, e := range es {
		last = e.Seq
		if e.Origin != b.opt.InstanceID { // Publish applied our own
			rs = append(rs, e.Revocation)
		}
	}
	if replay {
		deliverTo(b.subs, rs)
	} else {
		b.deliver(rs...)
	}
	if last != b.cursor || b.mono()-b.sent >= int64(b.opt.Lease/4) {
		sent := b.mono()
		if err := b.log.Heartbeat(ctx, b.opt.InstanceID, last); err != nil {
			if errors.Is(err, ErrNotRegistered) {
				b.reregister(ctx, last)
			}
			return err // not Fresh from this read: the next one proves it
		}
		b.cursor, b.sent = last, sent
	}
	b.fresh.Store(proof)
	if b.reads++; b.reads%100 == 1 {
		b.log.Trim(ctx, b.opt.Now(), time.Hour) // best effort
	}
	return nil
}

// reregister puts the instance back in the log after it was dropped (it
// was silent past the trim, or the log's state was lost), keeping its own
// cursor: the next read applies everything after what it has applied. If
// the log now ends before that cursor, it restarted empty and its numbers
// mean something else: nothing it says can be matched with this memory, so
// the bus stays not Fresh (reading through) until the process restarts.
func (b *Bus) reregister(ctx context.Context, applied int64) {
	end, err := b.log.Register(ctx, b.opt.InstanceID)
	switch {
	case err != nil:
		return
	case end < applied:
		b.lost.Store(true)
		b.logr.Error("revocation bus: the log restarted behind this instance; it reads every credential through to the store until restarted", "instance", b.opt.InstanceID)
	default:
		b.logr.Warn("revocation bus: registered again after being dropped", "instance", b.opt.InstanceID)
	}
}

func (b *Bus) deliver(rs ...signoff.Revocation) {
	if len(rs) == 0 {
		return
	}
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	deliverTo(subs, rs)
}

func deliverTo(subs []func(signoff.Revocation), rs []signoff.Revocation) {
	for _, r := range rs {
		for _, apply := range subs {
			apply(r)
		}
	}
}

// Publish implements signoff.Bus.
func (b *Bus) Publish(ctx context.Context, r signoff.Revocation) error {
	if b.closed.Load() {
		return errors.New("logbus: closed")
	}
	seq, err := b.log.Append(ctx, b.opt.InstanceID, r)
	if err != nil {
		return fmt.Errorf("logbus: publish: %w", err)
	}
	b.deliver(r)
	ctx, cancel := context.WithTimeout(ctx, b.opt.AckTimeout)
	defer cancel()
	tick := time.NewTicker(b.opt.Poll / 4)
	defer tick.Stop()
	wake, stop := b.wakeup()
	defer stop()
	for {
		behind, err := b.log.Behind(ctx, b.opt.InstanceID, seq, b.opt.Lease)
		if err == nil && behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d live instance(s) did not confirm within %s", behind, b.opt.AckTimeout)
			}
			return fmt.Errorf("logbus: publish: %w", err)
		case <-tick.C:
		case <-wake:
		}
	}
}

// Close stops the reader and deregisters the instance, so publishers stop
// waiting for it at once.
func (b *Bus) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.mu.Lock()
	started := b.started
	b.mu.Unlock()
	if !started {
		return nil
	}
	close(b.stop)
	<-b.done
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return b.log.Deregister(ctx, b.opt.InstanceID)
}

var _ signoff.Bus = (*Bus)(nil)
