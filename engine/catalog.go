package engine

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/index"
)

// resourceKind identifies a family of resources in the catalog. The values
// are persisted in catalog keys: never renumber.
type resourceKind uint8

const (
	kindQueue          resourceKind = 1
	kindStream         resourceKind = 2
	kindTopic          resourceKind = 3
	kindSubscription   resourceKind = 4
	kindDeliveryStream resourceKind = 5
)

func (k resourceKind) String() string {
	switch k {
	case kindQueue:
		return "queue"
	case kindStream:
		return "stream"
	case kindTopic:
		return "topic"
	case kindSubscription:
		return "subscription"
	case kindDeliveryStream:
		return "delivery-stream"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// metaNextEntityID is the meta key of the next entity id to hand out.
const metaNextEntityID = "next-entity-id"

// Catalog errors. They are internal: each kind maps them to its public
// sentinel (errCatalogNotFound → ErrQueueNotFound...).
var (
	errCatalogExists   = errors.New("engine: catalog record exists")
	errCatalogNotFound = errors.New("engine: catalog record not found")
)

// catalogRecord is one resource's catalog entry.
type catalogRecord struct {
	Kind resourceKind
	NS   Namespace
	Name string
	// EntityID names the resource's logs and index keys. It is allocated
	// once, at creation, from a persisted counter and never reused, so a
	// resource deleted and created again under the same name starts empty.
	EntityID uint64
	// Value is the kind's encoding of the resource (attributes, tags...),
	// owned by the caller.
	Value []byte
}

func catalogKey(kind resourceKind, ns Namespace, name string) []byte {
	return index.CatalogKey(nil, index.CatalogName{Kind: uint8(kind), Account: ns.Account, Region: ns.Region, Name: name})
}

// encodeCatalogValue: entity id (8 bytes big-endian) | kind's value.
func encodeCatalogValue(entityID uint64, value []byte) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), entityID)
	return append(v, value...)
}

func decodeCatalogValue(v []byte) (entityID uint64, value []byte, err error) {
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("engine: catalog value of %d bytes is corrupt", len(v))
	}
	return binary.BigEndian.Uint64(v), append([]byte(nil), v[8:]...), nil
}

// catalogGet returns the record of (kind, ns, name) or ok == false.
func (db *DB) catalogGet(kind resourceKind, ns Namespace, name string) (rec catalogRecord, ok bool, err error) {
	v, ok, err := db.index.Get(catalogKey(kind, ns, name))
	if err != nil || !ok {
		return catalogRecord{}, false, err
	}
	id, value, err := decodeCatalogValue(v)
	if err != nil {
		return catalogRecord{}, false, fmt.Errorf("%w (%s %s %q)", err, kind, ns, name)
	}
	return catalogRecord{Kind: kind, NS: ns, Name: name, EntityID: id, Value: value}, true, nil
}

// catalogCreate creates (kind, ns, name) with value and a fresh entity id,
// durably (synced) and atomically with whatever extra adds to the batch (may
// be nil; extra gets the new entity id, e.g. to write initial per-entity
// state). If the name exists it returns the existing record and an error
// wrapping errCatalogExists, so the caller can compare (idempotent create).
func (db *DB) catalogCreate(kind resourceKind, ns Namespace, name string, value []byte, extra func(b *index.Batch, entityID uint64)) (catalogRecord, error) {
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	existing, ok, err := db.catalogGet(kind, ns, name)
	if err != nil {
		return catalogRecord{}, err
	}
	if ok {
		return existing, fmt.Errorf("%w: %s %s %q", errCatalogExists, kind, ns, name)
	}
	id := db.catalogMu.nextEntityID
	key := catalogKey(kind, ns, name)
	b := db.index.NewBatch()
	defer b.Close()
	b.Set(key, encodeCatalogValue(id, value))
	b.Set(index.EntityRecordKey(nil, id), key) // reverse mapping: entity → catalog key
	b.Set(index.MetaKey(nil, metaNextEntityID), binary.BigEndian.AppendUint64(nil, id+1))
	if extra != nil {
		extra(b, id)
	}
	if err := b.Commit(true /* sync */); err != nil {
		return catalogRecord{}, fmt.Errorf("engine: create %s %s %q: %w", kind, ns, name, err)
	}
	db.catalogMu.nextEntityID = id + 1
	return catalogRecord{Kind: kind, NS: ns, Name: name, EntityID: id, Value: append([]byte(nil), value...)}, nil
}

// catalogUpdate replaces the value of (kind, ns, name), durably. entityID
// must match the current record (errCatalogNotFound otherwise), so an update
// from a handle of a deleted resource cannot overwrite its successor.
func (db *DB) catalogUpdate(kind resourceKind, ns Namespace, name string, entityID uint64, value []byte) error {
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	cur, ok, err := db.catalogGet(kind, ns, name)
	if err != nil {
		return err
	}
	if !ok || cur.EntityID != entityID {
		return fmt.Errorf("%w: %s %s %q", errCatalogNotFound, kind, ns, name)
	}
	if err := db.index.Set(catalogKey(kind, ns, name), encodeCatalogValue(entityID, value), true /* sync */); err != nil {
		return fmt.Errorf("engine: update %s %s %q: %w", kind, ns, name, err)
	}
	return nil
}

