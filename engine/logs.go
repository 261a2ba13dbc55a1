package engine

import (
	"fmt"
	"strconv"
)

// logID names one partition log: logs/<entity>/<partition>/.
type logID struct {
	entity    uint64
	partition uint32
}

func (db *DB) entityLogsDir(entityID uint64) string {
	return db.opts.FS.PathJoin(db.logsDir, strconv.FormatUint(entityID, 10))
}

func (db *DB) partitionDir(id logID) string {
	return db.opts.FS.PathJoin(db.entityLogsDir(id.entity), strconv.FormatUint(uint64(id.partition), 10))
}

// removeLogs closes every open log of entityID and moves its directory to
// the trash (trash.go), which deletes it at a pace.
func (db *DB) removeLogs(entityID uint64) error {
	if err := db.closeLogs(entityID); err != nil {
		return err
	}
	return db.moveToTrash(db.entityLogsDir(entityID))
}

// removeAllLogs deletes every log directory (no log may be open).
func (db *DB) removeAllLogs() error {
	names, err := db.opts.FS.List(db.logsDir)
	if err != nil {
		return fmt.Errorf("engine: list %s: %w", db.logsDir, err)
	}
	for _, name := range names {
		if err := db.opts.FS.RemoveAll(db.opts.FS.PathJoin(db.logsDir, name)); err != nil {
			return fmt.Errorf("engine: remove log %s: %w", name, err)
		}
	}
	return db.syncDir(db.logsDir)
}

// removeOrphanLogs deletes log directories whose entity has no catalog
// record (a crash between a resource's catalog delete and its log removal)
// and keeps the entity counter above every directory found.
func (db *DB) removeOrphanLogs() error {
	names, err := db.opts.FS.List(db.logsDir)
	if err != nil {
		return fmt.Errorf("engine: list %s: %w", db.logsDir, err)
	}
	for _, name := range names {
		entityID, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			db.logger.Warn("ignoring unexpected entry in logs directory", "dir", db.logsDir, "name", name)
			continue
		}
		if err := db.raiseEntityCounter(entityID); err != nil {
			return err
		}
		live, err := db.entityExists(entityID)
		if err != nil {
			return err
		}
		if live {
			continue
		}
		db.logger.Info("removing logs of a deleted resource", "entity", entityID)
		if err := db.moveToTrash(db.entityLogsDir(entityID)); err != nil {
			return fmt.Errorf("engine: remove orphaned logs %d: %w", entityID, err)
		}
	}
	return nil
}

// syncDir fsyncs a directory so that creates and removes in it are durable.
func (db *DB) syncDir(dir string) error {
	f, err := db.opts.FS.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("engine: open dir %s: %w", dir, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("engine: sync dir %s: %w", dir, err)
	}
	return nil
}
