package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/sluice-dev/sluice/index"
)

// Queue metadata in the index beyond the catalog record and the message
// state (queue_state.go). Layouts are on-disk format: never renumber.
//
// Under the queue's own entity (gone with the queue):
//
//	EntityMetaKey(entity, "last-purge")               → u64 BE unix ns of the last purge
//	entity | spaceQueueMoveTasks | handle:string      → JSON moveTaskRecord
//	entity | spaceQueueAttempts | expires:i64 | id:string → FIFO receive attempt (see fifo.go)
//
// Under the reserved entity 0 (no resource has it; resource policies use
// its SpaceMeta with names "resource-policy/...", queues the spaces below
// and SpaceMeta names "queue/..."), so Reset clears them with every other
// entity key:
//
//	0 | spaceQueueDeletedNames | deletedAt:i64 | account | region | name  → empty
//	0 | spaceQueueDLQSources | dlq account | region | name | source account | region | name → empty
//	0 | spaceQueueActiveMoveTasks | handle:string                       → empty: a RUNNING or CANCELLING move task (movetask.go)
//	EntityMetaKey(0, "queue/dlq-sources-index-v1")                      → empty: that index is built
const (
	spaceQueueMoveTasks = index.SpaceUserMin + 1
	spaceQueueAttempts  = index.SpaceUserMin + 2

	queueGlobalEntity      = 0
	spaceQueueDeletedNames = index.Space(0x20)
	spaceQueueDLQSources   = index.Space(0x21)
	// spaceQueueActiveMoveTasks lists the move tasks Open resumes.
	spaceQueueActiveMoveTasks = index.Space(0x22)

	queueMetaLastPurge = "last-purge"
)

// appendQueueRef appends ref as three order-preserving string components.
func appendQueueRef(dst []byte, ref QueueRef) []byte {
	dst = index.AppendString(dst, ref.Account)
	dst = index.AppendString(dst, ref.Region)
	return index.AppendString(dst, ref.Name)
}

func readQueueRef(r *index.KeyReader) QueueRef {
	var ref QueueRef
	ref.Account, ref.Region, ref.Name = r.String(), r.String(), r.String()
	return ref
}

// deletedNamesPrefix is the prefix of every deleted-name key.
func deletedNamesPrefix() []byte {
	return index.EntitySpacePrefix(nil, queueGlobalEntity, spaceQueueDeletedNames)
}

// deletedNameKey records that ref was deleted at deletedAt.
func deletedNameKey(deletedAt int64, ref QueueRef) []byte {
	return appendQueueRef(index.AppendInt64(deletedNamesPrefix(), deletedAt), ref)
}

// deletedBefore bounds the deleted-name keys older than t.
func deletedBefore(t int64) []byte { return index.AppendInt64(deletedNamesPrefix(), t) }

// recentlyDeleted reports whether ref was deleted after since: one scan of
// the deletes of the last minute (DeleteQueue drops older keys).
func (db *DB) recentlyDeleted(ref QueueRef, since int64) (bool, error) {
	found := false
	prefix := deletedNamesPrefix()
	err := db.index.Scan(deletedBefore(since+1), index.PrefixEnd(prefix), func(key, _ []byte) error {
		r := index.NewKeyReader(key[len(prefix):])
		r.Int64()
		got := readQueueRef(&r)
		if err := r.Done(); err != nil {
			return fmt.Errorf("engine: deleted queue name key %x: %w", key, err)
		}
		if got == ref {
			found = true
			return index.ErrStop
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("engine: check recent deletes of %s: %w", ref, err)
	}
	return found, nil
}

// lastPurgeKey is the per-queue key of the last purge time.
func (q *Queue) lastPurgeKey() []byte {
	return index.EntityMetaKey(nil, q.entity, queueMetaLastPurge)
}

// loadLastPurge reads the persisted last purge time (0 if none).
func (q *Queue) loadLastPurge() (int64, error) {
	v, ok, err := q.db.index.Get(q.lastPurgeKey())
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("engine: queue %s last purge of %d bytes is corrupt", q.ref, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}
