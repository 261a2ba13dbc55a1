package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// StreamMode is a stream's capacity mode.
type StreamMode string

// Stream capacity modes.
const (
	StreamModeProvisioned StreamMode = "PROVISIONED"
	StreamModeOnDemand    StreamMode = "ON_DEMAND"
)

// StreamStatus is a stream's lifecycle state.
type StreamStatus string

// Stream states. The engine applies control-plane changes at once. With no
// transition delay (DB.SetStreamTransitionDelay, default 0) a stream reads
// CREATING only in CreateStream's own result and is ACTIVE afterwards. With
// a delay d it reads CREATING for d after CreateStream, UPDATING for d after
// a reshard, mode or encryption change, and DELETING for d after
// DeleteStream, as AWS reports its asynchronous operations.
const (
	StreamCreating StreamStatus = "CREATING"
	StreamActive   StreamStatus = "ACTIVE"
	StreamUpdating StreamStatus = "UPDATING"
	StreamDeleting StreamStatus = "DELETING"
)

// Consumer states (StreamConsumer.Status).
const (
	ConsumerCreating = "CREATING"
	ConsumerActive   = "ACTIVE"
	ConsumerDeleting = "DELETING"
)

// Stream limits (AWS defaults; see shared/AWS-LIMITS.md).
const (
	// streamShardsMax bounds the shards (open and retained closed) one
	// stream holds, so metadata stays small enough to rewrite per change.
	streamShardsMax = 20000
	// streamShardIndexMax bounds shard indexes: a shard's index is its log
	// partition number (uint32).
	streamShardIndexMax = 1<<31 - 1
	// streamOpenShardsMax bounds the open shards of one stream.
	streamOpenShardsMax = 10000
	// onDemandShardCount is the shard count of a new ON_DEMAND stream
	// (4 MiB/s write capacity, as AWS starts it).
	onDemandShardCount       = OnDemandShardCount
	streamRetentionMin       = 24 * time.Hour
	streamRetentionMax       = 8760 * time.Hour
	streamRetentionDefault   = 24 * time.Hour
	streamRecordKiBMin       = 1024
	streamRecordKiBMax       = 10240
	streamRecordKiBDefault   = 1024
	streamTagsMax            = 50
	streamConsumersMax       = 20
	streamEnhancedMetricsMax = 16
	// shardCountUpdatesMax UpdateShardCount calls are allowed per rolling
	// shardCountUpdateWindow.
	shardCountUpdatesMax   = 10
	shardCountUpdateWindow = 24 * time.Hour
	// streamNameMaxBytes and consumerNameMaxBytes: AWS allows 128 chars.
	streamNameMaxBytes   = 128
	consumerNameMaxBytes = 128
	// streamStringMaxBytes bounds every other stored string (key ids,
	// tag keys and values, metric names).
	streamStringMaxBytes = 2048
)

// StreamConfig is what CreateStream takes.
type StreamConfig struct {
	// ShardCount is the number of shards. PROVISIONED: 1..10000 required;
	// ON_DEMAND: 0 means the engine default (4).
	ShardCount int
	// Mode is the capacity mode. Default: PROVISIONED.
	Mode StreamMode
	// Retention is how long records stay readable, 24h..8760h.
	// Default: 24h.
	Retention time.Duration
	// MaxRecordSizeKiB bounds data + partition key of one record,
	// 1024..10240 KiB. Default: 1024.
	MaxRecordSizeKiB int
}

// ShardInfo describes one shard: its lineage, hash-key range and sequence
// range. Shards are known by index (0, 1, 2, … in creation order).
type ShardInfo struct {
	Index int
	// Parent and AdjacentParent are the shards this one was split or
	// merged from; -1 if none.
	Parent, AdjacentParent int
	// HashStart and HashEnd bound the shard's hash keys, inclusive.
	HashStart, HashEnd Uint128
	// StartSeq is the first log sequence number of the shard (1).
	StartSeq uint64
	// EndSeq is 0 while the shard is open; once closed, the sequence number
	// after its last record (exclusive).
	EndSeq uint64
	// Created is when the shard was created; Closed when it was closed
	// (zero while open).
	Created, Closed time.Time
}

// Open reports whether the shard still accepts records.
func (s ShardInfo) Open() bool { return s.EndSeq == 0 }

// StreamConsumer is a registered enhanced fan-out consumer.
type StreamConsumer struct {
	Name    string
	Created time.Time
	Status  string // ConsumerCreating | ConsumerActive | ConsumerDeleting
}

