package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSmoke runs the harness briefly: one round, 200 ms a rotate row, 2
// and 4 chains, 20 logouts a logout row, logouts everywhere of 1 and 10
// sessions. It asserts no timing: only that every row it could run
// rotated, logged out, or revoked, that only the PostgreSQL rows may be
// skipped (saying how to enable them), that the tables have every row,
// that no token was printed, and that signoff serve is gone afterwards.
// Each logout and logout everywhere checked itself that the old
// credentials are refused.
func TestSmoke(t *testing.T) {
	o := defaults()
	o.rounds, o.d, o.warm, o.chains = 1, 200*time.Millisecond, 50*time.Millisecond, []int{2, 4}
	o.logouts, o.clients, o.sessions = 20, 4, []int{1, 10}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	rep, err := run(ctx, o, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, log.String())
	}
	if len(rep.rows) != len(stores)*len(o.chains) || len(rep.raw) != 1 || len(rep.http) != 1 {
		t.Fatalf("%d rows, %d and %d rounds: want %d rows, 1 round", len(rep.rows), len(rep.raw), len(rep.http), len(stores)*len(o.chains))
	}
	table := out.String()
	pids := map[int]bool{}
	for i, x := range rep.rows {
		if x.skip != "" {
			if x.store != "postgres" || !strings.Contains(x.skip, "SIGNOFF_TEST_POSTGRES") {
				t.Errorf("%s, %d chains skipped: %s", x.store, x.chains, x.skip)
			} else {
				t.Logf("%s, %d chains skipped: %s", x.store, x.chains, x.skip)
			}
			continue
		}
		pids[x.pid] = true
		for kind, s := range map[string]sample{"raw": rep.raw[0][i], "http": rep.http[0][i]} {
			if s.rotations <= 0 || s.cpu < 0 {
				t.Errorf("%s %s, %d chains: %d rotations, %v CPU: want more than 0 rotations", kind, x.store, x.chains, s.rotations, s.cpu)
			}
		}
		if !strings.Contains(table, "| "+x.store+" | ") {
			t.Errorf("the table has no row for %s", x.store)
		}
	}
	if rep.rows[0].skip != "" {
		t.Errorf("the SQLite rows were skipped")
	}
	if len(rep.targets) != len(stores)*len(modes) || len(rep.logout) != 1 || len(rep.everywhere) != 1 {
		t.Fatalf("%d targets, %d and %d rounds: want %d targets, 1 round", len(rep.targets), len(rep.logout), len(rep.everywhere), len(stores)*len(modes))
	}
	for i, x := range rep.targets {
		if x.skip != "" {
			if x.store != "postgres" {
				t.Errorf("%s, %s mode skipped: %s", x.store, x.mode, x.skip)
			}
			continue
		}
		pids[x.p.PID()] = true
		if s := rep.logout[0][i]; s.logouts != o.logouts || s.cpu < 0 || s.lat.P50 <= 0 {
			t.Errorf("logout on %s, %s mode: %d logouts, %v CPU, p50 %v: want %d logouts", x.store, x.mode, s.logouts, s.cpu, s.lat.P50, o.logouts)
		}
		for j, n := range o.sessions {
			if s := rep.everywhere[0][i][j]; s.http <= 0 || s.raw <= 0 {
				t.Errorf("logout everywhere on %s, %s mode, %d sessions: HTTP %v, raw %v", x.store, x.mode, n, s.http, s.raw)
			}
		}
		if !strings.Contains(table, "| "+x.store+" | "+x.mode+" | ") {
			t.Errorf("the tables have no row for %s, %s mode", x.store, x.mode)
		}
	}
	for _, secret := range []string{"refresh_token\":\"", "Bearer ", "eyJ"} {
		if strings.Contains(table+log.String(), secret) {
			t.Errorf("a token was printed (%q)", secret)
		}
	}
	for pid := range pids {
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			t.Errorf("signoff serve (PID %d) still runs after the run", pid)
		}
	}
	t.Logf("\n%s", table)
}
