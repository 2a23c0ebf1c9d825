package harness

import "sync"

// Cleanups undoes what a run started and made: OnClose registers a
// function, Close runs them all, the last registered first. The zero value
// is ready to use.
type Cleanups struct {
	mu sync.Mutex
	fs []func()
}

// OnClose registers f to run at Close, before what was registered earlier.
func (c *Cleanups) OnClose(f func()) {
	c.mu.Lock()
	c.fs = append(c.fs, f)
	c.mu.Unlock()
}

// Close runs the registered functions, newest first, once.
func (c *Cleanups) Close() {
	c.mu.Lock()
	fs := c.fs
	c.fs = nil
	c.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
