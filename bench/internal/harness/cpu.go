package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUSample is where the CPU time had got to at one moment: this process
// (the load generator), each server process asked for with its
// descendants, and the whole machine.
type CPUSample struct {
	At     time.Time
	Self   time.Duration
	Server []time.Duration // one per PID given to SampleCPU; -1 when unknown
	Busy   uint64          // /proc/stat jiffies, all CPUs, not idle
	Total  uint64          // /proc/stat jiffies, all CPUs
}

// CPUUse is what happened between two samples, in cores (CPU seconds per
// second of wall time) and as the machine's busy fraction.
type CPUUse struct {
	Self    float64
	Server  []float64 // one per server of the samples; < 0 when unknown
	Machine float64   // 0 to 1
}

// SampleCPU reads the CPU time used so far by this process, by each
// process of pids together with its descendants (TreeCPU: an nginx master
// and its workers), and by the machine. It reads /proc, so it is cheap but
// not free: call it at the edges of a measured window, not inside it.
func SampleCPU(pids ...int) CPUSample {
	s := CPUSample{At: time.Now(), Server: make([]time.Duration, len(pids))}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.Self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for i, pid := range pids {
		s.Server[i] = TreeCPU(pid)
	}
	s.Busy, s.Total = machineCPU()
	return s
}

// To is the use from a to b, b taken later with the same pids.
func (a CPUSample) To(b CPUSample) CPUUse {
	el := b.At.Sub(a.At).Seconds()
	u := CPUUse{Server: make([]float64, len(a.Server))}
	for i := range u.Server {
		u.Server[i] = -1
	}
	if el <= 0 {
		return u
	}
	u.Self = (b.Self - a.Self).Seconds() / el
	for i := range u.Server {
		if i < len(b.Server) && a.Server[i] >= 0 && b.Server[i] >= 0 {
			u.Server[i] = (b.Server[i] - a.Server[i]).Seconds() / el
		}
	}
	if b.Total > a.Total {
		u.Machine = float64(b.Busy-a.Busy) / float64(b.Total-a.Total)
	}
	return u
}

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// procStat is what /proc/PID/stat says of a process's CPU time, all its
// threads together: its own (utime+stime) and that of the children it has
// waited for (cutime+cstime).
func procStat(pid int) (own, reaped time.Duration, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0, 0, false
	}
	var v [4]int64
	for i := range v { // utime, stime, cutime, cstime: fields 14 to 17
		if v[i], err = strconv.ParseInt(f[11+i], 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return time.Duration(v[0]+v[1]) * clockTick, time.Duration(v[2]+v[3]) * clockTick, true
}

// ProcCPU is the user+system time of process pid (all its threads) from
// /proc/PID/stat, or -1 when it cannot be read.
func ProcCPU(pid int) time.Duration {
	own, _, ok := procStat(pid)
	if !ok {
		return -1
	}
	return own
}

// TreeCPU is the user+system time of process pid and of its descendants:
// those alive now (found through /proc/PID/task/TID/children, recursively)
// and those that exited and were waited for (cutime and cstime of their
// parent). It is -1 when pid's own figures cannot be read; a descendant
// that exits while it is read is left out. For a process without children
// it is ProcCPU.
func TreeCPU(pid int) time.Duration {
	own, reaped, ok := procStat(pid)
	if !ok {
		return -1
	}
	sum := own + reaped
	for _, c := range Descendants(pid) {
		if o, r, ok := procStat(c); ok {
			sum += o + r
		}
	}
	return sum
}

// Descendants lists the live descendants of pid, children first. It reads
// /proc/PID/task/*/children (Linux 3.5 and later, CONFIG_PROC_CHILDREN)
// and, where the kernel has no such files, the parent of every process in
// /proc/*/stat. It returns nothing when neither can be read, and stops at
// 4096 processes.
func Descendants(pid int) []int {
	children := childrenFiles
	if files, _ := filepath.Glob("/proc/self/task/*/children"); len(files) == 0 {
		children = childrenByParent()
	}
	var out []int
	queue := []int{pid}
	seen := map[int]bool{pid: true}
	for len(queue) > 0 && len(out) < 4096 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children(p) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// childrenFiles lists the children of pid from /proc/PID/task/*/children.
func childrenFiles(pid int) []int {
	var out []int
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(w); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// childrenByParent reads the parent of every process once and returns a
// function that lists the children of a PID from what it read.
func childrenByParent() func(int) []int {
	kids := map[int][]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil { // field 4
			kids[ppid] = append(kids[ppid], pid)
		}
	}
	return func(pid int) []int { return kids[pid] }
}

// machineCPU returns the busy and total jiffies of all CPUs from /proc/stat.
func machineCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest time is already counted in user
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
