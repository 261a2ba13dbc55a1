//go:build unix

package peers

import "syscall"

// signalable reports whether pid exists (kill with signal 0).
func signalable(pid int) bool { return syscall.Kill(pid, 0) == nil }

// ownProcessGroup starts a peer in a process group of its own, so that a
// terminal's Ctrl-C to bench does not reach it.
func ownProcessGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func askToStop(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

func forceStop(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
