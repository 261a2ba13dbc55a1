//go:build linux

package segment

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

// mapForWrite maps the first length bytes of the active segment file f
// shared and writable, or returns nil (no error) where mapped writes do
// not apply: a filesystem other than the OS's own (vfs.Default) — a
// wrapping FS such as errorfs must see every write — or no descriptor.
// The mapping may extend past the end of the file; the writer only
// touches it below the size it has zero-filled, as a touch past EOF
// faults.
func mapForWrite(fs vfs.FS, f vfs.File, length int64) ([]byte, error) {
	if fs != vfs.Default || length <= 0 {
		return nil, nil
	}
	fd := f.Fd()
	if fd == vfs.InvalidFd {
		return nil, nil
	}
	b, err := unix.Mmap(int(fd), 0, int(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap for writing: %w", err)
	}
	return b, nil
}

// startWriteback asks the kernel to start writing [off, off+length) of f
// back to disk and returns without waiting for it (sync_file_range
// SYNC_FILE_RANGE_WRITE: no durability, no metadata; an fdatasync still
// decides what is durable).
func startWriteback(f vfs.File, off, length int64) error {
	return unix.SyncFileRange(int(f.Fd()), off, length, unix.SYNC_FILE_RANGE_WRITE)
}

// dropMappedPages unmaps the resident pages of b (whole pages, already
// written) from the process: the page cache keeps them, dirty ones
// included, for writeback and readers; only the process's RSS shrinks.
func dropMappedPages(b []byte) error {
	return unix.Madvise(b, unix.MADV_DONTNEED)
}

// unmapWrite releases a mapping made by mapForWrite.
func unmapWrite(b []byte) error {
	return unix.Munmap(b)
}