// StreamInfo is a snapshot of a stream's metadata.
type StreamInfo struct {
	Name             string
	Namespace        Namespace
	Created          time.Time
	Status           StreamStatus
	Mode             StreamMode
	Retention        time.Duration
	MaxRecordSizeKiB int
	// Shards lists every shard still retained, open and closed, by index.
	Shards []ShardInfo
	// EncryptionType is "NONE" or "KMS"; KeyID is stored, not used.
	EncryptionType, KeyID string
	// EnhancedMetrics lists the enabled shard-level metrics, sorted.
	EnhancedMetrics []string
	Tags            map[string]string
	// EntityID is the stream's stable catalog id (iterator signing).
	EntityID uint64
	// OpenShards counts the open shards in Shards.
	OpenShards int
}

// streamMeta is the persisted state of one stream, stored as the value of
// its catalog entry. Every change rewrites it whole; it holds at most
// streamShardsMax shards, so that costs ~1 MiB in the worst case and a few
// hundred bytes usually.
type streamMeta struct {
	Name             string
	Namespace        Namespace
	Created          time.Time
	Mode             StreamMode
	Retention        time.Duration
	MaxRecordSizeKiB int
	EncryptionType   string
	KeyID            string
	EnhancedMetrics  []string
	Tags             map[string]string
	// Shards are the retained shards, ascending by Index.
	Shards []ShardInfo
	// NextShardIndex is the index the next new shard gets; indexes are
	// never reused, even after closed shards expire.
	NextShardIndex int
	Consumers      []StreamConsumer
	// ShardCountUpdates are the times of UpdateShardCount calls within the
	// last shardCountUpdateWindow, oldest first.
	ShardCountUpdates []time.Time
	// Status is a pending transition, CREATING, UPDATING or DELETING, that
	// lasts until StatusUntil; "" (or a StatusUntil in the past) is ACTIVE.
	// A DELETING stream past StatusUntil is deleted: the next lookup
	// removes it. Persisted, so transitions survive a restart.
	Status      StreamStatus
	StatusUntil time.Time
}

// statusAt returns the stream's status at now (DELETING also once the
// deletion is due; see deletedAt).
func (m *streamMeta) statusAt(now time.Time) StreamStatus {
	switch {
	case m.Status == StreamDeleting:
		return StreamDeleting
	case m.Status == "" || !now.Before(m.StatusUntil):
		return StreamActive
	}
	return m.Status
}

// deletedAt reports whether a DELETING stream's deletion is due at now.
func (m *streamMeta) deletedAt(now time.Time) bool {
	return m.Status == StreamDeleting && !now.Before(m.StatusUntil)
}

// settle clears a transition that has ended by now, so the next commit
// stores an ACTIVE stream in the version 1 format.
func (m *streamMeta) settle(now time.Time) {
	if m.Status != StreamDeleting && m.statusAt(now) == StreamActive {
		m.Status, m.StatusUntil = "", time.Time{}
	}
}

// clone returns a deep copy, so a change can be prepared on the copy and
// installed only once it is durable.
func (m *streamMeta) clone() *streamMeta {
	c := *m
	c.EnhancedMetrics = slices.Clone(m.EnhancedMetrics)
	c.Tags = maps.Clone(m.Tags)
	c.Shards = slices.Clone(m.Shards)
	c.Consumers = slices.Clone(m.Consumers)
	c.ShardCountUpdates = slices.Clone(m.ShardCountUpdates)
	return &c
}

// shard returns the shard with index i, or nil.
func (m *streamMeta) shard(i int) *ShardInfo {
	j, ok := slices.BinarySearchFunc(m.Shards, i, func(s ShardInfo, i int) int { return s.Index - i })
	if !ok {
		return nil
	}
	return &m.Shards[j]
}

// openShards returns the open shards in ascending hash order.
func (m *streamMeta) openShards() []ShardInfo {
	open := make([]ShardInfo, 0, len(m.Shards))
	for _, s := range m.Shards {
		if s.Open() {
			open = append(open, s)
		}
	}
	slices.SortFunc(open, func(a, b ShardInfo) int { return a.HashStart.Cmp(b.HashStart) })
	return open
}

// errStreamMetaCorrupt marks stream metadata that fails to decode or breaks
// an invariant.
var errStreamMetaCorrupt = errors.New("engine: stream metadata corrupt")

