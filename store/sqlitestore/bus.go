package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff"
)

// BusOptions tune a Bus. The zero value is sensible.
type BusOptions struct {
	// InstanceID names this process in the instances table. Default: random.
	InstanceID string
	// Poll is how often a subscriber reads new revocations and renews its
	// heartbeat. Default 100ms.
	Poll time.Duration
	// Lease is how long a heartbeat counts: a subscriber that has not polled
	// for that long is not Fresh, and publishers stop waiting for it.
	// Default 2s.
	Lease time.Duration
	// AckTimeout bounds how long Publish waits for live subscribers to apply
	// a revocation. Default 5s.
	AckTimeout time.Duration
	// Logger receives the bus's warnings. Default: discard.
	Logger *slog.Logger
	// Now is the clock that judges a revocation's Until (when its row may be
	// deleted). Heartbeats always use the wall clock: they are compared
	// across processes. Default time.Now.
	Now func() time.Time
}

// Bus is a signoff.Bus between processes that share one SQLite file. A
// revocation is a row in the revocations table; each subscribing process
// polls for rows it has not applied and records how far it got, with a
// heartbeat, in the instances table. Publish inserts the row and returns
// once every instance with a live heartbeat has recorded it.
//
// A Bus that never subscribes (the CLI's admin commands) only publishes: it
// is not an instance and nobody waits for it.
type Bus struct {
	st   *Store
	opt  BusOptions
	log  *slog.Logger
	mu   sync.Mutex
	subs []func(signoff.Revocation)
	// fresh is the wall-clock unix ns of the last successful poll: the bus
	// is Fresh while it is within the lease.
	fresh   atomic.Int64
	started bool
	polls   int       // touched only by the poller
	beat    time.Time // the last heartbeat written; set by Subscribe, then only by the poller
	stop    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
}

