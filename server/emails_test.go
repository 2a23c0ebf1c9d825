package server

import (
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
