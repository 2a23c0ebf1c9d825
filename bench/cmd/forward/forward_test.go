package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

// TestForward runs the whole benchmark briefly: one round of tiny
// measurements. It asserts no timing, only that it ran, that every
// response was 2xx, that the tables have their rows, that no credential
// was printed and that the servers it started are gone.
func TestForward(t *testing.T) {
	nginx, err := harness.FindNginx(harness.DefaultNginx)
	if err != nil {
		t.Skipf("%v (the forward-auth benchmark runs nginx; Debian's nginx-light will do)", err)
	}
	o := defaults()
	o.K, o.creds, o.Rounds, o.D, o.Warm, o.nginx = 4, 2, 1, 150*time.Millisecond, 50*time.Millisecond, nginx
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	rep, err := run(ctx, o, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, log.String())
	}
	if len(rep.samples) != 1 || len(rep.targets) != len(targetKinds) {
		t.Fatalf("%d rounds of %d targets, want 1 of %d", len(rep.samples), len(rep.targets), len(targetKinds))
	}
	report := out.String()
	for i, tg := range rep.targets {
		s := rep.samples[0][i]
		if s.res.OK == 0 || s.res.Other+s.res.Outside.Other != 0 || s.res.Errs+s.res.Outside.Errs != 0 {
			t.Errorf("%s: %+v: want 2xx only", tg.label, s.res)
		}
		if !strings.Contains(report, "| "+tg.label+" | ") {
			t.Errorf("the table has no row %q", tg.label)
		}
	}
	for _, want := range []string{"| round | load average", "- machine: ", "- command: ", "session mode: through nginx (b)", "jwt mode: through nginx (b)"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report has no %q", want)
		}
	}
	for _, secret := range []string{"__Host-session=", "Bearer ", "eyJ"} {
		if strings.Contains(report+log.String(), secret) {
			t.Errorf("a credential was printed (%q)", secret)
		}
	}
	// Everything it started has exited (and was waited for).
	pids := []int{rep.pids.nginx}
	pids = append(pids, rep.pids.workers...)
	pids = append(pids, rep.pids.signoff...)
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("process %d is still there after run returned", pid)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s\nprogress:\n%s", report, log.String())
	}
}
