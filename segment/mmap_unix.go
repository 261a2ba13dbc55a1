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

// dropResident drops the page-table entries of a mapping made by
// mmapFile (MADV_DONTNEED). The mapping stays valid: the file is
// immutable and shared, so a later access faults the same bytes back in
// from the page cache. The pages leave the process's resident set
// (RssFile) but stay cached by the kernel.
func dropResident(b []byte) error {
	if err := unix.Madvise(b, unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	return nil
}
