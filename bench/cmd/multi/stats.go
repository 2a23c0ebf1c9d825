package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are at or below it. It returns 0 for no samples. ds is not
// modified.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// summary is p50, p99 and max of a set of durations.
type summary struct {
	n             int
	p50, p99, max time.Duration
}

func summarize(ds []time.Duration) summary {
	return summary{n: len(ds), p50: percentile(ds, 50), p99: percentile(ds, 99), max: percentile(ds, 100)}
}

// fmtDur prints d with three significant figures in µs below a millisecond
// and in ms above.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + " ms"
	}
	return sig3(d.Seconds()) + " s"
}

// sig3 prints v ≥ 0 with three significant figures (at least the integer part).
func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// fmtRate prints a request rate rounded to three significant figures.
func fmtRate(v float64) string {
	if v <= 0 {
		return "0"
	}
	mag := math.Pow(10, math.Floor(math.Log10(v))-2)
	r := math.Round(v/mag) * mag
	if r >= 1000 {
		return fmt.Sprintf("%.0f", r)
	}
	return sig3(r)
}
