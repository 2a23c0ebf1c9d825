package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// gctraceEnv makes a Go server print a line on stderr at the end of each
// garbage collection, with the CPU its phases took.
const gctraceEnv = "GODEBUG=gctrace=1"

// gcLine matches a gctrace line and captures its CPU field, for example
// "0.024+0.5/1.1/0.2+0.006" in
//
//	gc 12 @3.456s 2%: 0.012+1.2+0.003 ms clock, 0.024+0.5/1.1/0.2+0.006 ms cpu, 40->41->20 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P
//
// The five figures are the stop-the-world sweep termination, the mark's
// assists, background and idle workers, and the stop-the-world mark
// termination: together the CPU of a collection's mark phase (sweeping,
// done by allocations and a background worker, is not in them).
var gcLine = regexp.MustCompile(`^gc \d+ @\S+ \d+%: \S+ ms clock, (\S+) ms cpu,`)

// logSize is the size of the file at path: where the next line will begin.
func logSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// gcMarkCPU sums the mark CPU of the collections whose gctrace lines begin
// in the file at path between the offsets from and to, and counts them.
func gcMarkCPU(path string, from, to int64) (time.Duration, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, 0, err
	}
	return sumGCTrace(io.LimitReader(f, to-from))
}

// sumGCTrace sums the mark CPU of the gctrace lines of r, and counts them.
func sumGCTrace(r io.Reader) (time.Duration, int, error) {
	var total time.Duration
	n := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := gcLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		for _, f := range strings.FieldsFunc(m[1], func(r rune) bool { return r == '+' || r == '/' }) {
			ms, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("gctrace: %q: %w", m[1], err)
			}
			total += time.Duration(ms * float64(time.Millisecond))
		}
		n++
	}
	return total, n, sc.Err()
}
