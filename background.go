package signoff

import (
	"context"
	"time"
)

// touch is a last-seen write the toucher sends to the store.
type touch struct {
	sid string
	at  time.Time
}

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
	case m.touches <- touch{sid: sid, at: time.Unix(0, n)}:
	default:
	}
}

func (m *Manager) toucher() {
	defer m.wg.Done()
	for {
		select {
		case <-m.done:
			// Write what is queued: activity seen before Close counts.
			for {
				select {
				case t := <-m.touches:
					m.touch(t)
				default:
					return
				}
			}
		case t := <-m.touches:
			m.touch(t)
		}
	}
}

func (m *Manager) touch(t touch) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.store.TouchSession(ctx, t.sid, t.at); err != nil {
		m.log.Debug("touch session", "session", t.sid, "err", err)
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
