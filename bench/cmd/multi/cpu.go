package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is where the CPU time had got to at one moment: this process
// (the load generator), one server process, and the whole machine.
type cpuSample struct {
	at          time.Time
	self        time.Duration
	server      time.Duration // -1 when unknown
	busy, total uint64        // /proc/stat jiffies, all CPUs
}

// cpuUse is what happened between two samples, in cores (CPU seconds per
// second) and as the machine's busy fraction.
type cpuUse struct {
	self, server float64 // server < 0 when unknown
	machine      float64
}

func sampleCPU(serverPID int) cpuSample {
	s := cpuSample{at: time.Now(), server: -1}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if serverPID > 0 {
		s.server = procCPU(serverPID)
	}
	s.busy, s.total = machineCPU()
	return s
}

func (a cpuSample) to(b cpuSample) cpuUse {
	el := b.at.Sub(a.at).Seconds()
	u := cpuUse{server: -1}
	if el <= 0 {
		return u
	}
	u.self = (b.self - a.self).Seconds() / el
	if a.server >= 0 && b.server >= 0 {
		u.server = (b.server - a.server).Seconds() / el
	}
	if b.total > a.total {
		u.machine = float64(b.busy-a.busy) / float64(b.total-a.total)
	}
	return u
}

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// procCPU is the user+system time of process pid from /proc/PID/stat, or -1.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * clockTick
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
