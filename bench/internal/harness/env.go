package harness

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// CPUInfo returns the model name of the first CPU of /proc/cpuinfo and the
// number of CPUs it lists ("unknown" and runtime.NumCPU when it cannot be
// read).
func CPUInfo() (model string, cores int) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown", runtime.NumCPU()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		case "processor":
			cores++
		}
	}
	if model == "" {
		model = "unknown"
	}
	return model, cores
}

// LoadAvg returns the 1, 5 and 15 minute load averages of /proc/loadavg,
// as it writes them, or "unknown".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Kernel returns the running kernel's release.
func Kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// GoVersion returns what `go version` says, without its "go version "
// prefix: the toolchain that builds signoff serve and the benchmark.
func GoVersion() string {
	b, _ := exec.Command("go", "version").Output()
	return strings.TrimSpace(strings.TrimPrefix(string(b), "go version "))
}

// GitState names the commit of the repository at root that a signoff
// binary was built from, and says so if files outside bench/ have
// uncommitted changes.
func GitState(root string) string {
	rev, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	s := "commit " + strings.TrimSpace(string(rev))
	// bench/ is another module: its changes are not in the binary.
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench").Output(); err == nil && len(st) > 0 {
		s += " with uncommitted changes outside bench/"
	}
	return s
}

// CommandLine is how this program was started, as a shell would take it;
// under go run (a binary in a go-build directory) it says `go run pkg`.
func CommandLine(pkg string) string {
	args := make([]string, 0, len(os.Args))
	if strings.Contains(os.Args[0], "go-build") {
		args = append(args, "go", "run", pkg)
	} else {
		args = append(args, os.Args[0])
	}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"&?;|$*") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// Machine is what a benchmark ran on: the CPU model, its cores,
// GOMAXPROCS, the kernel, and the load average now.
func Machine() string {
	model, cores := CPUInfo()
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), Linux %s; load average at the end: %s",
		model, cores, runtime.GOMAXPROCS(0), Kernel(), LoadAvg())
}
