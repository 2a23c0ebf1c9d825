package signoff

import (
	"context"
	"time"
)

// maxTouches is the most last-seen writes the toucher sends to the store in
// one call.
const maxTouches = 512

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

// toucher writes the queued last-seen times: whatever has queued up while
// the store wrote the last batch goes in the next one, so the store's cost
// per touch falls as the rate of touches rises.
func (m *Manager) toucher() {
	defer m.wg.Done()
	batch := make([]Touch, 0, maxTouches)
	for {
		select {
		case <-m.done:
			// Write what is queued: activity seen before Close counts.
			for batch = m.gather(batch[:0]); len(batch) > 0; batch = m.gather(batch[:0]) {
				m.touch(batch)
			}
			return
		case t := <-m.touches:
			m.touch(m.gather(append(batch[:0], t)))
		}
	}
}

// gather appends to batch the touches queued now, up to maxTouches in all.
func (m *Manager) gather(batch []Touch) []Touch {
	for len(batch) < maxTouches {
		select {
		case t := <-m.touches:
			batch = append(batch, t)
		default:
			return batch
		}
	}
	return batch
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
