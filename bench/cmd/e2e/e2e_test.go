package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

// TestSmoke runs the whole harness briefly: two rounds (the second signs
// in to the jwt server again), 200 ms a row. It
// asserts no timing: only that every row it could run measured responses
// and server CPU time, that only the rows of an absent nginx or Redis were
// skipped (saying which package brings them), that the table has every
// row, that no credential was printed and that the servers it started are
// gone.
func TestSmoke(t *testing.T) {
	o := defaults()
	o.Rounds, o.D, o.Warm, o.K = 2, 200*time.Millisecond, 50*time.Millisecond, 8
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	rep, err := run(ctx, o, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, log.String())
	}
	if len(rep.samples) != 2 || len(rep.rows) != len(rowKinds) {
		t.Fatalf("%d rounds of %d rows, want 2 of %d", len(rep.samples), len(rep.rows), len(rowKinds))
	}
	report := out.String()
	for i, x := range rep.rows {
		if !strings.Contains(report, "| "+x.label+" | ") {
			t.Errorf("the table has no row %q", x.label)
		}
		if x.skip != "" {
			if !strings.HasPrefix(x.id, "nginx") && x.id != "scs-redis" || !strings.Contains(x.skip, "nginx-light") && !strings.Contains(x.skip, "redis-server") {
				t.Errorf("%s skipped: %s", x.label, x.skip)
			} else {
				t.Logf("%s skipped: %s", x.label, x.skip)
			}
			continue
		}
		for round, ss := range rep.samples {
			s := ss[i]
			if _, cpu := s.perReq(); s.res.OK == 0 || cpu <= 0 {
				t.Errorf("%s, round %d: %d responses, %v s of server CPU per request: want more than 0 of each", x.label, round+1, s.res.OK, cpu)
			}
		}
	}
	for _, want := range []string{"## End to end: one run, every row", "- machine: ", "- command: ", "| round 1 (load average ", "| round 2 (load average ", "× floor, the rounds' own, median", "- signoff session: GET /verify: 200, "} {
		if !strings.Contains(report, want) {
			t.Errorf("the report has no %q", want)
		}
	}
	for _, secret := range []string{"__Host-session=", "Bearer ", "eyJ", "session=", "session-name="} {
		if strings.Contains(report+log.String(), secret) {
			t.Errorf("a credential was printed (%q)", secret)
		}
	}
	for _, pid := range rep.pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("process %d is still there after run returned", pid)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s\nprogress:\n%s", report, log.String())
	}
}

// TestTogetherSmoke runs -together briefly: two rounds of every pair and
// its control. It asserts no timing: only that each side of each pair
// measured responses and server CPU time, that the tables name every pair,
// that no credential was printed and that the servers it started are gone.
func TestTogetherSmoke(t *testing.T) {
	o := defaults()
	o.together = true
	o.Rounds, o.D, o.Warm, o.K = 2, 200*time.Millisecond, 50*time.Millisecond, 8
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	rep, err := runTogether(ctx, o, &out, &log)
	if err != nil {
		t.Fatalf("runTogether: %v\nprogress:\n%s", err, log.String())
	}
	if want := 2 * len(modes) * len(floorPaths); len(rep.pairs) != want || len(rep.samples) != 2 {
		t.Fatalf("%d rounds of %d pairs, want 2 of %d", len(rep.samples), len(rep.pairs), want)
	}
	report := out.String()
	for i, p := range rep.pairs {
		if !strings.Contains(report, "| "+pairLabel(p)+" | ") {
			t.Errorf("the tables have no line %q", pairLabel(p))
		}
		if p.control != strings.HasPrefix(p.a.id, "floor ") || p.b.id != "floor "+strings.TrimPrefix(p.a.id, "floor ") {
			t.Errorf("pair %d is %s beside %s (control %v)", i, p.a.id, p.b.id, p.control)
		}
		for round, ss := range rep.samples {
			for _, s := range []sample{ss[i].a, ss[i].b} {
				if s.res.OK == 0 || sampleCPU(&s) <= 0 {
					t.Errorf("%s, round %d: %d responses, %v s of CPU per request: want more than 0 of each", pairLabel(p), round+1, s.res.OK, sampleCPU(&s))
				}
			}
		}
	}
	for _, want := range []string{"## Side by side", "- machine: ", "- command: ", "| round 2 (load average ", "the rounds' ratios, median"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report has no %q", want)
		}
	}
	for _, secret := range []string{"__Host-session=", "Bearer ", "eyJ"} {
		if strings.Contains(report+log.String(), secret) {
			t.Errorf("a credential was printed (%q)", secret)
		}
	}
	for _, pid := range rep.pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("process %d is still there after runTogether returned", pid)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s\nprogress:\n%s", report, log.String())
	}
}

// A run that would take longer than its budget does not start.
func TestBudget(t *testing.T) {
	o := defaults()
	o.budget = time.Minute
	var out, log bytes.Buffer
	if _, err := run(context.Background(), o, &out, &log); err == nil || !strings.Contains(err.Error(), "-budget") {
		t.Errorf("run over budget: %v, want a refusal that names -budget", err)
	}
	if out.Len() != 0 {
		t.Errorf("it printed a report: %s", out.String())
	}
}

// The location the nginx rows take from the documented configuration is
// still there.
func TestVerifyLocation(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile(filepath.Join(root, harness.ForwardAuthConf))
	if err != nil {
		t.Fatal(err)
	}
	loc := string(verifyLocation.Find(docs))
	for _, want := range []string{"internal;", "proxy_pass http://" + harness.VerifyUpstream + "/verify;", "X-Original-URI"} {
		if !strings.Contains(loc, want) {
			t.Errorf("the location block of %s has no %q:\n%s", harness.ForwardAuthConf, want, loc)
		}
	}
	if up := string(verifyUpstream.Find(docs)); !strings.Contains(up, "server {{SIGNOFF}};") {
		t.Errorf("%s has no upstream %s for {{SIGNOFF}}:\n%s", harness.ForwardAuthConf, harness.VerifyUpstream, up)
	}
}
