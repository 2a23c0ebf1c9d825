package check

import "syscall"

// appProcAttr puts an app in a process group of its own, which the test
// kills whole, and has Linux kill the app if the test binary dies first
// (a timeout's panic, a SIGKILL), when no cleanup runs.
func appProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
