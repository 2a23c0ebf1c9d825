// Package bounded keeps maps that serve as caches within a size.
package bounded

// MakeRoom makes room in m, a cache of at most max entries, for one more:
// when it is full it forgets a sixteenth of it. Go's map order is
// unspecified, which is as good as random for a map that is only ever a
// shortcut.
func MakeRoom[K comparable, V any](m map[K]V, max int) {
	if len(m) < max {
		return
	}
	evict := max/16 + 1
	for k := range m {
		if evict == 0 {
			return
		}
		delete(m, k)
		evict--
	}
}