// catalogDelete deletes (kind, ns, name): the catalog record and every
// index key of its entity in one synced batch (plus whatever extra adds; may
// be nil), then the entity's logs. The caller must have stopped its own use
// of the resource's logs first. A failure to remove the log files is logged,
// not returned: the data is unreachable and Open removes orphaned logs.
func (db *DB) catalogDelete(kind resourceKind, ns Namespace, name string, extra func(b *index.Batch)) (catalogRecord, error) {
	db.catalogMu.Lock()
	rec, ok, err := db.catalogGet(kind, ns, name)
	if err != nil || !ok {
		db.catalogMu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: %s %s %q", errCatalogNotFound, kind, ns, name)
		}
		return catalogRecord{}, err
	}
	b := db.index.NewBatch()
	b.Delete(catalogKey(kind, ns, name))
	b.DeletePrefix(index.EntityPrefix(nil, rec.EntityID))
	if extra != nil {
		extra(b)
	}
	err = b.Commit(true /* sync */)
	b.Close()
	db.catalogMu.Unlock()
	if err != nil {
		return catalogRecord{}, fmt.Errorf("engine: delete %s %s %q: %w", kind, ns, name, err)
	}
	if err := db.removeLogs(rec.EntityID); err != nil {
		db.logger.Error("removing logs of deleted resource; they will be removed on next open",
			"kind", kind.String(), "namespace", ns.String(), "name", name, "entity", rec.EntityID, "err", err)
	}
	return rec, nil
}

// catalogList returns, in name order, up to limit (0 = no limit) records of
// kind in ns whose name starts with prefix and sorts after after ("" = from
// the start). For pagination pass the last name returned as after.
func (db *DB) catalogList(kind resourceKind, ns Namespace, prefix, after string, limit int) ([]catalogRecord, error) {
	var recs []catalogRecord
	err := db.index.ListCatalog(uint8(kind), ns.Account, ns.Region, prefix, after, limit, func(e index.CatalogEntry) error {
		id, value, err := decodeCatalogValue(e.Value)
		if err != nil {
			return fmt.Errorf("%w (%s %s %q)", err, kind, ns, e.Name)
		}
		recs = append(recs, catalogRecord{Kind: kind, NS: ns, Name: e.Name, EntityID: id, Value: value})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine: list %s %s: %w", kind, ns, err)
	}
	return recs, nil
}

// catalogScan calls fn for every record of kind in every namespace, ordered
// by (account, region, name); for recovery at startup and cross-namespace
// lookups. fn may return index.ErrStop to stop early.
func (db *DB) catalogScan(kind resourceKind, fn func(catalogRecord) error) error {
	err := db.index.ScanPrefix(index.CatalogKindPrefix(nil, uint8(kind)), func(key, v []byte) error {
		n, err := index.DecodeCatalogKey(key)
		if err != nil {
			return err
		}
		id, value, err := decodeCatalogValue(v)
		if err != nil {
			return err
		}
		return fn(catalogRecord{Kind: kind, NS: Namespace{Account: n.Account, Region: n.Region}, Name: n.Name, EntityID: id, Value: value})
	})
	if err != nil {
		return fmt.Errorf("engine: scan %s catalog: %w", kind, err)
	}
	return nil
}

// entityExists reports whether entity belongs to a live catalog record.
func (db *DB) entityExists(entityID uint64) (bool, error) {
	_, ok, err := db.index.Get(index.EntityRecordKey(nil, entityID))
	return ok, err
}

// loadEntityCounter reads the persisted entity id counter. Ids start at 1.
func (db *DB) loadEntityCounter() error {
	v, ok, err := db.index.Get(index.MetaKey(nil, metaNextEntityID))
	if err != nil {
		return fmt.Errorf("engine: read entity counter: %w", err)
	}
	next := uint64(1)
	if ok {
		if len(v) != 8 {
			return fmt.Errorf("engine: entity counter of %d bytes is corrupt", len(v))
		}
		next = binary.BigEndian.Uint64(v)
	}
	db.catalogMu.Lock()
	db.catalogMu.nextEntityID = next
	db.catalogMu.Unlock()
	return nil
}

// raiseEntityCounter makes sure the next id is above seen (a log directory
// found on disk), persisting the new value.
func (db *DB) raiseEntityCounter(seen uint64) error {
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	if seen < db.catalogMu.nextEntityID {
		return nil
	}
	next := seen + 1
	if err := db.index.Set(index.MetaKey(nil, metaNextEntityID), binary.BigEndian.AppendUint64(nil, next), true); err != nil {
		return fmt.Errorf("engine: raise entity counter: %w", err)
	}
	db.catalogMu.nextEntityID = next
	return nil
}
