//go:build !unix

package peers

import (
	"os"
	"syscall"
)

// signalable reports whether a process pid exists.
func signalable(pid int) bool {
	p, err := os.FindProcess(pid) // opens a handle on Windows: fails if pid is gone
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

func ownProcessGroup() *syscall.SysProcAttr { return nil }

// askToStop kills the process: there is no SIGTERM to send here.
func askToStop(pid int) error { return forceStop(pid) }

func forceStop(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
