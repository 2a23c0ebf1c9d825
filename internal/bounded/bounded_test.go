package bounded

import "testing"

// A full map loses a sixteenth (and one), so it never passes its bound;
// one with room loses nothing.
func TestMakeRoom(t *testing.T) {
	m := map[int]int{}
	for i := range 1000 {
		MakeRoom(m, 64)
		m[i] = i
		if len(m) > 64 {
			t.Fatalf("%d entries after %d puts, want at most 64", len(m), i+1)
		}
	}
	n := len(m)
	MakeRoom(m, 1000)
	if len(m) != n {
		t.Fatalf("MakeRoom with room to spare dropped %d entries", n-len(m))
	}
	MakeRoom(m, n)
	if want := n - (n/16 + 1); len(m) != want {
		t.Fatalf("a full map of %d kept %d, want %d", n, len(m), want)
	}
}
