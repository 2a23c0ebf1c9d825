package harness

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// PairSample is one round of a side-by-side measurement (MeasureTogether)
// of two servers, the first and the second: each one's 2xx answers per
// second and server CPU seconds per request over the same window.
type PairSample struct {
	Rate, CPU [2]float64
}

// Ratio is the first server's CPU per request over the second's.
func (s PairSample) Ratio() float64 { return s.CPU[0] / s.CPU[1] }

// PrintPairs writes the two tables of a side-by-side run: each round's
// CPU per request of both servers and their ratio, with the load average
// at the round's start (loadAvgs); then, for each line, the medians over
// the rounds and the median and range of the rounds' own ratios.
// samples[round][line] is the line labels[line] of that round.
func PrintPairs(w io.Writer, labels, loadAvgs []string, samples [][]PairSample) {
	fmt.Fprint(w, "| server CPU per request (µs), the first over the second |")
	for i, la := range loadAvgs {
		fmt.Fprintf(w, " round %d (load average %s) |", i+1, la)
	}
	fmt.Fprint(w, "\n|---|")
	for range loadAvgs {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w)
	for i, label := range labels {
		fmt.Fprintf(w, "| %s |", label)
		for _, ss := range samples {
			s := ss[i]
			fmt.Fprintf(w, " %s ÷ %s = %s |", Micro(s.CPU[0]), Micro(s.CPU[1]), times(s.Ratio()))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "| median of %d round(s) | first: req/s, CPU µs | second: req/s, CPU µs | first ÷ second, CPU: the rounds' ratios, median | their range |\n", len(samples))
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	for i, label := range labels {
		var rate, cpu [2][]float64
		var rs []float64
		for _, ss := range samples {
			for j := range 2 {
				rate[j], cpu[j] = append(rate[j], ss[i].Rate[j]), append(cpu[j], ss[i].CPU[j])
			}
			rs = append(rs, ss[i].Ratio())
		}
		fmt.Fprintf(w, "| %s | %s, %s | %s, %s | %s | %s–%s |\n", label,
			FmtRate(Median(rate[0])), Micro(Median(cpu[0])), FmtRate(Median(rate[1])), Micro(Median(cpu[1])),
			times(Median(rs)), times(slices.Min(rs)), times(slices.Max(rs)))
	}
	fmt.Fprintln(w)
}

// times prints a ratio: two decimals and ×.
func times(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }
