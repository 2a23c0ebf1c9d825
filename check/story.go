package check

// The story: the exchanges a report shows, each with a note.

// note attaches an inference to exchange seq.
func (c *client) note(seq int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq < 1 || seq > len(c.ex) {
		return
	}
	if n := &c.ex[seq-1].Note; *n == "" {
		*n = text
	} else {
		*n += "; " + text
	}
}

// setStory makes every exchange from now on part of the story, or not.
func (c *client) setStory(on bool) {
	c.mu.Lock()
	c.story = on
	c.mu.Unlock()
}

// last is the sequence number of the latest exchange.
func (c *client) last() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ex)
}

// unstory takes exchanges out of the diagram.
func (c *client) unstory(seqs ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, seq := range seqs {
		if seq >= 1 && seq <= len(c.ex) {
			c.ex[seq-1].Story = false
		}
	}
}

// exchanges returns the recorded exchanges.
func (c *client) exchanges() []Exchange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Exchange(nil), c.ex...)
}
