package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/sluice-dev/sluice/index"
)

// Directory layout under the data directory passed to Open.
const (
	indexDirName = "index" // pebble
	logsDirName  = "logs"  // logs/<entity-id>/<partition>/ segment logs
)

// DB is an open Sluice data directory: the catalog and indexes (pebble) and
// the logs (segment) of every resource. It is safe for concurrent use. See
// the package documentation for the extension points resource kinds use.
type DB struct {
	dir     string
	logsDir string
	opts    Options
	logger  *slog.Logger
	lock    io.Closer
	index   *index.DB

	// ops gates every operation so that Close and Reset can wait for the
	// ones in flight and turn new ones away (see enter/exit).
	ops struct {
		sync.Mutex
		cond      sync.Cond
		inflight  int
		closed    bool
		resetting bool
		// done is closed when Close or Reset starts, to wake long waits
		// (long polls); Reset installs a fresh channel when it finishes.
		done chan struct{}
	}

	// catalogMu serializes catalog check-and-write sequences and entity id
	// allocation.
	catalogMu struct {
		sync.Mutex
		nextEntityID uint64 // persisted at metaNextEntityID
	}

	kinds struct {
		sync.Mutex
		registries map[resourceKind]kindRegistry
		order      []resourceKind // creation order, for deterministic Close
	}

	logs logRegistry // see logs_open.go

	trash trash // paced deletion of removed logs, see trash.go
}

