package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/syncbuf"
	"github.com/signoff/signoff/internal/testenv"
)

var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := testenv.Run(m)
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// binary builds cmd/signoff once per test run.
func binary(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "signoff-bin-")
		if bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "signoff")
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin.path, ".").CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.path
}

// proc is one running signoff serve.
type proc struct {
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT/
	stderr *syncbuf.Buffer
	exited chan struct{} // closed when the process has exited; then err is set
	err    error
}

// patience bounds every wait for something that must happen: a process
// starting, an instance logging what it did, a condition the test polls.
// It is generous because CI shares 2 cores with other suites (load 15 and
// more), where everything can be tens of times slower than on an idle
// machine; a passing test never waits for it, and its expiry is a failure
// (the event did not happen), never a measure of speed. Where the product
// promises a time (a lease), the test asserts it on the answers themselves,
// not with a wait of this kind.
const patience = time.Minute

// serve starts signoff serve on a free loopback port with args (and
// --rate-limit off) and waits until it says where it listens. The process
// is killed when the test ends if it is still running.
func serve(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "off"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() { // keep draining so the process never blocks on stdout
			if m := regexp.MustCompile(`open (http://\S+/) `).FindStringSubmatch(sc.Text()); m != nil && !sent {
				urls <- m[1]
				sent = true
			}
		}
		if !sent {
			close(urls)
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("serve %v exited without saying where it listens; stderr: %s", args, p.stderr.String())
		}
		p.url = u
	case <-time.After(2 * patience): // it migrates the store first, and three may start at once
		t.Fatalf("serve %v did not start within %v; stderr: %s", args, 2*patience, p.stderr.String())
	}
	return p
}

// kill stops the process with SIGKILL if it is still running.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(patience):
	}
}

// The real binary stops cleanly on SIGTERM and on SIGINT: it exits 0, says
// so, and no longer listens.
func TestGracefulShutdownOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := serve(t, "--store", "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
			res, err := http.Get(p.url + "healthz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			select {
			case <-p.exited:
				if p.err != nil { // a non-zero exit is an *exec.ExitError
					t.Fatalf("after %v: %v; stderr: %s", sig, p.err, p.stderr.String())
				}
			case <-ctx.Done():
				t.Fatalf("still running 20 s after %v", sig)
			}
			if !strings.Contains(p.stderr.String(), "msg=stopped") {
				t.Errorf("after %v the log does not say it stopped: %s", sig, p.stderr.String())
			}
			if _, err := http.Get(p.url + "healthz"); err == nil {
				t.Errorf("still listening after %v", sig)
			}
		})
	}
}
