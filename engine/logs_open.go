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
	// opening holds the opens in progress: a log is opened (recovered,
	// or created with synced directories, ~10 ms on a real disk) outside
	// the lock, so that first writes to many new partitions (a put across
	// a 1,000-shard stream) open them concurrently instead of one by one.
	opening map[logID]*pendingOpen
	// closed is set by Close: openLog then fails instead of opening a log
	// nobody would close. Reset closes every log but leaves it false.
	closed bool
}

// pendingOpen is an open in progress; done is closed when it ends, with
// err set on failure.
type pendingOpen struct {
	done chan struct{}
	err  error
}

func (r *logRegistry) init() {
	r.open = make(map[logID]*segment.Log)
	r.opening = make(map[logID]*pendingOpen)
}

// waitOpeningLocked waits, with the lock held on entry and on return, until
// no open of a log matching match is in progress, so that a caller about to
// close or remove logs does not miss one that is being opened.
func (r *logRegistry) waitOpeningLocked(match func(logID) bool) {
	for {
		var p *pendingOpen
		for id, q := range r.opening {
			if match(id) {
				p = q
				break
			}
		}
		if p == nil {
			return
		}
		r.Unlock()
		<-p.done
		r.Lock()
	}
}

// openLog returns the log of (entityID, partition), opening (and creating
// or recovering) it on first use with the engine's Options. The DB owns the
// log: callers never Close it; closeLogs, removeLogs, Reset and Close do.
// Safe for concurrent use: callers for the same log share one open;
// opens of different logs run concurrently.
func (db *DB) openLog(entityID uint64, partition uint32) (*segment.Log, error) {
	id := logID{entity: entityID, partition: partition}
	db.logs.Lock()
	for {
		if db.logs.closed {
			db.logs.Unlock()
			return nil, ErrClosed
		}
		if l, ok := db.logs.open[id]; ok {
			db.logs.Unlock()
			return l, nil
		}
		p, ok := db.logs.opening[id]
		if !ok {
			break
		}
		db.logs.Unlock()
		<-p.done
		if p.err != nil {
			return nil, p.err
		}
		db.logs.Lock() // opened (or already closed again): look again
	}
	p := &pendingOpen{done: make(chan struct{})}
	db.logs.opening[id] = p
	db.logs.Unlock()

	l, err := db.openLogFiles(id)
	db.logs.Lock()
	delete(db.logs.opening, id)
	closed := db.logs.closed
	if err == nil && !closed {
		db.logs.open[id] = l
	}
	p.err = err
	if err == nil && closed {
		p.err = ErrClosed
	}
	close(p.done)
	db.logs.Unlock()
	if err == nil && closed {
		// Close raced with the open: nobody else would close this log.
		return nil, errors.Join(ErrClosed, l.Close())
	}
	return l, err
}

// openLogFiles opens (creating or recovering) the log of id.
func (db *DB) openLogFiles(id logID) (*segment.Log, error) {
	if err := db.ensureEntityLogsDir(id.entity); err != nil {
		return nil, err
	}
	segmentOpts := db.opts.segmentOptions()
	segmentOpts.RemoveSegment = db.moveToTrash // retention, paced (trash.go)
	l, err := segment.Open(db.partitionDir(id), &segmentOpts)
	if err != nil {
		return nil, fmt.Errorf("engine: open log %d/%d: %w", id.entity, id.partition, err)
	}
	return l, nil
}

// closeLogs closes every open log of entityID.
func (db *DB) closeLogs(entityID uint64) error {
	db.logs.Lock()
	db.logs.waitOpeningLocked(func(id logID) bool { return id.entity == entityID })
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
	db.logs.waitOpeningLocked(func(logID) bool { return true })
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