// Open takes an exclusive lock on dir (creating it if needed), opens the
// index in dir/index and prepares the log registry for dir/logs. A second
// opener of the same dir gets ErrLocked. Logs are opened lazily by the
// resources that own them. Work persisted as running (queue message move
// tasks) resumes before Open returns. Close releases everything.
func Open(dir string, opts *Options) (*DB, error) {
	o := *opts.EnsureDefaults() // copy: never mutate the caller's struct
	if err := o.Validate(); err != nil {
		return nil, err
	}
	lock, err := lockDir(o.FS, dir)
	if err != nil {
		return nil, err
	}
	db := &DB{
		dir:     dir,
		logsDir: o.FS.PathJoin(dir, logsDirName),
		opts:    o,
		logger:  o.Logger.With("component", "engine"),
		lock:    lock,
	}
	if err := db.open(); err != nil {
		return nil, errors.Join(err, db.releaseAfterFailedOpen())
	}
	if err := db.start(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// start resumes the background work that outlives a process, once the
// index and logs are recovered and before any call can run: queue message
// move tasks that were running (movetask.go) and delayed stream deletions
// (stream.go), and the deletion of logs left in the trash (trash.go).
// Resources it needs are opened (and recovered) on the way,
// as any call would; on failure Open closes the DB, which stops whatever
// had started.
func (db *DB) start() error {
	db.startTrash()
	if err := db.resumeMoveTasks(); err != nil {
		return err
	}
	return db.loadDeletingStreams()
}

func (db *DB) open() error {
	db.ops.cond.L = &db.ops.Mutex
	db.ops.done = make(chan struct{})
	db.logs.init()
	db.kinds.registries = make(map[resourceKind]kindRegistry)
	if err := db.opts.FS.MkdirAll(db.logsDir, 0o755); err != nil {
		return fmt.Errorf("engine: create %s: %w", db.logsDir, err)
	}
	if err := db.initTrash(); err != nil {
		return err
	}
	indexDir := db.opts.FS.PathJoin(db.dir, indexDirName)
	if err := db.opts.FS.MkdirAll(indexDir, 0o755); err != nil {
		return fmt.Errorf("engine: create %s: %w", indexDir, err)
	}
	// Make the directory entries durable before anything is written under
	// them: a synced pebble WAL in an unsynced directory is lost in a crash.
	if err := db.syncDir(db.dir); err != nil {
		return err
	}
	if parent := db.opts.FS.PathDir(db.dir); parent != db.dir {
		if err := db.syncDir(parent); err != nil {
			return err
		}
	}
	idx, err := index.Open(indexDir, &index.Options{
		FS:     db.opts.FS,
		Logger: db.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("engine: open index: %w", err)
	}
	db.index = idx
	if err := db.loadEntityCounter(); err != nil {
		return err
	}
	return db.removeOrphanLogs()
}

func (db *DB) releaseAfterFailedOpen() error {
	var errs []error
	if db.index != nil {
		errs = append(errs, db.index.Close())
	}
	errs = append(errs, db.lock.Close())
	return errors.Join(errs...)
}

// Clock returns the clock the engine uses.
func (db *DB) Clock() Clock { return db.opts.Clock }

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }

// Close waits for operations in flight (long waits are woken through
// done()), closes every open resource and log, syncs and closes the index
// and releases the directory lock. It is idempotent; every other call after
// Close returns ErrClosed.
func (db *DB) Close() error {
	db.ops.Lock()
	for db.ops.resetting && !db.ops.closed {
		db.ops.cond.Wait()
	}
	if db.ops.closed {
		db.ops.Unlock()
		return nil
	}
	db.ops.closed = true
	close(db.ops.done)
	for db.ops.inflight > 0 {
		db.ops.cond.Wait()
	}
	db.ops.cond.Broadcast()
	db.ops.Unlock()

	db.stopTrash()
	errs := []error{db.closeKinds(), db.closeAllLogs(true /* final */), db.index.Close(), db.lock.Close()}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("engine: close %s: %w", db.dir, err)
	}
	return nil
}

// Reset deletes every resource and all its data (catalog, index keys, logs)
// and returns when done; the DB stays usable. Operations in flight finish
// first (long waits are woken through done()); new ones wait for Reset.
// Entity ids keep increasing across Reset, so no old data can be confused
// with a new resource.
func (db *DB) Reset(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.ops.Lock()
	for db.ops.resetting && !db.ops.closed {
		db.ops.cond.Wait()
	}
	if db.ops.closed {
		db.ops.Unlock()
		return ErrClosed
	}
	db.ops.resetting = true
	close(db.ops.done)
	for db.ops.inflight > 0 {
		db.ops.cond.Wait()
	}
	db.ops.Unlock()

	err := db.resetData()

	db.ops.Lock()
	db.ops.resetting = false
	db.ops.done = make(chan struct{})
	db.ops.cond.Broadcast()
	db.ops.Unlock()
	if err != nil {
		return fmt.Errorf("engine: reset %s: %w", db.dir, err)
	}
	return nil
}

// resetData runs with no operation in flight.
func (db *DB) resetData() error {
	if err := errors.Join(db.closeKinds(), db.closeAllLogs(false /* final */)); err != nil {
		return err
	}
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	b := db.index.NewBatch()
	defer b.Close()
	// Everything but the meta keyspace, which holds the entity counter.
	b.DeletePrefix(index.CatalogKeyspace())
	b.DeletePrefix(index.EntityKeyspace())
	if err := b.Commit(true /* sync */); err != nil {
		return err
	}
	return db.removeAllLogs()
}

// enter registers an operation in flight. It fails with ErrClosed after
// Close started and waits while Reset runs. Every exported method that
// touches the index, a log or a resource calls it once and defers exit().
// Do not nest enter calls (a nested enter can deadlock against Reset):
// internal helpers assume their caller entered.
func (db *DB) enter() error {
	db.ops.Lock()
	defer db.ops.Unlock()
	for db.ops.resetting && !db.ops.closed {
		db.ops.cond.Wait()
	}
	if db.ops.closed {
		return ErrClosed
	}
	db.ops.inflight++
	return nil
}

// exit ends an operation started by a successful enter.
func (db *DB) exit() {
	db.ops.Lock()
	db.ops.inflight--
	if db.ops.inflight == 0 {
		db.ops.cond.Broadcast()
	}
	db.ops.Unlock()
}

// done returns a channel closed when Close or Reset starts. Operations that
// block (long polls, waits on a log) must also select on it and return
// promptly when it fires, or Close and Reset wait for them. Call it after
// enter and keep the channel for the whole operation.
func (db *DB) done() <-chan struct{} {
	db.ops.Lock()
	defer db.ops.Unlock()
	return db.ops.done
}

// kindRegistry is what each resource kind (queues, streams, ...) keeps per
// DB: its open handles, timers and goroutines.
type kindRegistry interface {
	// closeAll closes every open resource of the kind and stops its
	// goroutines. Close and Reset call it with no operation in flight and no
	// engine lock held, before logs are closed and data deleted. Afterwards
	// the registry must hold no handles; after Reset it is used again.
	closeAll() error
}

// registry returns kind's registry, creating it with create on first use.
func (db *DB) registry(kind resourceKind, create func() kindRegistry) kindRegistry {
	db.kinds.Lock()
	defer db.kinds.Unlock()
	if r, ok := db.kinds.registries[kind]; ok {
		return r
	}
	r := create()
	db.kinds.registries[kind] = r
	db.kinds.order = append(db.kinds.order, kind)
	return r
}

func (db *DB) closeKinds() error {
	db.kinds.Lock()
	regs := make([]kindRegistry, 0, len(db.kinds.order))
	for _, k := range db.kinds.order {
		regs = append(regs, db.kinds.registries[k])
	}
	db.kinds.Unlock()
	var errs []error
	for i := len(regs) - 1; i >= 0; i-- { // reverse creation order
		if err := regs[i].closeAll(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
