//go:build unix && !linux

package check

import "syscall"

// appProcAttr puts an app in a process group of its own, which the test
// kills whole. (Only Linux has Pdeathsig here: an app outlives a test
// binary that dies before its cleanup.)
func appProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
