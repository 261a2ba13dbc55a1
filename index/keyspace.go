package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Keyspaces. The first byte of every key names its keyspace; the layouts
// below are on-disk format: never renumber or reorder.
//
//	0x01 meta     0x01 | name:string                          → value (engine counters, format marks)
//	0x02 catalog  0x02 | kind:u8 | account:string | region:string | name:string → value (resource record)
//	0x03 entity   0x03 | entity:u64 | space:u8 | ...          → per-entity data (see Space)
//
// Everything an entity (a queue, a stream, a shard...) owns in the index sits
// under EntityPrefix(entity), so deleting an entity is one range tombstone.
// Message payloads never go into the index: they live in segment logs.
const (
	keyspaceMeta    byte = 0x01
	keyspaceCatalog byte = 0x02
	keyspaceEntity  byte = 0x03
)

// Space is the second-level keyspace inside one entity's keys.
//
//	SpaceRecord       0x03 | entity | 0x00                               → the entity's record (owner's choice)
//	SpaceCursor       0x03 | entity | 0x01 | name:string                 → cursor value
//	SpaceDedup        0x03 | entity | 0x02 | scope:string | id:string    → expiry:i64 (8 bytes BE) | value
//	SpaceDedupExpiry  0x03 | entity | 0x03 | expiry:i64 | scope:string | id:string → empty
//	SpaceMeta         0x03 | entity | 0x04 | name:string                 → value (applied-through marks...)
//	SpaceUserMin..    0x03 | entity | space | seq:u64                    → state   (SeqKey)
//	                  0x03 | entity | space | time:i64 | seq:u64         → value   (TimeSeqKey)
//
// Spaces from SpaceUserMin up are chosen by the entity's owner, one per
// index it keeps (for example message state by sequence, and a delay
// schedule by visible-at time).
type Space uint8

// Reserved spaces; see the Space type for layouts.
const (
	SpaceRecord      Space = 0x00
	SpaceCursor      Space = 0x01
	SpaceDedup       Space = 0x02
	SpaceDedupExpiry Space = 0x03
	SpaceMeta        Space = 0x04
	// SpaceUserMin is the first space free for owner-defined indexes.
	SpaceUserMin Space = 0x10
)

// MetaKey returns the key of a global metadata value.
func MetaKey(dst []byte, name string) []byte {
	return AppendString(append(dst, keyspaceMeta), name)
}

// CatalogName identifies one catalog record.
type CatalogName struct {
	Kind    uint8
	Account string
	Region  string
	Name    string
}

// CatalogKindPrefix is the prefix of every catalog key of one kind.
func CatalogKindPrefix(dst []byte, kind uint8) []byte {
	return append(dst, keyspaceCatalog, kind)
}

// CatalogPrefix is the prefix of every catalog key of one kind in one
// (account, region) namespace.
func CatalogPrefix(dst []byte, kind uint8, account, region string) []byte {
	dst = CatalogKindPrefix(dst, kind)
	dst = AppendString(dst, account)
	return AppendString(dst, region)
}

// CatalogKey is the key of one catalog record.
func CatalogKey(dst []byte, n CatalogName) []byte {
	return AppendString(CatalogPrefix(dst, n.Kind, n.Account, n.Region), n.Name)
}

// DecodeCatalogKey parses a key built by CatalogKey.
func DecodeCatalogKey(key []byte) (CatalogName, error) {
	r := NewKeyReader(key)
	if ks := r.Uint8(); ks != keyspaceCatalog && r.Err() == nil {
		return CatalogName{}, fmt.Errorf("%w: keyspace %#x is not catalog", ErrKeyMalformed, ks)
	}
	n := CatalogName{Kind: r.Uint8(), Account: r.String(), Region: r.String(), Name: r.String()}
	if err := r.Done(); err != nil {
		return CatalogName{}, err
	}
	return n, nil
}

// EntityPrefix is the prefix of every key entity owns.
func EntityPrefix(dst []byte, entity uint64) []byte {
	return AppendUint64(append(dst, keyspaceEntity), entity)
}

// EntitySpacePrefix is the prefix of every key in one space of entity.
func EntitySpacePrefix(dst []byte, entity uint64, space Space) []byte {
	return append(EntityPrefix(dst, entity), byte(space))
}

