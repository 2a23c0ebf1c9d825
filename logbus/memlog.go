package logbus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/signoff/signoff"
)

// MemLog is a Log in memory, for several Buses in one process: tests of
// many instances. It wakes its readers on every change. The zero value is
// ready to use. A test injects faults by wrapping it (logbustest.StallLog).
type MemLog struct {
	mu        sync.Mutex
	seq       int64
	entries   []Entry
	instances map[string]memInstance
	wakers    map[chan struct{}]struct{}
}

type memInstance struct {
	cursor int64
	beat   time.Time
}

// lock takes l.mu, making the zero value ready on first use.
func (l *MemLog) lock() {
	l.mu.Lock()
	if l.instances == nil {
		l.instances = map[string]memInstance{}
		l.wakers = map[chan struct{}]struct{}{}
	}
}

// poke wakes every waiting reader and publisher; l.mu is held.
func (l *MemLog) poke() {
	for c := range l.wakers {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Wake implements Waker.
func (l *MemLog) Wake() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	l.lock()
	l.wakers[c] = struct{}{}
	l.mu.Unlock()
	return c, func() {
		l.mu.Lock()
		delete(l.wakers, c)
		l.mu.Unlock()
	}
}

// Append implements Log.
func (l *MemLog) Append(_ context.Context, origin string, r signoff.Revocation) (int64, error) {
	l.lock()
	defer l.mu.Unlock()
	l.seq++
	l.entries = append(l.entries, Entry{Seq: l.seq, Origin: origin, Revocation: r})
	l.poke()
	return l.seq, nil
}

// After implements Log.
func (l *MemLog) After(_ context.Context, after int64) ([]Entry, error) {
	l.lock()
	defer l.mu.Unlock()
	var out []Entry
	for _, e := range l.entries {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out, nil
}

// Register implements Log. The log's clock is this process's.
func (l *MemLog) Register(_ context.Context, instance string) (int64, error) {
	l.lock()
	defer l.mu.Unlock()
	in, ok := l.instances[instance]
	if !ok {
		in.cursor = l.seq
	}
	in.beat = time.Now()
	l.instances[instance] = in
	return in.cursor, nil
}

// Heartbeat implements Log.
func (l *MemLog) Heartbeat(_ context.Context, instance string, cursor int64) error {
	l.lock()
	defer l.mu.Unlock()
	if _, ok := l.instances[instance]; !ok {
		return fmt.Errorf("%w: %s", ErrNotRegistered, instance)
	}
	l.instances[instance] = memInstance{cursor: cursor, beat: time.Now()}
	l.poke()
	return nil
}

// Behind implements Log.
func (l *MemLog) Behind(_ context.Context, self string, seq int64, lease time.Duration) (int, error) {
	l.lock()
	defer l.mu.Unlock()
	n := 0
	for id, in := range l.instances {
		if id != self && in.cursor < seq && time.Since(in.beat) < lease {
			n++
		}
	}
	return n, nil
}

// Deregister implements Log.
func (l *MemLog) Deregister(_ context.Context, instance string) error {
	l.lock()
	defer l.mu.Unlock()
	delete(l.instances, instance)
	l.poke()
	return nil
}

// Trim implements Log.
func (l *MemLog) Trim(_ context.Context, until time.Time, silentFor time.Duration) error {
	l.lock()
	defer l.mu.Unlock()
	kept := l.entries[:0]
	for _, e := range l.entries {
		if !e.Until.Before(until) {
			kept = append(kept, e)
		}
	}
	l.entries = kept
	for id, in := range l.instances {
		if time.Since(in.beat) > silentFor {
			delete(l.instances, id)
		}
	}
	return nil
}

var (
	_ Log   = (*MemLog)(nil)
	_ Waker = (*MemLog)(nil)
)
