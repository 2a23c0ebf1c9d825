package server

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"sync"
	"unsafe"
)

// emailCache remembers users' emails for /api/me and /verify, which name
// the user on every request, so that a warm request reads no store. It
// holds at most max users: full, it forgets a sixteenth of them, chosen by
// Go's map order, as the library's caches do (bounded.MakeRoom).
//
// It holds nothing the garbage collector must look into: the map goes from
// a hash of the user ID to where the user's record begins in arena, and a
// record is the user ID and the email, back to back in one []byte. With
// 100,000 users a map of strings was two objects and two pointers a user
// that every collection marked, about a third of what it had to mark
// (bench/cmd/scale, "of it, GC mark"); and a sync.Map's trie before that
// was 5% of signoff serve's CPU.
//
// The bytes of arena never change once written: a forgotten record is
// left where it is (dead counts it) until more than half the arena is
// forgotten, when the live records are copied into a new arena. So the
// email get returns may share arena's memory, which it keeps alive, and a
// request never pays an allocation for it.
type emailCache struct {
	mu    sync.RWMutex
	seed  maphash.Seed
	m     map[uint64]uint32 // hash of the user ID -> offset of its record in arena
	arena []byte            // records: uvarint len(id), id, uvarint len(email), email
	dead  int               // bytes of arena no entry of m points at
	max   int
	hash  func(maphash.Seed, string) uint64 // maphash.String; a test's own, to collide
}

// minCompact is the arena's size below which forgotten records are never
// copied out: copying a small arena saves nothing worth it.
const minCompact = 64 << 10

func newEmailCache(max int) *emailCache {
	return &emailCache{seed: maphash.MakeSeed(), m: map[uint64]uint32{}, max: max, hash: maphash.String}
}

// record returns the user ID and the email of the record at off, and the
// offset just past it; c.mu is held.
func (c *emailCache) record(off uint32) (id, email []byte, end int) {
	b := c.arena[off:]
	n, k := binary.Uvarint(b)
	id, b = b[k:k+int(n)], b[k+int(n):]
	m, j := binary.Uvarint(b)
	email = b[j : j+int(m)]
	return id, email, int(off) + k + int(n) + j + int(m)
}

func (c *emailCache) get(id string) (string, bool) {
	h := c.hash(c.seed, id)
	c.mu.RLock()
	defer c.mu.RUnlock()
	off, ok := c.m[h]
	if !ok {
		return "", false
	}
	rid, email, _ := c.record(off)
	if string(rid) != id { // another user whose ID has the same hash
		return "", false
	}
	if len(email) == 0 {
		return "", true
	}
	// The bytes are never written again (see emailCache).
	return unsafe.String(&email[0], len(email)), true
}

func (c *emailCache) put(id, email string) {
	size := 2*binary.MaxVarintLen64 + len(id) + len(email)
	h := c.hash(c.seed, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if off, known := c.m[h]; known {
		rid, old, _ := c.record(off)
		if string(rid) == id && string(old) == email {
			return
		}
		// A new email, or another user of the same hash, whom the cache
		// forgets: the store still has them.
		c.forget(h)
	} else if len(c.m) >= c.max {
		c.evict(c.max/16 + 1)
	}
	if c.dead > len(c.arena)/2 && len(c.arena) >= minCompact {
		c.compact()
	}
	if len(c.arena)+size > math.MaxUint32 {
		c.forget(h) // the cache is full of long records; the store answers
		return
	}
	c.m[h] = uint32(len(c.arena))
	c.arena = binary.AppendUvarint(c.arena, uint64(len(id)))
	c.arena = append(c.arena, id...)
	c.arena = binary.AppendUvarint(c.arena, uint64(len(email)))
	c.arena = append(c.arena, email...)
}

// evict forgets n users, in map order; c.mu is held.
func (c *emailCache) evict(n int) {
	for h := range c.m {
		if n == 0 {
			return
		}
		c.forget(h)
		n--
	}
}

// forget forgets the user hashed to h, if any; c.mu is held.
func (c *emailCache) forget(h uint64) {
	if off, ok := c.m[h]; ok {
		_, _, end := c.record(off)
		c.dead += end - int(off)
		delete(c.m, h)
	}
}

// compact copies the live records into a new arena; c.mu is held. The old
// one is left as it is, for the emails still in use that share it.
func (c *emailCache) compact() {
	arena := make([]byte, 0, (len(c.arena)-c.dead)*5/4)
	for h, off := range c.m {
		_, _, end := c.record(off)
		c.m[h] = uint32(len(arena))
		arena = append(arena, c.arena[off:end]...)
	}
	c.arena, c.dead = arena, 0
}