// EntityRecordKey is the key of the entity's own record.
func EntityRecordKey(dst []byte, entity uint64) []byte {
	return EntitySpacePrefix(dst, entity, SpaceRecord)
}

// EntityMetaKey is the key of a named per-entity value.
func EntityMetaKey(dst []byte, entity uint64, name string) []byte {
	return AppendString(EntitySpacePrefix(dst, entity, SpaceMeta), name)
}

// CursorKey is the key of a named cursor of entity (a subscriber's or an
// exporter's read position).
func CursorKey(dst []byte, entity uint64, name string) []byte {
	return AppendString(EntitySpacePrefix(dst, entity, SpaceCursor), name)
}

// SeqKey is the key of the state of record seq in an owner-defined space.
func SeqKey(dst []byte, entity uint64, space Space, seq uint64) []byte {
	return AppendUint64(EntitySpacePrefix(dst, entity, space), seq)
}

// EntityKey is a decoded per-entity key.
type EntityKey struct {
	Entity uint64
	Space  Space
	Time   int64 // TimeSeqKey only
	Seq    uint64
}

// DecodeSeqKey parses a key built by SeqKey.
func DecodeSeqKey(key []byte) (EntityKey, error) {
	r := entityReader(key)
	k := EntityKey{Entity: r.Uint64(), Space: Space(r.Uint8()), Seq: r.Uint64()}
	return k, r.Done()
}

// TimeSeqKey is the key of record seq ordered by a time (unix nanoseconds)
// in an owner-defined space: scanning the space visits records by time,
// ties broken by seq.
func TimeSeqKey(dst []byte, entity uint64, space Space, unixNano int64, seq uint64) []byte {
	return AppendUint64(AppendInt64(EntitySpacePrefix(dst, entity, space), unixNano), seq)
}

// TimeBound is the key that sorts before every TimeSeqKey of the space with
// a time >= unixNano; use it as a scan bound ("everything due before t").
func TimeBound(dst []byte, entity uint64, space Space, unixNano int64) []byte {
	return AppendInt64(EntitySpacePrefix(dst, entity, space), unixNano)
}

// DecodeTimeSeqKey parses a key built by TimeSeqKey.
func DecodeTimeSeqKey(key []byte) (EntityKey, error) {
	r := entityReader(key)
	k := EntityKey{Entity: r.Uint64(), Space: Space(r.Uint8()), Time: r.Int64(), Seq: r.Uint64()}
	return k, r.Done()
}

func entityReader(key []byte) *KeyReader {
	r := NewKeyReader(key)
	if ks := r.Uint8(); ks != keyspaceEntity && r.Err() == nil {
		r.fail(fmt.Sprintf("keyspace %#x is not entity", ks), len(key))
	}
	return &r
}

// dedupKey is the key of a deduplication id.
func dedupKey(dst []byte, entity uint64, scope, id string) []byte {
	return AppendString(AppendString(EntitySpacePrefix(dst, entity, SpaceDedup), scope), id)
}

// dedupExpiryKey orders dedup ids of entity by expiry for ExpireDedup.
func dedupExpiryKey(dst []byte, entity uint64, expiresUnixNano int64, scope, id string) []byte {
	dst = AppendInt64(EntitySpacePrefix(dst, entity, SpaceDedupExpiry), expiresUnixNano)
	return AppendString(AppendString(dst, scope), id)
}

// PutDedup records deduplication id (within scope, e.g. a message group or
// "" for the whole entity) with an expiry time and a value (for example the
// original message's id and sequence). Replacing an existing id is allowed;
// the old expiry entry is ignored by ExpireDedup.
func (b *Batch) PutDedup(entity uint64, scope, id string, expiresUnixNano int64, value []byte) {
	v := AppendInt64(make([]byte, 0, 8+len(value)), expiresUnixNano)
	v = append(v, value...)
	b.Set(dedupKey(nil, entity, scope, id), v)
	b.Set(dedupExpiryKey(nil, entity, expiresUnixNano, scope, id), nil)
}

