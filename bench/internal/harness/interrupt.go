package harness

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// Interruptible returns a context that ends after budget or at the first
// Ctrl-C or SIGTERM, when name says so on stderr and how to stop at once;
// a second one kills every process the harness started and exits 130.
// interrupted reports whether a signal ended the run.
func Interruptible(name string, budget time.Duration) (ctx context.Context, cancel context.CancelFunc, interrupted func() bool) {
	ctx, cancel = context.WithTimeout(context.Background(), budget)
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	var got atomic.Bool
	go func() {
		<-sig
		got.Store(true)
		fmt.Fprintf(os.Stderr, "%s: interrupted; stopping the servers it started and cleaning up (again: kill them at once)\n", name)
		cancel()
		<-sig
		KillStarted()
		os.Exit(130)
	}()
	return ctx, cancel, got.Load
}

// Main runs a benchmark's run within budget (Interruptible) and exits:
// 130 after Ctrl-C, 1 with run's error printed after name, else 0.
func Main(name string, budget time.Duration, run func(context.Context) error) {
	ctx, cancel, interrupted := Interruptible(name, budget)
	err := run(ctx)
	cancel()
	if interrupted() {
		fmt.Fprintf(os.Stderr, "%s: interrupted; servers stopped\n", name)
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
