package engine

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Paced deletion of logs ("trash").
//
// Deleting a large file at once frees all its blocks in one journal commit,
// and on a filesystem that discards freed blocks (ext4 mounted `discard`, as
// on the reference VM) the device then works through the whole discard
// ahead of later flushes: deleting a 1.5 GB file there stalled other logs'
// fdatasyncs for 40–90 ms, while deleting it in 16 MiB steps did not
// (bench/RESULTS.md, "Where the server's CPU goes"). So the logs of a
// deleted resource are renamed into dir/trash — the delete is durable and
// the directory gone from logs/ at once — and one background goroutine
// shrinks each file by trashChunkBytes at a time, each step followed by an
// fdatasync (which commits the freed blocks, so each commit discards one
// chunk), trashPause apart, then removes it. Open resumes whatever a crash
// or Close left in the trash. Reset still deletes at once (it returns when
// the data is gone).
const (
	trashDirName    = "trash"
	trashChunkBytes = 16 << 20
	trashPause      = 20 * time.Millisecond
)

// trash is the state of the deleter goroutine.
type trash struct {
	dir     string
	next    atomic.Uint64 // next entry name
	wake    chan struct{} // capacity 1
	stop    chan struct{}
	done    chan struct{}
	started bool
}

// initTrash creates dir/trash and names new entries above every entry a
// previous run left there. The goroutine starts in startTrash.
func (db *DB) initTrash() error {
	t := &db.trash
	t.dir = db.opts.FS.PathJoin(db.dir, trashDirName)
	t.wake = make(chan struct{}, 1)
	t.stop = make(chan struct{})
	t.done = make(chan struct{})
	if err := db.opts.FS.MkdirAll(t.dir, 0o755); err != nil {
		return fmt.Errorf("engine: create %s: %w", t.dir, err)
	}
	names, err := db.opts.FS.List(t.dir)
	if err != nil {
		return fmt.Errorf("engine: list %s: %w", t.dir, err)
	}
	for _, name := range names {
		if n, err := strconv.ParseUint(name, 10, 64); err == nil && n >= t.next.Load() {
			t.next.Store(n + 1)
		}
	}
	return nil
}

// startTrash starts the deleter, which first empties what is already there.
func (db *DB) startTrash() {
	t := &db.trash
	t.started = true
	go db.runTrash()
	db.nudgeTrash()
}

// stopTrash stops the deleter; what it has not deleted stays for the next
// Open.
func (db *DB) stopTrash() {
	if t := &db.trash; t.started {
		t.started = false
		close(t.stop)
		<-t.done
	}
}

func (db *DB) nudgeTrash() {
	select {
	case db.trash.wake <- struct{}{}:
	default:
	}
}

// moveToTrash durably moves the log directory path into the trash, where
// the deleter removes it at its pace.
func (db *DB) moveToTrash(path string) error {
	fs := db.opts.FS
	if _, err := fs.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil // nothing was ever written for this resource
	} else if err != nil {
		return fmt.Errorf("engine: stat %s: %w", path, err)
	}
	dst := fs.PathJoin(db.trash.dir, strconv.FormatUint(db.trash.next.Add(1)-1, 10))
	if err := fs.Rename(path, dst); err != nil {
		return fmt.Errorf("engine: move %s to the trash: %w", path, err)
	}
	if err := errors.Join(db.syncDir(fs.PathDir(path)), db.syncDir(db.trash.dir)); err != nil {
		return err
	}
	db.nudgeTrash()
	return nil
}

// runTrash is the deleter goroutine.
func (db *DB) runTrash() {
	t := &db.trash
	defer close(t.done)
	for {
		select {
		case <-t.stop:
			return
		case <-t.wake:
		}
		names, err := db.opts.FS.List(t.dir)
		if err != nil {
			db.logger.Warn("listing the trash", "dir", t.dir, "err", err)
			continue
		}
		for _, name := range names {
			path := db.opts.FS.PathJoin(t.dir, name)
			stopped, err := db.removeSlowly(path)
			if stopped {
				return
			}
			if err != nil {
				// Left for the next wake or Open; the data is already
				// unreachable.
				db.logger.Warn("deleting from the trash", "path", path, "err", err)
			}
		}
		if err := db.syncDir(t.dir); err != nil {
			db.logger.Warn("syncing the trash", "dir", t.dir, "err", err)
		}
	}
}

// removeSlowly removes path (a file, or a directory and everything under
// it), shrinking large files in paced steps first. stopped reports that
// stopTrash interrupted it.
func (db *DB) removeSlowly(path string) (stopped bool, err error) {
	fs := db.opts.FS
	info, err := fs.Stat(path)
	if err != nil {
		return false, err
	}
	if info.IsDir() {
		names, err := fs.List(path)
		if err != nil {
			return false, err
		}
		for _, name := range names {
			if stopped, err := db.removeSlowly(fs.PathJoin(path, name)); stopped || err != nil {
				return stopped, err
			}
		}
		return false, fs.Remove(path)
	}
	if info.Size() > trashChunkBytes {
		if stopped, err := db.shrinkSlowly(path, info.Size()); stopped || err != nil {
			return stopped, err
		}
	}
	return false, fs.Remove(path)
}

// shrinkSlowly truncates the file at path from size down to one chunk, a
// chunk at a time, syncing and pausing after each step. Files without an
// OS descriptor (in-memory test filesystems) are left whole.
func (db *DB) shrinkSlowly(path string, size int64) (stopped bool, err error) {
	f, err := db.opts.FS.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return false, err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	fd := f.Fd()
	if fd == vfs.InvalidFd {
		return false, nil
	}
	for size > trashChunkBytes {
		size -= trashChunkBytes
		if err := truncateFd(fd, size); errors.Is(err, errors.ErrUnsupported) {
			return false, nil // removed whole
		} else if err != nil {
			return false, err
		}
		if err := f.SyncData(); err != nil {
			return false, err
		}
		select {
		case <-db.trash.stop:
			return true, nil
		case <-time.After(trashPause):
		}
	}
	return false, nil
}
