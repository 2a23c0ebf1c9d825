package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Proc is a process a benchmark started: signoff serve, nginx, or the
// benchmark itself in a child mode. Only these are ever signalled, and
// only by PID.
type Proc struct {
	Name   string
	Cmd    *exec.Cmd
	URL    string // http://127.0.0.1:PORT/ for StartServer; "" for StartProc
	Log    string // the file that holds its stderr (and stdout, for StartProc)
	exited chan struct{}
}

// started is every process still to stop, so that Ctrl-C can reach them.
var started struct {
	sync.Mutex
	procs []*Proc
}

var openLine = regexp.MustCompile(`open (http://\S+/) `)

// StartServer runs bin with args, its stderr going to a file in dir, and
// waits up to 30 s until it prints "open http://127.0.0.1:PORT/ " on
// stdout, as signoff serve does; the URL is then p.URL. It refuses a
// server that says it listens anywhere but 127.0.0.1. The process runs in
// a process group of its own, so that a Ctrl-C in the terminal reaches
// only the benchmark, which stops it; it gets SIGKILL should the benchmark
// die first.
func StartServer(dir, name, bin string, args ...string) (*Proc, error) {
	return StartServerEnv(dir, name, nil, bin, args...)
}

// StartServerEnv is StartServer with env added to the process's
// environment (KEY=VALUE each), for example a GOGC of its own.
func StartServerEnv(dir, name string, env []string, bin string, args ...string) (*Proc, error) {
	urls := make(chan string, 1)
	p, err := start(dir, name, bin, args, env, func(stdout io.Reader) {
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
	})
	if err != nil {
		return nil, err
	}
	select {
	case u, ok := <-urls:
		if !ok {
			p.Stop()
			return nil, fmt.Errorf("%s exited without saying where it listens; its log:\n%s", name, p.Tail())
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Hostname() != "127.0.0.1" {
			p.Stop()
			return nil, fmt.Errorf("%s listens on %s, not on 127.0.0.1", name, u)
		}
		p.URL = u
	case <-time.After(30 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("%s did not start within 30 s; its log:\n%s", name, p.Tail())
	}
	return p, nil
}

// StartProc runs bin with args in dir, its stdout and stderr going to a
// file in dir, like StartServer but without waiting for anything: see
// WaitListen.
func StartProc(dir, name, bin string, args ...string) (*Proc, error) {
	return start(dir, name, bin, args, nil, nil)
}

// start runs the command; with read nil its stdout goes to the log too,
// else read gets it (and must drain it).
func start(dir, name, bin string, args, env []string, read func(io.Reader)) (*Proc, error) {
	logf, err := os.CreateTemp(dir, name+"-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stdout io.Reader
	if read == nil {
		cmd.Stdout = logf
		cmd.Dir = dir
	} else if stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	p := &Proc{Name: name, Cmd: cmd, Log: logf.Name(), exited: make(chan struct{})}
	started.Lock()
	if err := cmd.Start(); err != nil {
		started.Unlock()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	started.procs = append(started.procs, p)
	started.Unlock()
	go func() {
		if read != nil {
			read(stdout)
		}
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// PID is the process's ID.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// WaitListen waits until every address of addrs (host:port) accepts a TCP
// connection, for at most timeout. It fails at once if the process exits.
func (p *Proc) WaitListen(timeout time.Duration, addrs ...string) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if err := p.Alive(); err != nil {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not listen on %s within %v; its log:\n%s", p.Name, a, timeout, p.Tail())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// Stop sends SIGTERM (signoff serve shuts down gracefully and leaves the
// revocation bus; an nginx master stops its workers), then SIGKILL after
// 10 s, and waits for the exit. Stopping a stopped process does nothing.
func (p *Proc) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.kill()
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

// kill sends SIGKILL to the process and to its live descendants (an nginx
// master's workers outlive a killed master), each by PID.
func (p *Proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	kids := Descendants(p.PID())
	p.Cmd.Process.Kill()
	for _, c := range kids {
		syscall.Kill(c, syscall.SIGKILL)
	}
}

// Alive reports an error if the process has exited.
func (p *Proc) Alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); its log:\n%s", p.Name, p.Cmd.ProcessState, p.Tail())
	default:
		return nil
	}
}

// Tail returns the last lines of the process's log.
func (p *Proc) Tail() string {
	b, _ := os.ReadFile(p.Log)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// KillStarted sends SIGKILL to every process still running that was
// started here, and to its descendants: a second Ctrl-C.
func KillStarted() {
	started.Lock()
	defer started.Unlock()
	for _, p := range started.procs {
		p.kill()
	}
}

// BuildSignoff builds cmd/signoff of the repository at root into dir and
// returns the binary's path.
func BuildSignoff(root, dir string) (string, error) {
	return Build(root, "./cmd/signoff", filepath.Join(dir, "signoff"))
}

// Build runs go build -o out pkg in dir and returns out.
func Build(dir, pkg, out string) (string, error) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %v\n%s", pkg, dir, err, b)
	}
	return out, nil
}

// RepoRoot is the directory of the signoff module that the bench module
// replaces it with (../ of bench). It must run inside the bench module.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/signoff/signoff").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/signoff/signoff (run this from the bench module, or pass -repo): %v", err)
	}
	return string(bytes.TrimSpace(out)), nil
}

// FreeAddr returns a 127.0.0.1:PORT that was free a moment ago, for a
// server that cannot be told to listen on port 0 and say which (nginx).
// Another process may take it in between; the server then fails to start.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
