package server

import (
	"hash/maphash"
	"reflect"
	"strconv"
	"testing"
)

// The email cache stays within its bound, keeps what it was last told, and
// forgets only to make room.
func TestEmailCacheBounded(t *testing.T) {
	c := newEmailCache(64)
	for i := range 1000 {
		id := "usr_" + strconv.Itoa(i)
		c.put(id, id+"@example.test")
		if e, ok := c.get(id); !ok || e != id+"@example.test" {
			t.Fatalf("get(%s) right after put = %q, %v", id, e, ok)
		}
		if n := len(c.m); n > 64 {
			t.Fatalf("%d emails held after %d puts, want at most 64", n, i+1)
		}
	}
	c.put("usr_999", "new@example.test")
	if e, _ := c.get("usr_999"); e != "new@example.test" {
		t.Fatalf("get after a second put = %q, want the new email", e)
	}
}

// Forgotten records are copied out once they are more than half the arena,
// and an email handed out before stays what it was: the arena's bytes are
// never written twice. The live ones are all still found, and the arena
// stays within twice what they take.
func TestEmailCacheCompacts(t *testing.T) {
	c := newEmailCache(1000)
	c.put("usr_keep", "keep@example.test")
	held, _ := c.get("usr_keep")
	for round := range 200 {
		for i := range 100 {
			id := "usr_" + strconv.Itoa(i)
			c.put(id, id+"-"+strconv.Itoa(round)+"@example.test")
		}
	}
	if held != "keep@example.test" {
		t.Fatalf("an email handed out before the arena was compacted now reads %q", held)
	}
	for i := range 100 {
		id := "usr_" + strconv.Itoa(i)
		if e, ok := c.get(id); !ok || e != id+"-199@example.test" {
			t.Fatalf("get(%s) = %q, %v; want the last email put", id, e, ok)
		}
	}
	if e, ok := c.get("usr_keep"); !ok || e != "keep@example.test" {
		t.Fatalf("get(usr_keep) = %q, %v", e, ok)
	}
	live := 0
	for _, off := range c.m {
		_, _, end := c.record(off)
		live += end - int(off)
	}
	if len(c.arena) > max(2*live, minCompact)+live {
		t.Fatalf("the arena holds %d bytes for %d live ones: forgotten records were not copied out", len(c.arena), live)
	}
}

// Two users whose IDs hash alike are never given each other's email: the
// record holds the ID, which get compares; the later put wins the slot.
func TestEmailCacheCollision(t *testing.T) {
	c := newEmailCache(64)
	c.hash = func(maphash.Seed, string) uint64 { return 7 }
	c.put("usr_a", "a@example.test")
	if e, ok := c.get("usr_b"); ok {
		t.Fatalf("get(usr_b) = %q, true; want a miss, not usr_a's email", e)
	}
	c.put("usr_b", "b@example.test")
	if e, ok := c.get("usr_a"); ok {
		t.Fatalf("get(usr_a) after usr_b took the slot = %q, true; want a miss", e)
	}
	if e, ok := c.get("usr_b"); !ok || e != "b@example.test" {
		t.Fatalf("get(usr_b) = %q, %v", e, ok)
	}
}

// A hit allocates nothing, and the cache holds nothing the collector has
// to look into.
func TestEmailCacheHit(t *testing.T) {
	c := newEmailCache(64)
	c.put("usr_1", "one@example.test")
	c.put("usr_2", "")
	if n := testing.AllocsPerRun(100, func() {
		if e, ok := c.get("usr_1"); !ok || e != "one@example.test" {
			t.Fatalf("get = %q, %v", e, ok)
		}
	}); n != 0 {
		t.Fatalf("a hit allocates %v times", n)
	}
	if e, ok := c.get("usr_2"); !ok || e != "" {
		t.Fatalf("an empty email: get = %q, %v", e, ok)
	}
	m := reflect.TypeOf(c.m)
	for _, typ := range []reflect.Type{m.Key(), m.Elem(), reflect.TypeOf(c.arena).Elem()} {
		if k := typ.Kind(); k < reflect.Bool || k > reflect.Complex128 {
			t.Fatalf("the cache's map or arena holds %v, which the collector would look into", typ)
		}
	}
}
