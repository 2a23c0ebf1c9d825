package harness

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are at or below it. It returns 0 for no samples. ds is not
// modified.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Summary is the count, p50, p99 and max of a set of durations.
type Summary struct {
	N             int
	P50, P99, Max time.Duration
}

// Summarize returns the Summary of ds.
func Summarize(ds []time.Duration) Summary {
	return Summary{N: len(ds), P50: Percentile(ds, 50), P99: Percentile(ds, 99), Max: Percentile(ds, 100)}
}

// Median returns the median of vs: the middle value, or the mean of the
// two middle values for an even count; 0 for none. vs is not modified.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// FmtDur prints d with three significant figures, in µs below a
// millisecond, in ms below a second, else in s.
func FmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return Sig3(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		return Sig3(float64(d)/float64(time.Millisecond)) + " ms"
	}
	return Sig3(d.Seconds()) + " s"
}

// Sig3 prints v ≥ 0 with three significant figures (at least the integer
// part).
func Sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// FmtRate prints a request rate rounded to three significant figures.
func FmtRate(v float64) string {
	if v <= 0 {
		return "0"
	}
	mag := math.Pow(10, math.Floor(math.Log10(v))-2)
	r := math.Round(v/mag) * mag
	if r >= 1000 {
		return fmt.Sprintf("%.0f", r)
	}
	return Sig3(r)
}

// Micro writes seconds as microseconds, three significant digits.
func Micro(sec float64) string { return Sig3(sec * 1e6) }
