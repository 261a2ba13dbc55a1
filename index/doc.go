// Package index is Sluice's pebble-backed store for small, mutable state: the
// resource catalog, per-entity state indexes (message state by sequence,
// schedules by time), FIFO deduplication ids with expiry, cursors and marks.
// Message payloads never go into the index; they live in segment logs, which
// are the source of truth.
//
// The package imports nothing from the project. It offers:
//
//   - an order-preserving key encoding (AppendString, AppendUint64,
//     AppendInt64, AppendBytes, PrefixEnd) with a sticky-error KeyReader;
//   - DB: Get (copying), Set, atomic Batch (Set, Delete, DeleteRange,
//     DeletePrefix, Commit(sync)), Scan/ScanPrefix and a reusable Iter;
//   - typed keys for each keyspace (see keyspace.go): MetaKey, CatalogKey,
//     EntityPrefix, SeqKey, TimeSeqKey, CursorKey, EntityMetaKey, and the
//     dedup helpers PutDedup / GetDedup / ExpireDedup.
//
// Usage:
//
//	db, err := index.Open(dir, &index.Options{FS: fs})
//	...
//	b := db.NewBatch()
//	b.Set(index.SeqKey(nil, entity, index.SpaceUserMin, seq), state)
//	err = b.Commit(true /* sync */)
//	b.Close()
//	err = db.ScanPrefix(index.EntitySpacePrefix(nil, entity, index.SpaceUserMin), fn)
package index
