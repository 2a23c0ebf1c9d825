package main

import (
	"strings"
	"testing"
	"time"
)

func TestSumGCTrace(t *testing.T) {
	log := strings.Join([]string{
		"time=2026-12-02T08:00:00Z level=INFO msg=started",
		"gc 12 @3.456s 2%: 0.012+1.2+0.003 ms clock, 0.024+0.5/1.1/0.2+0.006 ms cpu, 40->41->20 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P",
		"gc 13 @3.9s 3%: 0.01+2+0.004 ms clock, 0.020+0/3.5/0+0.010 ms cpu, 41->42->21 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P",
		"gc 14 @4.1s 3%: 0.01+2+0.004 ms clock, 0.020+0/3.5/0+0.010 ms cpu, 41->42->21 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)",
	}, "\n")
	got, n, err := sumGCTrace(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	// 0.024+0.5+1.1+0.2+0.006 = 1.83 ms; 0.020+0+3.5+0+0.010 = 3.53 ms, twice.
	if want := 8890 * time.Microsecond; n != 3 || got != want {
		t.Fatalf("sumGCTrace = %v over %d collections, want %v over 3", got, n, want)
	}
}