// validate checks the invariants the rest of the engine relies on: shards
// ascending by unique index below NextShardIndex, non-empty hash ranges,
// closed shards with EndSeq >= StartSeq, open shards tiling the keyspace
// exactly (no gap, no overlap) so that every hash key routes to one shard.
func (m *streamMeta) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: stream %q: %s", errStreamMetaCorrupt, m.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case m.Name == "" || len(m.Name) > streamNameMaxBytes:
		return bad("name length %d", len(m.Name))
	case m.Mode != StreamModeProvisioned && m.Mode != StreamModeOnDemand:
		return bad("mode %q", m.Mode)
	case m.Retention < streamRetentionMin || m.Retention > streamRetentionMax:
		return bad("retention %v", m.Retention)
	case m.MaxRecordSizeKiB < streamRecordKiBMin || m.MaxRecordSizeKiB > streamRecordKiBMax:
		return bad("max record size %d KiB", m.MaxRecordSizeKiB)
	case len(m.Shards) > streamShardsMax || m.NextShardIndex < 0 || m.NextShardIndex > streamShardIndexMax:
		return bad("%d shards, next index %d", len(m.Shards), m.NextShardIndex)
	case len(m.Consumers) > streamConsumersMax:
		return bad("%d consumers", len(m.Consumers))
	case m.Status != "" && m.Status != StreamCreating && m.Status != StreamUpdating && m.Status != StreamDeleting:
		return bad("status %q", m.Status)
	case m.Status != "" && m.StatusUntil.IsZero():
		return bad("status %s without an end time", m.Status)
	case m.Status == "" && !m.StatusUntil.IsZero():
		return bad("status end time without a status")
	}
	for i, s := range m.Shards {
		switch {
		case s.Index < 0 || s.Index >= m.NextShardIndex:
			return bad("shard index %d outside [0, %d)", s.Index, m.NextShardIndex)
		case i > 0 && m.Shards[i-1].Index >= s.Index:
			return bad("shard indexes not ascending at %d", s.Index)
		case s.Parent < -1 || s.AdjacentParent < -1 || s.Parent >= s.Index || s.AdjacentParent >= s.Index:
			return bad("shard %d parents %d, %d", s.Index, s.Parent, s.AdjacentParent)
		case s.HashStart.Cmp(s.HashEnd) > 0:
			return bad("shard %d empty hash range", s.Index)
		case s.StartSeq == 0 || (s.EndSeq != 0 && s.EndSeq < s.StartSeq):
			return bad("shard %d sequence range [%d, %d)", s.Index, s.StartSeq, s.EndSeq)
		}
	}
	open := m.openShards()
	if len(open) == 0 || len(open) > streamOpenShardsMax {
		return bad("%d open shards", len(open))
	}
	if !open[0].HashStart.IsZero() || open[len(open)-1].HashEnd != MaxUint128 {
		return bad("open shards do not span the keyspace")
	}
	for i := 1; i < len(open); i++ {
		if open[i-1].HashEnd == MaxUint128 || open[i-1].HashEnd.add1() != open[i].HashStart {
			return bad("gap or overlap between open shards %d and %d", open[i-1].Index, open[i].Index)
		}
	}
	return nil
}

// On-disk format of streamMeta: never change; add a version instead.
//
//	magic 'K', version 1 | 2
//	version 2 only: string status, time statusUntil   (pending transition)
//	string name, string account, string region, time created
//	string mode, varint retention(ns), uvarint maxRecordSizeKiB
//	string encryptionType, string keyID
//	uvarint n, n × string enhancedMetric
//	uvarint n, n × (string key, string value)      tags, sorted by key
//	uvarint nextShardIndex
//	uvarint n, n × shard
//	uvarint n, n × (string name, time created, string status)
//	uvarint n, n × time shardCountUpdate
//
//	shard: uvarint index, varint parent, varint adjacentParent,
//	       16 bytes hashStart (big-endian), 16 bytes hashEnd,
//	       uvarint startSeq, uvarint endSeq, time created, time closed
//	string: uvarint length, bytes; time: varint unix nanoseconds, 0 = zero time
//
// Version 2 is written only while a transition is pending (Status set), so
// a DB used without transition delays keeps writing version 1. The status
// sits right after the version so ListStreams can read it without decoding
// the rest (peekStreamStatus).
const (
	streamMetaMagic     = 'K'
	streamMetaVersion   = 1
	streamMetaVersionV2 = 2
)

