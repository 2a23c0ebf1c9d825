package harness

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RoundFlags are the flags of a benchmark that measures rows in
// interleaved rounds of load against signoff serve.
type RoundFlags struct {
	K        int           // keep-alive clients of every measurement
	Rounds   int           // rounds; tables give medians
	D, Warm  time.Duration // measured duration and warm-up of each measurement
	LogLevel string        // signoff serve's --log-level
	Repo     string        // the signoff repository; "": RepoRoot
}

// Register defines -k, -rounds, -d, -warmup, -server-log-level and -repo
// on fs, with f's values as their defaults; maxK is the most -k may be.
func (f *RoundFlags) Register(fs *flag.FlagSet, maxK int) {
	fs.IntVar(&f.K, "k", f.K, fmt.Sprintf("concurrent keep-alive clients of every measurement (1 to %d)", maxK))
	fs.IntVar(&f.Rounds, "rounds", f.Rounds, "rounds of interleaved measurements; the tables give medians (1 to 20)")
	fs.DurationVar(&f.D, "d", f.D, "measured duration of each measurement (at most 1m)")
	fs.DurationVar(&f.Warm, "warmup", f.Warm, "unmeasured load before each measurement (at most 1m)")
	fs.StringVar(&f.LogLevel, "server-log-level", f.LogLevel, "--log-level of signoff serve (info, its default, writes an access-log line per request to a file)")
	fs.StringVar(&f.Repo, "repo", f.Repo, "the signoff repository to build (default: the module bench replaces signoff with, ../)")
}

// Check says what is wrong with f, maxK being the most K may be.
func (f RoundFlags) Check(maxK int) error {
	switch {
	case f.K < 1 || f.K > maxK:
		return fmt.Errorf("-k: want 1 to %d, got %d", maxK, f.K)
	case f.Rounds < 1 || f.Rounds > 20:
		return fmt.Errorf("-rounds: want 1 to 20, got %d", f.Rounds)
	case f.D <= 0 || f.D > MaxDuration || f.Warm < 0 || f.Warm > MaxDuration:
		return fmt.Errorf("-d and -warmup: want more than 0 (-d) and at most %v", MaxDuration)
	}
	switch f.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("-server-log-level: want debug, info, warn or error, got %q", f.LogLevel)
	}
	return nil
}

// IntList is a flag.Value for a comma-separated list of numbers; the empty
// string is the empty list.
type IntList struct{ P *[]int }

func (l IntList) String() string {
	if l.P == nil {
		return ""
	}
	s := make([]string, len(*l.P))
	for i, n := range *l.P {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l IntList) Set(v string) error {
	ns := []int{}
	if strings.TrimSpace(v) != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("want numbers separated by commas")
			}
			ns = append(ns, n)
		}
	}
	*l.P = ns
	return nil
}

// BudgetFlag defines -budget on fs, with *p as its default: the most a
// whole run may take.
func BudgetFlag(fs *flag.FlagSet, p *time.Duration) {
	fs.DurationVar(p, "budget", *p, "the most the whole run may take; it refuses to start when its estimate is longer, and stops at it")
}
