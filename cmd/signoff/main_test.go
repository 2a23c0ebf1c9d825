package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/syncbuf"
)

// The real binary stops cleanly on SIGTERM and on SIGINT: it exits 0, says
// so, and no longer listens.
func TestGracefulShutdownOnSignals(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "signoff")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--store", "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
			cmd.Env = append(os.Environ(), "SIGNOFF_RATE_LIMIT=off")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr syncbuf.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			url := ""
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := regexp.MustCompile(`open (http://\S+/) `).FindStringSubmatch(sc.Text()); m != nil {
					url = m[1]
					break
				}
			}
			go func() { // keep draining so the process never blocks on stdout
				for sc.Scan() {
				}
			}()
			if url == "" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("serve did not print where to open it; stderr: %s", stderr.String())
			}
			res, err := http.Get(url + "healthz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil { // a non-zero exit is an *exec.ExitError
				t.Fatalf("after %v: %v; stderr: %s", sig, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "msg=stopped") {
				t.Errorf("after %v the log does not say it stopped: %s", sig, stderr.String())
			}
			if _, err := http.Get(url + "healthz"); err == nil {
				t.Errorf("still listening after %v", sig)
			}
		})
	}
}