// encodeStreamMeta appends the encoding of m to dst.
func encodeStreamMeta(dst []byte, m *streamMeta) []byte {
	if m.Status == "" {
		dst = append(dst, streamMetaMagic, streamMetaVersion)
	} else {
		dst = append(dst, streamMetaMagic, streamMetaVersionV2)
		dst = appendString(dst, string(m.Status))
		dst = appendTime(dst, m.StatusUntil)
	}
	dst = appendString(dst, m.Name)
	dst = appendString(dst, m.Namespace.Account)
	dst = appendString(dst, m.Namespace.Region)
	dst = appendTime(dst, m.Created)
	dst = appendString(dst, string(m.Mode))
	dst = binary.AppendVarint(dst, int64(m.Retention))
	dst = binary.AppendUvarint(dst, uint64(m.MaxRecordSizeKiB))
	dst = appendString(dst, m.EncryptionType)
	dst = appendString(dst, m.KeyID)
	dst = binary.AppendUvarint(dst, uint64(len(m.EnhancedMetrics)))
	for _, s := range m.EnhancedMetrics {
		dst = appendString(dst, s)
	}
	keys := slices.Sorted(maps.Keys(m.Tags))
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		dst = appendString(dst, m.Tags[k])
	}
	dst = binary.AppendUvarint(dst, uint64(m.NextShardIndex))
	dst = binary.AppendUvarint(dst, uint64(len(m.Shards)))
	for i := range m.Shards {
		dst = appendShard(dst, &m.Shards[i])
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.Consumers)))
	for _, c := range m.Consumers {
		dst = appendString(dst, c.Name)
		dst = appendTime(dst, c.Created)
		dst = appendString(dst, c.Status)
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.ShardCountUpdates)))
	for _, t := range m.ShardCountUpdates {
		dst = appendTime(dst, t)
	}
	return dst
}

func appendShard(dst []byte, s *ShardInfo) []byte {
	dst = binary.AppendUvarint(dst, uint64(s.Index))
	dst = binary.AppendVarint(dst, int64(s.Parent))
	dst = binary.AppendVarint(dst, int64(s.AdjacentParent))
	dst = appendUint128(dst, s.HashStart)
	dst = appendUint128(dst, s.HashEnd)
	dst = binary.AppendUvarint(dst, s.StartSeq)
	dst = binary.AppendUvarint(dst, s.EndSeq)
	dst = appendTime(dst, s.Created)
	return appendTime(dst, s.Closed)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, 0)
	}
	return binary.AppendVarint(dst, t.UnixNano())
}

func appendUint128(dst []byte, u Uint128) []byte {
	dst = binary.BigEndian.AppendUint64(dst, u.Hi)
	return binary.BigEndian.AppendUint64(dst, u.Lo)
}

