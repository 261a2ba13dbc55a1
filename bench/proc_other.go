//go:build !unix

package bench

import "syscall"

func ownProcessGroup() *syscall.SysProcAttr { return nil }
