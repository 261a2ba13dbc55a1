package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// lockFileName is the file in the data directory that the exclusive lock is
// taken on (fcntl F_SETLK through vfs.FS.Lock, so it is released when the
// process dies).
const lockFileName = "LOCK"

// lockDir creates dir if needed and takes the exclusive lock on it. A lock
// held by another process, or by another DB in this process, yields an error
// wrapping ErrLocked that names the directory.
func lockDir(fsys vfs.FS, dir string) (io.Closer, error) {
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: create data directory %s: %w", dir, err)
	}
	name := fsys.PathJoin(dir, lockFileName)
	if fsys == vfs.Default {
		// pebble's in-process lock table is keyed by name; make two
		// spellings of one directory collide.
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
	}
	closer, err := fsys.Lock(name)
	if err != nil {
		if isLockHeld(err) {
			return nil, fmt.Errorf("%w: %s (%v); stop the other sluice or use another directory", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("engine: lock data directory %s: %w", dir, err)
	}
	return closer, nil
}

// isLockHeld tells "somebody holds the lock" from other failures (a missing
// directory, permissions). fcntl reports a held lock as EAGAIN or EACCES
// without a path; creating the file fails with a *fs.PathError instead.
// pebble reports a lock held by this process with a plain message.
func isLockHeld(err error) bool {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return false
	}
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EWOULDBLOCK) {
		return true
	}
	return strings.Contains(err.Error(), "lock held by current process")
}
