// Package engine is Sluice's storage domain: queues, streams, topics and
// delivery streams over segment logs (message data) and a pebble index
// (catalog and mutable state). It knows nothing of HTTP or AWS wire formats;
// server is one client of it and Go programs can embed it directly:
//
//	db, err := engine.Open("/var/lib/sluice", &engine.Options{})
//	if err != nil { ... } // errors.Is(err, engine.ErrLocked) if another process has it
//	defer db.Close()
//
// # Data directory
//
//	<dir>/LOCK                         exclusive fcntl lock (vfs.FS.Lock)
//	<dir>/index/                       pebble: catalog, per-entity state (see package index)
//	<dir>/logs/<entity>/<partition>/   one segment log per partition of an entity
//
// Every resource lives in a Namespace{Account, Region}. Each resource gets an
// entity id at creation, allocated from a persisted counter and never reused
// (not even across Reset); its logs and index keys are named by that id, so a
// resource deleted and created again under the same name never sees old data.
//
// # Operations, Close and Reset
//
// Every exported method that touches the index, a log or a resource calls
// db.enter() once (ErrClosed after Close; waits while Reset runs) and defers
// db.exit(). Close and Reset close db.done() first, then wait for in-flight
// operations, so anything that blocks (long polls, log waits) must select on
// the channel returned by db.done() and return promptly. Do not call enter
// twice in one operation: a nested enter deadlocks against a pending Reset.
//
// # How to add a resource kind
//
// A kind (queues, streams, ...) lives in its own files (queue*.go,
// stream*.go) and uses four extension points of the core:
//
// 1. Catalog (catalog.go). Records are keyed by (kind, namespace, name); the
// value is the kind's own encoding of its attributes (encoding/json is fine
// for metadata; use a compact binary for anything hot). Pick a resourceKind
// constant (kindQueue, kindStream, ...; persisted, never renumber).
//
//	func (db *DB) catalogGet(kind resourceKind, ns Namespace, name string) (rec catalogRecord, ok bool, err error)
//	func (db *DB) catalogCreate(kind resourceKind, ns Namespace, name string, value []byte, extra func(b *index.Batch, entityID uint64)) (catalogRecord, error)
//	    // errCatalogExists (+ the existing record) if the name is taken
//	func (db *DB) catalogUpdate(kind resourceKind, ns Namespace, name string, entityID uint64, value []byte) error
//	func (db *DB) catalogDelete(kind resourceKind, ns Namespace, name string, extra func(b *index.Batch)) (catalogRecord, error)
//	    // deletes record + all index keys of the entity + its logs; errCatalogNotFound
//	func (db *DB) catalogList(kind resourceKind, ns Namespace, prefix, after string, limit int) ([]catalogRecord, error)
//	func (db *DB) catalogScan(kind resourceKind, fn func(catalogRecord) error) error // all namespaces
//
// All catalog writes are synced. Map errCatalogExists / errCatalogNotFound to
// the kind's public sentinels (ErrQueueExists, ErrStreamNotFound, ...).
//
// 2. Logs (logs_open.go). One segment.Log per partition, opened lazily with
// the engine's Options and owned by the DB (never Close one yourself;
// openLog fails with ErrClosed after Close). Logs live in
// <dir>/logs/<entityID>/<partition>/:
//
//	func (db *DB) openLog(entityID uint64, partition uint32) (*segment.Log, error)
//	func (db *DB) closeLogs(entityID uint64) error  // close, keep files
//	func (db *DB) removeLogs(entityID uint64) error // close and delete files (catalogDelete does this)
//
// 3. Resource registry (engine.go). Keep the kind's open handles, timers and
// goroutines in one per-DB value implementing kindRegistry, obtained with
//
//	func (db *DB) registry(kind resourceKind, create func() kindRegistry) kindRegistry
//	type kindRegistry interface{ closeAll() error }
//
// Close and Reset call closeAll (with nothing in flight, no engine lock held)
// before closing logs and deleting data; afterwards the registry must be
// empty and reusable.
//
// 4. Index (package index). db.index is the *index.DB. Put per-entity state
// under index.EntityPrefix(nil, entityID): index.SeqKey / index.TimeSeqKey in
// spaces from index.SpaceUserMin up (one space per index the kind keeps),
// index.CursorKey, index.EntityMetaKey, and the dedup helpers
// (Batch.PutDedup, DB.GetDedup, DB.ExpireDedup). catalogDelete removes it all
// with one range tombstone. Message payloads never go into the index.
//
// Open does not call into kinds: a kind recovers its in-memory state lazily,
// on first access to a resource (catalogGet, then the index and openLog).
// A kind that needs background work from startup (deliverers, exporters,
// retention) adds one call to DB.start in engine.go, which Open runs once
// the index is open and before it returns (queue move tasks resume and
// delayed stream deletions complete there).
//
// Time comes only from db.Clock(); never call time.Now in this package.
//
// # Lock order
//
//	DB.ops.Mutex → (released before anything else is taken)
//	DB.catalogMu → index (pebble has its own locks)
//	DB.kinds.Mutex and DB.logs.Mutex are leaves.
//
// A kind's own locks may be held while calling catalog*, openLog or index
// methods, but never while calling enter, Close or Reset.
package engine
