package signoff

import (
	"context"
	"time"
)

// The toucher's batches: at most maxTouches last-seen writes, gathered for
// at most touchDelay after the first. A last-seen time is only ever
// TouchInterval precise, so the delay costs nothing, and it spares a store
// a commit (an fsync for SQLite) per handful of touches. Not more: a batch
// holds SQLite's one writer, and with 4,096 touches gathered for 2 s the
// revocation bus's heartbeats waited long enough for it to stop being
// fresh, and the cache with it (bench/cmd/scale).
const (
	maxTouches = 512
	touchDelay = 500 * time.Millisecond
)

// seen records activity on a session and, at most once per TouchInterval,
// queues a last-seen write. It never blocks: if the queue is full the write
// is skipped, which only makes the store's idle clock more conservative.
func (m *Manager) seen(st *sidState, sid string, n int64) {
	raise(&st.lastSeen, n)
	old := st.touched.Load()
	if n-old < int64(m.cfg.TouchInterval) || !st.touched.CompareAndSwap(old, n) {
		return
	}
	select {
	case m.touches <- Touch{SessionID: sid, At: time.Unix(0, n)}:
	default:
	}
}

// toucher writes the queued last-seen times in batches: what arrives within
// touchDelay of a batch's first touch, and what queued up while the store
// wrote the last batch, goes in one call, so the store's cost per touch
// falls as the rate of touches rises.
func (m *Manager) toucher() {
	defer m.wg.Done()
	batch := make([]Touch, 0, maxTouches)
	timer := time.NewTimer(touchDelay)
	timer.Stop()
	for {
		select {
		case <-m.done:
			m.flushTouches(batch[:0])
			return
		case t := <-m.touches:
			batch = append(batch[:0], t)
			timer.Reset(touchDelay)
		gather:
			for len(batch) < maxTouches {
				select {
				case t := <-m.touches:
					batch = append(batch, t)
				case <-timer.C:
					break gather
				case <-m.done:
					m.flushTouches(batch)
					return
				}
			}
			timer.Stop()
			m.touch(batch)
		}
	}
}

// flushTouches writes batch and whatever is queued: activity seen before
// Close counts.
func (m *Manager) flushTouches(batch []Touch) {
	for {
		for len(batch) < maxTouches {
			select {
			case t := <-m.touches:
				batch = append(batch, t)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return
		}
		m.touch(batch)
		batch = batch[:0]
	}
}

func (m *Manager) touch(batch []Touch) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.store.TouchSessions(ctx, batch); err != nil {
		m.log.Debug("touch sessions", "sessions", len(batch), "err", err)
	}
}

func (m *Manager) sweeper() {
	defer m.wg.Done()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-tick.C:
			m.cache.sweep(m.now())
		}
	}
}
