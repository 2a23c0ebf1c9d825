// Command ratios reads the output of go test -bench on stdin and prints a
// Markdown table: for each benchmark and GOMAXPROCS, the median ns/op over
// its runs (-count), the spread around it, B/op, allocs/op, and the ratio of
// its ns/op to the baseline's at the same GOMAXPROCS.
//
//	go test -run '^$' -bench . -benchmem -count 6 -cpu 1,2 | tee bench.txt
//	go run ./cmd/ratios < bench.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	base := flag.String("base", "BareNetHTTP", "the baseline benchmark: the last element of its name")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *base); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}

// row is one benchmark at one GOMAXPROCS, with a value per run.
type row struct {
	name          string
	procs         int
	ns, b, allocs []float64
}

func run(in io.Reader, out io.Writer, base string) error {
	rows, err := parse(in)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("no benchmark results on stdin")
	}
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.name
	}
	trim := commonFirst(names)
	baseNs := map[int]float64{}
	for _, r := range rows {
		if r.name == base || strings.HasSuffix(r.name, "/"+base) {
			baseNs[r.procs] = median(r.ns)
		}
	}
	slices.SortStableFunc(rows, func(a, b *row) int { return a.procs - b.procs })

	fmt.Fprintln(out, "| benchmark | cpu | ns/op | ± | B/op | allocs/op | × "+base+" |")
	fmt.Fprintln(out, "|---|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		ns := median(r.ns)
		ratio := "–"
		if bn, ok := baseNs[r.procs]; ok && bn > 0 {
			ratio = fmtRatio(ns / bn)
		}
		fmt.Fprintf(out, "| %s | %d | %s | %s | %s | %s | %s |\n",
			strings.TrimPrefix(r.name, trim), r.procs, fmtNs(ns), spread(r.ns),
			fmtInt(r.b), fmtInt(r.allocs), ratio)
	}
	return nil
}

// parse collects the result lines ("BenchmarkX-2  N  12.3 ns/op  0 B/op ...")
// in the order each benchmark first appears.
func parse(in io.Reader) ([]*row, error) {
	var rows []*row
	index := map[string]*row{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line
		}
		name, procs := splitProcs(strings.TrimPrefix(f[0], "Benchmark"))
		key := name + "\x00" + strconv.Itoa(procs)
		r := index[key]
		if r == nil {
			r = &row{name: name, procs: procs}
			index[key] = r
			rows = append(rows, r)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", sc.Text(), err)
			}
			switch f[i+1] {
			case "ns/op":
				r.ns = append(r.ns, v)
			case "B/op":
				r.b = append(r.b, v)
			case "allocs/op":
				r.allocs = append(r.allocs, v)
			}
		}
	}
	return rows, sc.Err()
}

// splitProcs splits the -N suffix that go test adds when GOMAXPROCS is not 1.
func splitProcs(name string) (string, int) {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil && n > 0 {
			return name[:i], n
		}
	}
	return name, 1
}

// commonFirst returns "X/" when every name starts with the same element X
// and has more after it, so that the table need not repeat it.
func commonFirst(names []string) string {
	first, _, ok := strings.Cut(names[0], "/")
	if !ok {
		return ""
	}
	for _, n := range names {
		if !strings.HasPrefix(n, first+"/") {
			return ""
		}
	}
	return first + "/"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is the largest distance of a run from the median, in percent.
func spread(v []float64) string {
	m := median(v)
	if len(v) < 2 || m == 0 {
		return "–"
	}
	d := 0.0
	for _, x := range v {
		d = max(d, abs(x-m)/m)
	}
	return fmt.Sprintf("%.0f%%", 100*d)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 100:
		return strconv.FormatFloat(ns, 'f', 0, 64)
	case ns >= 10:
		return strconv.FormatFloat(ns, 'f', 1, 64)
	}
	return strconv.FormatFloat(ns, 'f', 2, 64)
}

func fmtInt(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	return strconv.FormatFloat(median(v), 'f', 0, 64)
}

func fmtRatio(r float64) string {
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}
