package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// proc is a server process this program started: signoff serve, or this
// program itself in a -child mode. Only these are ever signalled, by PID.
type proc struct {
	name   string
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT/
	log    string // the file that holds its stderr
	exited chan struct{}
}

// started is every process still to stop, so that Ctrl-C can reach them.
var started struct {
	sync.Mutex
	procs []*proc
}

var openLine = regexp.MustCompile(`open (http://\S+/) `)

// startProc runs bin with args, its stderr going to a file in dir, and
// waits until it prints "open http://127.0.0.1:PORT/ " on stdout, as
// signoff serve does. It runs in a process group of its own, so that a
// Ctrl-C in the terminal reaches only this program, which stops it; it gets
// SIGKILL should this program die first.
func startProc(dir, name, bin string, args ...string) (*proc, error) {
	logf, err := os.CreateTemp(dir, name+"-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, log: logf.Name(), exited: make(chan struct{})}
	started.Lock()
	if err := cmd.Start(); err != nil {
		started.Unlock()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	started.procs = append(started.procs, p)
	started.Unlock()

	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() { // keep draining so the process never blocks on stdout
			if m := openLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urls <- m[1]
				sent = true
			}
		}
		if !sent {
			close(urls)
		}
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			p.stop()
			return nil, fmt.Errorf("%s exited without saying where it listens; its log:\n%s", name, p.tail())
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Hostname() != "127.0.0.1" {
			p.stop()
			return nil, fmt.Errorf("%s listens on %s, not on 127.0.0.1", name, u)
		}
		p.url = u
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not start within 30 s; its log:\n%s", name, p.tail())
	}
	return p, nil
}

// stop sends SIGTERM (signoff serve shuts down gracefully and leaves the
// revocation bus), then SIGKILL after 10 s, and waits for the exit.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
	}
	started.Lock()
	defer started.Unlock()
	for i, q := range started.procs {
		if q == p {
			started.procs = append(started.procs[:i], started.procs[i+1:]...)
			break
		}
	}
}

// alive reports an error if the process has exited.
func (p *proc) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); its log:\n%s", p.name, p.cmd.ProcessState, p.tail())
	default:
		return nil
	}
}

// tail returns the last lines of the process's log.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// killStarted sends SIGKILL to every process still running that this
// program started: the second Ctrl-C.
func killStarted() {
	started.Lock()
	defer started.Unlock()
	for _, p := range started.procs {
		p.cmd.Process.Kill()
	}
}

// buildSignoff builds cmd/signoff of the repository at root into dir.
func buildSignoff(root, dir string) (string, error) {
	bin := filepath.Join(dir, "signoff")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/signoff")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/signoff in %s: %v\n%s", root, err, out)
	}
	return bin, nil
}

// repoRoot is the directory of the signoff module this bench module
// replaces it with (../ of bench).
func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/signoff/signoff").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/signoff/signoff (run this from the bench module, or pass -repo): %v", err)
	}
	return string(bytes.TrimSpace(out)), nil
}
