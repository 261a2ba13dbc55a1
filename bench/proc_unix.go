//go:build unix

package bench

import "syscall"

// ownProcessGroup starts a child in a process group of its own, so that a
// terminal's Ctrl-C to bench does not reach it.
func ownProcessGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
