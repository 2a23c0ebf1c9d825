package logbus

import (
	"context"
	"sync"
)

// Waiters implements Waker for a Log that learns of changes from a
// listener of its own (LISTEN/NOTIFY, pub/sub): the listener runs while at
// least one reader or publisher waits, and calls Poke on every
// notification. The zero value is not usable: see NewWaiters.
type Waiters struct {
	listen func(ctx context.Context, poke func())

	mu      sync.Mutex
	waiters map[chan struct{}]struct{}
	stop    context.CancelFunc // nil while no listener runs
	done    chan struct{}
}

// NewWaiters returns Waiters whose listener is listen: it must block,
// calling poke for every notification, until ctx ends (reconnecting on
// its own after failures).
func NewWaiters(listen func(ctx context.Context, poke func())) *Waiters {
	return &Waiters{listen: listen, waiters: map[chan struct{}]struct{}{}}
}

// Wake implements Waker. The first waiter starts the listener; when the
// last one stops, so does the listener, so no connection outlives the
// buses that used it.
func (w *Waiters) Wake() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	w.mu.Lock()
	w.waiters[c] = struct{}{}
	if w.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		w.stop, w.done = cancel, done
		go func() {
			defer close(done)
			w.listen(ctx, w.Poke)
		}()
	}
	w.mu.Unlock()
	return c, func() {
		w.mu.Lock()
		delete(w.waiters, c)
		var stop context.CancelFunc
		var done chan struct{}
		if len(w.waiters) == 0 && w.stop != nil {
			stop, done, w.stop = w.stop, w.done, nil
		}
		w.mu.Unlock()
		if stop != nil {
			stop()
			<-done
		}
	}
}

// Poke wakes every waiter without blocking.
func (w *Waiters) Poke() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.waiters {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

var _ Waker = (*Waiters)(nil)