// GetDedup returns the value recorded for id if it has not expired at
// nowUnixNano (an entry expires when now >= its expiry).
func (d *DB) GetDedup(entity uint64, scope, id string, nowUnixNano int64) (value []byte, ok bool, err error) {
	v, ok, err := d.Get(dedupKey(nil, entity, scope, id))
	if err != nil || !ok {
		return nil, false, err
	}
	expires, rest, err := splitDedupValue(v)
	if err != nil {
		return nil, false, err
	}
	if nowUnixNano >= expires {
		return nil, false, nil
	}
	return rest, true, nil
}

func splitDedupValue(v []byte) (expiresUnixNano int64, value []byte, err error) {
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("%w: dedup value of %d bytes", ErrKeyMalformed, len(v))
	}
	return int64(binary.BigEndian.Uint64(v[:8]) ^ (1 << 63)), v[8:], nil
}

// ExpireDedup deletes up to limit (0 = no limit) dedup ids of entity that
// expired at nowUnixNano, and reports how many expiry entries it removed.
// Cost is proportional to the number removed, not to the number stored.
func (d *DB) ExpireDedup(entity uint64, nowUnixNano int64, limit int, sync bool) (removed int, err error) {
	lower := EntitySpacePrefix(nil, entity, SpaceDedupExpiry)
	// Entries expire when now >= expiry, so the bound is now+1 (exclusive).
	upper := PrefixEnd(TimeBound(nil, entity, SpaceDedupExpiry, nowUnixNano))
	b := d.NewBatch()
	defer b.Close()
	prefixLen := len(lower)
	err = d.Scan(lower, upper, func(key, _ []byte) error {
		r := NewKeyReader(key[prefixLen:])
		expires, scope, id := r.Int64(), r.String(), r.String()
		if err := r.Done(); err != nil {
			return err
		}
		b.Delete(key)
		dk := dedupKey(nil, entity, scope, id)
		// Delete the id only if this expiry entry is its current one: a
		// later PutDedup may have extended it.
		cur, ok, err := d.Get(dk)
		if err != nil {
			return err
		}
		if ok {
			if e, _, err := splitDedupValue(cur); err == nil && e == expires {
				b.Delete(dk)
			}
		}
		removed++
		if limit > 0 && removed >= limit {
			return ErrStop
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if b.Empty() {
		return 0, nil
	}
	return removed, b.Commit(sync)
}

// CatalogEntry is one record yielded by ListCatalog.
type CatalogEntry struct {
	Name  string
	Value []byte // borrowed: valid only during the callback
}

// ListCatalog calls fn, in name order, for catalog records of kind in
// (account, region) whose name starts with prefix and sorts strictly after
// after (""= from the start), stopping after limit records (0 = no limit).
func (d *DB) ListCatalog(kind uint8, account, region, prefix, after string, limit int, fn func(CatalogEntry) error) error {
	nsPrefix := CatalogPrefix(nil, kind, account, region)
	namePrefix := AppendStringPrefix(bytes.Clone(nsPrefix), prefix)
	lower, upper := namePrefix, PrefixEnd(namePrefix)
	if after != "" {
		// The smallest key after name "after" is after's key followed by
		// anything; PrefixEnd of the full key skips after and every key
		// that extends it (none: names are terminated).
		afterKey := AppendString(bytes.Clone(nsPrefix), after)
		if start := PrefixEnd(afterKey); bytes.Compare(start, lower) > 0 {
			lower = start
		}
	}
	if upper != nil && bytes.Compare(lower, upper) >= 0 {
		return nil
	}
	n := 0
	return d.Scan(lower, upper, func(key, value []byte) error {
		r := NewKeyReader(key[len(nsPrefix):])
		name := r.String()
		if err := r.Done(); err != nil {
			return err
		}
		if err := fn(CatalogEntry{Name: name, Value: value}); err != nil {
			return err
		}
		n++
		if limit > 0 && n >= limit {
			return ErrStop
		}
		return nil
	})
}

// CatalogKeyspace is the prefix of every catalog key.
func CatalogKeyspace() []byte { return []byte{keyspaceCatalog} }

// EntityKeyspace is the prefix of every per-entity key.
func EntityKeyspace() []byte { return []byte{keyspaceEntity} }
