package signoff

import (
	"math"
	"testing"
	"time"
	"unsafe"
)

// liveEntry is an entry good for ever, of fresh records.
func liveEntry(sid string) *entry {
	return &entry{p: Principal{SessionID: sid}, sid: &sidState{}, user: &userState{}, end: math.MaxInt64}
}

// The cache files a credential under the first 128 bits of its hash: a
// hash that differs there is a miss, and the key is 16 bytes.
func TestCacheKey(t *testing.T) {
	h := HashString("a credential")
	k := keyOf(h)
	if string(k[:]) != string(h[:16]) {
		t.Fatalf("keyOf(h) = %x, want the first 16 bytes of h, %x", k, h[:16])
	}
	if size := unsafe.Sizeof(k); size != 16 {
		t.Fatalf("a key is %d bytes, want 16", size)
	}
	c := newCache(10, time.Now)
	e := liveEntry("ses_1")
	c.addSession(h, e, 0)
	if got := c.session(h); got != e {
		t.Fatalf("session(h) = %p, want the entry added under h, %p", got, e)
	}
	for i := range 16 {
		other := h
		other[i] ^= 1
		if got := c.session(other); got != nil {
			t.Fatalf("a hash that differs from h in byte %d found h's entry", i)
		}
	}
	c.dropSession(h)
	if got := c.session(h); got != nil {
		t.Fatal("the entry is still there after dropSession")
	}
}
