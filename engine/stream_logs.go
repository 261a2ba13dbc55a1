package engine

import (
	"fmt"
)

// removePartitionLog closes one partition log of entityID (if open) and
// deletes its files: a stream drops the log of a closed shard whose data
// has all expired. It builds on the core's log registry (logs_open.go).
func (db *DB) removePartitionLog(entityID uint64, partition uint32) error {
	id := logID{entity: entityID, partition: partition}
	db.logs.Lock()
	db.logs.waitOpeningLocked(func(o logID) bool { return o == id })
	l := db.logs.open[id]
	delete(db.logs.open, id)
	db.logs.Unlock()
	if l != nil {
		if err := l.Close(); err != nil {
			return fmt.Errorf("engine: close log %d/%d: %w", entityID, partition, err)
		}
	}
	if err := db.moveToTrash(db.partitionDir(id)); err != nil {
		return fmt.Errorf("engine: remove log %d/%d: %w", entityID, partition, err)
	}
	return nil
}
