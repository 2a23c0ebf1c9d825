// Package testenv lets a test that needs a real service (PostgreSQL, Redis,
// Chromium, nginx, …) skip with a message that names what enables it, and
// makes `go test ./...` say, for each package, which suites it skipped.
//
// `go test` with several packages prints nothing of a passing package but
// its "ok" line, so a package's TestMain calls Main, which, after the run,
// writes one block to the go command's own standard output when that is a
// terminal or a pipe: the suites skipped and the variable or package that
// enables each. With -v, or when the test binary runs alone, the block
// goes to the binary's output. A cached result (`(cached)`) reruns nothing
// and says nothing: -count=1 reruns.
package testenv

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var skipped struct {
	sync.Mutex
	m map[string]string // suite -> what enables it
}

// Skip skips t because suite (say, "PostgreSQL store tests") needs what
// enable names (say, "set SIGNOFF_TEST_POSTGRES=postgres://…"), and
// remembers it for Main's report.
func Skip(t testing.TB, suite, enable string) {
	t.Helper()
	skipped.Lock()
	if skipped.m == nil {
		skipped.m = map[string]string{}
	}
	skipped.m[suite] = enable
	skipped.Unlock()
	t.Skipf("%s skipped: %s", suite, enable)
}

// Main runs the package's tests, reports what Skip skipped, and exits.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the package's tests, reports what Skip skipped, and returns
// the exit code, for a TestMain with more to do.
func Run(m *testing.M) int {
	code := m.Run()
	Report(goOutput())
	return code
}

// Report writes what Skip skipped to w, if anything.
func Report(w io.Writer) {
	skipped.Lock()
	defer skipped.Unlock()
	if len(skipped.m) == 0 {
		return
	}
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	var b strings.Builder
	fmt.Fprintf(&b, "%s: skipped %d suite(s) that need a real service:\n", pkg, len(skipped.m))
	for _, s := range slices.Sorted(func(yield func(string) bool) {
		for k := range skipped.m {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "  - %s: %s\n", s, skipped.m[s])
	}
	io.WriteString(w, b.String())
}

// goOutput is the go command's standard output when this binary runs under
// `go test` without -v or -json (which discards a passing package's
// output), else the binary's own. It reads /proc with syscalls, not the os
// package, so that the go command's test cache does not count these files
// as inputs of the test.
func goOutput() io.Writer {
	ppid := strconv.Itoa(os.Getppid())
	comm, ok := readProc("/proc/" + ppid + "/comm")
	if !ok || strings.TrimSpace(comm) != "go" {
		return os.Stdout
	}
	cmdline, _ := readProc("/proc/" + ppid + "/cmdline")
	for _, a := range strings.Split(cmdline, "\x00") {
		if a == "-v" || a == "-json" || strings.HasPrefix(a, "-v=") || strings.HasPrefix(a, "-json=") {
			return os.Stdout
		}
	}
	fd, err := syscall.Open("/proc/"+ppid+"/fd/1", syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CLOEXEC, 0)
	if err != nil {
		return os.Stdout
	}
	// A terminal or a pipe is shared; a regular file opened anew has an
	// offset of its own, and go's later writes would overwrite ours.
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT == syscall.S_IFREG {
		syscall.Close(fd)
		return os.Stdout
	}
	return os.NewFile(uintptr(fd), "go test's stdout")
}

func readProc(path string) (string, bool) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer syscall.Close(fd)
	buf := make([]byte, 4096)
	n, err := syscall.Read(fd, buf)
	if err != nil || n < 0 {
		return "", false
	}
	return string(buf[:n]), true
}

// ProcessCPU is the CPU time, user and system, that the test process has
// used: a benchmark's cost apart from the time it waits (for a disk, a
// server, another goroutine), reported as cpu-ns/op, steadier than ns/op
// on a busy machine.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