// decodeStreamMeta decodes and validates an encoded streamMeta. Malformed
// input yields an error wrapping errStreamMetaCorrupt, never a panic or an
// allocation larger than the input warrants.
func decodeStreamMeta(b []byte) (*streamMeta, error) {
	r := metaReader{buf: b}
	if r.byte() != streamMetaMagic {
		return nil, fmt.Errorf("%w: bad magic", errStreamMetaCorrupt)
	}
	m := &streamMeta{}
	switch v := r.byte(); v {
	case streamMetaVersion:
	case streamMetaVersionV2:
		m.Status = StreamStatus(r.string(16))
		m.StatusUntil = r.time()
		if r.err == nil && m.Status == "" {
			r.fail("version 2 without a status")
		}
	default:
		return nil, fmt.Errorf("%w: unknown version %d", errStreamMetaCorrupt, v)
	}
	m.Name = r.string(streamNameMaxBytes)
	m.Namespace.Account = r.string(namespaceFieldMaxBytes)
	m.Namespace.Region = r.string(namespaceFieldMaxBytes)
	m.Created = r.time()
	m.Mode = StreamMode(r.string(16))
	m.Retention = time.Duration(r.varint())
	m.MaxRecordSizeKiB = int(r.uvarintMax(streamRecordKiBMax))
	m.EncryptionType = r.string(16)
	m.KeyID = r.string(streamStringMaxBytes)
	if n := r.count(streamEnhancedMetricsMax); n > 0 {
		m.EnhancedMetrics = make([]string, n)
		for i := range m.EnhancedMetrics {
			m.EnhancedMetrics[i] = r.string(streamStringMaxBytes)
		}
	}
	if n := r.count(streamTagsMax); n > 0 {
		m.Tags = make(map[string]string, n)
		for range n {
			k := r.string(streamStringMaxBytes)
			m.Tags[k] = r.string(streamStringMaxBytes)
		}
	}
	m.NextShardIndex = int(r.uvarintMax(streamShardIndexMax))
	if n := r.count(streamShardsMax); n > 0 {
		m.Shards = make([]ShardInfo, n)
		for i := range m.Shards {
			r.shard(&m.Shards[i])
		}
	}
	if n := r.count(streamConsumersMax); n > 0 {
		m.Consumers = make([]StreamConsumer, n)
		for i := range m.Consumers {
			c := &m.Consumers[i]
			c.Name = r.string(consumerNameMaxBytes)
			c.Created = r.time()
			c.Status = r.string(16)
		}
	}
	if n := r.count(shardCountUpdatesMax); n > 0 {
		m.ShardCountUpdates = make([]time.Time, n)
		for i := range m.ShardCountUpdates {
			m.ShardCountUpdates[i] = r.time()
		}
	}
	if r.err == nil && len(r.buf) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.buf))
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", errStreamMetaCorrupt, r.err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// peekStreamStatus reads the pending transition of an encoded streamMeta
// without decoding the rest: ("", zero) for version 1. ok is false if the
// header is malformed (decodeStreamMeta then reports the corruption).
func peekStreamStatus(b []byte) (status StreamStatus, until time.Time, ok bool) {
	r := metaReader{buf: b}
	if r.byte() != streamMetaMagic {
		return "", time.Time{}, false
	}
	switch r.byte() {
	case streamMetaVersion:
		return "", time.Time{}, r.err == nil
	case streamMetaVersionV2:
		status = StreamStatus(r.string(16))
		until = r.time()
		return status, until, r.err == nil
	}
	return "", time.Time{}, false
}

// metaReader is a sticky-error reader: after the first failure every read
// returns a zero value, and the caller checks err once at the end.
type metaReader struct {
	buf []byte
	err error
}

func (r *metaReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.buf = nil
}

func (r *metaReader) byte() byte {
	if len(r.buf) < 1 {
		r.fail("truncated")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *metaReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *metaReader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *metaReader) uvarintMax(max uint64) uint64 {
	v := r.uvarint()
	if v > max {
		r.fail("value %d exceeds %d", v, max)
		return 0
	}
	return v
}

// count reads an element count, bounded by max and by the bytes left (each
// element takes at least one byte), so corrupt input cannot force a large
// allocation.
func (r *metaReader) count(max int) int {
	n := r.uvarintMax(uint64(max))
	if n > uint64(len(r.buf)) {
		r.fail("count %d exceeds remaining %d bytes", n, len(r.buf))
		return 0
	}
	return int(n)
}

func (r *metaReader) string(max int) string {
	n := r.uvarintMax(uint64(max))
	if n > uint64(len(r.buf)) {
		r.fail("string of %d bytes truncated", n)
		return ""
	}
	s := string(r.buf[:n])
	r.buf = r.buf[n:]
	return s
}

func (r *metaReader) time() time.Time {
	ns := r.varint()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func (r *metaReader) uint128() Uint128 {
	if len(r.buf) < 16 {
		r.fail("truncated hash key")
		return Uint128{}
	}
	u := Uint128{Hi: binary.BigEndian.Uint64(r.buf[0:8]), Lo: binary.BigEndian.Uint64(r.buf[8:16])}
	r.buf = r.buf[16:]
	return u
}

func (r *metaReader) shard(s *ShardInfo) {
	s.Index = int(r.uvarintMax(streamShardIndexMax))
	s.Parent = int(r.varintRange(-1, streamShardIndexMax))
	s.AdjacentParent = int(r.varintRange(-1, streamShardIndexMax))
	s.HashStart = r.uint128()
	s.HashEnd = r.uint128()
	s.StartSeq = r.uvarint()
	s.EndSeq = r.uvarint()
	s.Created = r.time()
	s.Closed = r.time()
}

func (r *metaReader) varintRange(min, max int64) int64 {
	v := r.varint()
	if v < min || v > max {
		r.fail("value %d outside [%d, %d]", v, min, max)
		return 0
	}
	return v
}
