package server

import (
	"sync"

	"github.com/signoff/signoff/internal/bounded"
)

// emailCache remembers users' emails for /api/me and /verify, which name
// the user on every request, so that a warm request reads no store. It
// holds at most max users: full, it forgets a sixteenth of them, chosen by
// Go's map order (bounded.MakeRoom), as the library's caches do. A plain map of
// strings rather than a sync.Map: with 100,000 users the sync.Map's trie
// was 5% of signoff serve's CPU and a large share of what the garbage
// collector had to scan (bench/cmd/scale).
type emailCache struct {
	mu  sync.RWMutex
	m   map[string]string // user ID -> email
	max int
}

func newEmailCache(max int) *emailCache {
	return &emailCache{m: map[string]string{}, max: max}
}

func (c *emailCache) get(id string) (string, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	return e, ok
}

func (c *emailCache) put(id, email string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, known := c.m[id]; !known {
		bounded.MakeRoom(c.m, c.max)
	}
	c.m[id] = email
}
