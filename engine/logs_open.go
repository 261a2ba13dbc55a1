package engine

import (
	"errors"
	"fmt"
	"sync"

	"github.com/sluice-dev/sluice/segment"
)

// logRegistry holds the open segment logs, one per (entity, partition).
type logRegistry struct {
	sync.Mutex
	open map[logID]*segment.Log
	// closed is set by Close: openLog then fails instead of opening a log
	// nobody would close. Reset closes every log but leaves it false.
	closed bool
}

func (r *logRegistry) init() { r.open = make(map[logID]*segment.Log) }

// openLog returns the log of (entityID, partition), opening (and creating
// or recovering) it on first use with the engine's Options. The DB owns the
// log: callers never Close it; closeLogs, removeLogs, Reset and Close do.
// Safe for concurrent use.
func (db *DB) openLog(entityID uint64, partition uint32) (*segment.Log, error) {
	id := logID{entity: entityID, partition: partition}
	db.logs.Lock()
	defer db.logs.Unlock()
	if db.logs.closed {
		return nil, ErrClosed
	}
	if l, ok := db.logs.open[id]; ok {
		return l, nil
	}
	// TODO(engine): open outside the lock if recovery of one log ever
	// becomes slow enough to stall others (it is bounded by the unsynced
	// tail).
	if err := db.ensureEntityLogsDir(entityID); err != nil {
		return nil, err
	}
	segmentOpts := db.opts.segmentOptions()
	l, err := segment.Open(db.partitionDir(id), &segmentOpts)
	if err != nil {
		return nil, fmt.Errorf("engine: open log %d/%d: %w", entityID, partition, err)
	}
	db.logs.open[id] = l
	return l, nil
}

// closeLogs closes every open log of entityID.
func (db *DB) closeLogs(entityID uint64) error {
	db.logs.Lock()
	var toClose []*segment.Log
	for id, l := range db.logs.open {
		if id.entity == entityID {
			toClose = append(toClose, l)
			delete(db.logs.open, id)
		}
	}
	db.logs.Unlock()
	return closeEach(toClose)
}

// closeAllLogs closes every open log; final (from Close) also makes later
// openLog calls fail with ErrClosed.
func (db *DB) closeAllLogs(final bool) error {
	db.logs.Lock()
	db.logs.closed = db.logs.closed || final
	toClose := make([]*segment.Log, 0, len(db.logs.open))
	for id, l := range db.logs.open {
		toClose = append(toClose, l)
		delete(db.logs.open, id)
	}
	db.logs.Unlock()
	return closeEach(toClose)
}

func closeEach(logs []*segment.Log) error {
	var errs []error
	for _, l := range logs {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ensureEntityLogsDir creates logs/<entity> with a durable directory entry;
// segment makes the partition directory under it durable itself.
func (db *DB) ensureEntityLogsDir(entityID uint64) error {
	dir := db.entityLogsDir(entityID)
	if _, err := db.opts.FS.Stat(dir); err == nil {
		return nil
	}
	if err := db.opts.FS.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("engine: create %s: %w", dir, err)
	}
	return db.syncDir(db.logsDir)
}