// NewBus returns a Bus on the store's file.
func (s *Store) NewBus(opt BusOptions) *Bus {
	if opt.InstanceID == "" {
		var b [8]byte
		rand.Read(b[:])
		opt.InstanceID = "inst_" + hex.EncodeToString(b[:])
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
	return &Bus{st: s, opt: opt, log: opt.Logger, stop: make(chan struct{}), done: make(chan struct{})}
}

// ID is the instance ID this bus subscribes under.
func (b *Bus) ID() string { return b.opt.InstanceID }

// Subscribe implements signoff.Bus. The first call registers the instance,
// starting after every revocation already published (this process's memory
// holds nothing older), and starts the poller.
func (b *Bus) Subscribe(apply func(signoff.Revocation)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return errors.New("sqlitestore: bus is closed")
	}
	b.subs = append(b.subs, apply)
	if b.started {
		return nil
	}
	ctx := context.Background()
	// One reading of the clock for the heartbeat and for freshness, in
	// whole microseconds as stored: this instance is never Fresh for longer
	// than publishers wait for it.
	now := time.UnixMicro(time.Now().UnixMicro())
	_, err := b.st.w.ExecContext(ctx, `INSERT INTO instances (id, applied_seq, heartbeat_at)
		VALUES (?, (SELECT coalesce(max(seq), 0) FROM revocations), ?)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, b.opt.InstanceID, now.UnixMicro())
	if err != nil {
		return b.st.fail("subscribe", err)
	}
	b.beat = now
	b.fresh.Store(now.UnixNano())
	b.started = true
	go b.run()
	return nil
}

// Fresh implements signoff.Bus.
func (b *Bus) Fresh() bool {
	if b.closed.Load() {
		return false
	}
	last := b.fresh.Load()
	return last != 0 && time.Now().UnixNano()-last < int64(b.opt.Lease)
}

func (b *Bus) run() {
	defer close(b.done)
	t := time.NewTicker(b.opt.Poll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opt.Lease)
		err := b.poll(ctx)
		cancel()
		switch {
		case err != nil && !failing:
			failing = true
			b.log.Warn("revocation bus: poll failed; reading every credential through to the store until it recovers", "err", err)
		case err == nil && failing:
			failing = false
			b.log.Info("revocation bus: poll recovered")
		}
	}
}

// poll applies every revocation after the instance's applied_seq, then
// records the new position and a heartbeat in one statement.
func (b *Bus) poll(ctx context.Context) error {
	start := time.Now()
	var seen int64
	err := b.st.r.QueryRowContext(ctx, `SELECT applied_seq FROM instances WHERE id = ?`, b.opt.InstanceID).Scan(&seen)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("instance %s is no longer registered", b.opt.InstanceID)
	}
	if err != nil {
		return err
	}
	rows, err := b.st.r.QueryContext(ctx, `SELECT seq, origin, session_id, user_id, auth_version, until_at
		FROM revocations WHERE seq > ? ORDER BY seq`, seen)
	if err != nil {
		return err
	}
	var batch []signoff.Revocation
	last := seen
	for rows.Next() {
		var (
			r      signoff.Revocation
			origin string
			until  int64
		)
		if err := rows.Scan(&last, &origin, &r.SessionID, &r.UserID, &r.AuthVersion, &until); err != nil {
			rows.Close()
			return err
		}
		if origin != b.opt.InstanceID { // our own were applied by Publish
			r.Until = fromUS(until)
			batch = append(batch, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	b.deliver(batch)
	// Write the position at once when it moved (a publisher is waiting for
	// it), and the heartbeat alone every quarter lease: an idle server
	// writes its file a few times a second, not at every poll.
	if last != seen || start.Sub(b.beat) >= b.opt.Lease/4 {
		now := time.UnixMicro(time.Now().UnixMicro())
		if _, err := b.st.w.ExecContext(ctx, `UPDATE instances SET applied_seq = ?, heartbeat_at = ? WHERE id = ?`,
			last, now.UnixMicro(), b.opt.InstanceID); err != nil {
			return err
		}
		b.beat = now
	}
	// Fresh counts from when this poll began (everything published before
	// it has been applied), but never from later than the heartbeat
	// publishers see: once they stop waiting for this instance, it must
	// stop trusting its memory.
	b.fresh.Store(min(start.UnixNano(), b.beat.UnixNano()))
	if b.polls++; b.polls%100 == 1 {
		b.gc(ctx)
	}
	return nil
}

func (b *Bus) deliver(rs []signoff.Revocation) {
	if len(rs) == 0 {
		return
	}
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	for _, r := range rs {
		for _, apply := range subs {
			apply(r)
		}
	}
}

// gc deletes revocations whose credentials are all past their lifetime and
// instances silent for far longer than a lease. Failure is harmless.
func (b *Bus) gc(ctx context.Context) {
	b.st.w.ExecContext(ctx, `DELETE FROM revocations WHERE until_at < ?`, b.opt.Now().UnixMicro())
	b.st.w.ExecContext(ctx, `DELETE FROM instances WHERE heartbeat_at < ?`, time.Now().Add(-time.Hour).UnixMicro())
}

// Publish implements signoff.Bus.
func (b *Bus) Publish(ctx context.Context, r signoff.Revocation) error {
	if b.closed.Load() {
		return errors.New("sqlitestore: bus is closed")
	}
	var seq int64
	err := b.st.w.QueryRowContext(ctx, `INSERT INTO revocations (origin, session_id, user_id, auth_version, until_at)
		VALUES (?, ?, ?, ?, ?) RETURNING seq`, b.opt.InstanceID, r.SessionID, r.UserID, r.AuthVersion, r.Until.UnixMicro()).Scan(&seq)
	if err != nil {
		return b.st.fail("publish", err)
	}
	b.deliver([]signoff.Revocation{r})
	ctx, cancel := context.WithTimeout(ctx, b.opt.AckTimeout)
	defer cancel()
	wait := time.NewTicker(b.opt.Poll / 4)
	defer wait.Stop()
	for {
		// Instances behind seq whose heartbeat is within the lease: each
		// will apply the row at its next poll, or lose its lease and stop
		// trusting its memory.
		var behind int
		err := b.st.r.QueryRowContext(ctx, `SELECT count(*) FROM instances
			WHERE id <> ? AND applied_seq < ? AND heartbeat_at > ?`,
			b.opt.InstanceID, seq, time.Now().Add(-b.opt.Lease).UnixMicro()).Scan(&behind)
		if err == nil && behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d instance(s) did not confirm within %s", behind, b.opt.AckTimeout)
			}
			return b.st.fail("publish", err)
		case <-wait.C:
		}
	}
}

// Close stops the poller and removes the instance, so publishers stop
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
	_, err := b.st.w.ExecContext(ctx, `DELETE FROM instances WHERE id = ?`, b.opt.InstanceID)
	return b.st.fail("close bus", err)
}

var _ signoff.Bus = (*Bus)(nil)
