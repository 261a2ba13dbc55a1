//go:build unix

package segment

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

// mmapFile maps the first sizeBytes of f read-only. It returns nil without
// error when f has no OS descriptor (an in-memory FS), so callers fall
// back to ReadAt.
func mmapFile(f vfs.File, sizeBytes int64) ([]byte, error) {
	fd := f.Fd()
	if fd == vfs.InvalidFd || sizeBytes <= 0 {
		return nil, nil
	}
	b, err := unix.Mmap(int(fd), 0, int(sizeBytes), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	return b, nil
}

// munmap releases a mapping made by mmapFile.
func munmap(b []byte) error {
	return unix.Munmap(b)
}
