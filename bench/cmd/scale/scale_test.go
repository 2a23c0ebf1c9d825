package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the harness at a tiny size: one round of 200 ms, 20
// sessions, the resident set at 10 and 30. It asserts no timing: only that
// every flat row (the control row too) answered, used CPU and read a heap goal, that every session was cached, that
// the tables have their rows, and that no cookie was printed.
func TestSmoke(t *testing.T) {
	o := defaults()
	o.Rounds, o.D, o.Warm, o.K, o.sessions, o.rss = 1, 200*time.Millisecond, 50*time.Millisecond, 4, 20, []int{10, 30}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	rep, err := run(ctx, o, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, log.String())
	}
	if len(rep.flat) != 1 {
		t.Fatalf("%d rounds, want 1", len(rep.flat))
	}
	if len(rep.flat[0]) != 4 {
		t.Fatalf("%d flat rows, want 4 (with the control row)", len(rep.flat[0]))
	}
	for i, s := range rep.flat[0] {
		if s.ok == 0 || s.rate <= 0 || s.cpu <= 0 || s.goal <= 0 {
			t.Errorf("flat row %d: %d answers, %v req/s, %v s of CPU per request, heap goal %d: want all positive", i, s.ok, s.rate, s.cpu, s.goal)
		}
	}
	if len(rep.memory) != 2 {
		t.Fatalf("%d resident-set rows, want 2", len(rep.memory))
	}
	for _, f := range rep.memory {
		if f.cached < int64(f.sessions) || f.before <= 0 || f.after <= 0 {
			t.Errorf("%d sessions: %d cached, resident set %d → %d", f.sessions, f.cached, f.before, f.after)
		}
	}
	table := out.String()
	for _, want := range []string{"| 1 session |", "| 1 session, GOGC=", "of it, GC mark", "no last-seen write due", "| 10 |", "| 30 |"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q:\n%s", want, table)
		}
	}
	all := table + log.String()
	if strings.Contains(all, "Cookie") || regexp.MustCompile(`[A-Za-z0-9_-]{43}`).MatchString(all) {
		t.Errorf("the output shows a cookie:\n%s", all)
	}
}

// TestTogetherSmoke runs -together at a tiny size: two rounds of 200 ms,
// 20 sessions. It asserts no timing: only that both servers of every line
// answered and used CPU in every round, that the tables have their lines,
// and that no cookie was printed.
func TestTogetherSmoke(t *testing.T) {
	o := defaults()
	o.together = true
	o.Rounds, o.D, o.Warm, o.K, o.sessions = 2, 200*time.Millisecond, 50*time.Millisecond, 4, 20
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	rep, err := runTogether(ctx, o, &out, &log)
	if err != nil {
		t.Fatalf("runTogether: %v\nprogress:\n%s", err, log.String())
	}
	if len(rep.samples) != 2 || len(rep.labels) != 3 {
		t.Fatalf("%d rounds of %d lines, want 2 of 3", len(rep.samples), len(rep.labels))
	}
	for round, ss := range rep.samples {
		for i, s := range ss {
			if s.Rate[0] <= 0 || s.Rate[1] <= 0 || s.CPU[0] <= 0 || s.CPU[1] <= 0 {
				t.Errorf("round %d, %s: %+v: want every rate and CPU positive", round+1, rep.labels[i], s)
			}
		}
	}
	table := out.String()
	for _, want := range []string{"| 20 sessions, no last-seen write due ÷ 1 session |", "| control: 1 session, a second server ÷ 1 session |", "the rounds' ratios, median"} {
		if !strings.Contains(table, want) {
			t.Errorf("the tables have no %q:\n%s", want, table)
		}
	}
	all := table + log.String()
	if strings.Contains(all, "Cookie") || regexp.MustCompile(`[A-Za-z0-9_-]{43}`).MatchString(all) {
		t.Errorf("the output shows a cookie:\n%s", all)
	}
}
