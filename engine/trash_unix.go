//go:build unix

package engine

import "golang.org/x/sys/unix"

// truncateFd sets the size of the open file fd.
func truncateFd(fd uintptr, size int64) error { return unix.Ftruncate(int(fd), size) }
