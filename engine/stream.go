package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/segment"
)

// A stream is a Kinesis data stream: a set of shards, each one segment log
// (partition = shard index) opened lazily, so idle shards cost no goroutine
// and no file. Its metadata (streamMeta: config, shards with lineage,
// consumers, tags) is the value of its catalog record, rewritten whole on
// every control-plane change and cached as an immutable snapshot that the
// data path reads without locking.
//
// Concurrency: Stream.mu is held shared by Put from routing until the
// appends are acknowledged, and exclusively by every metadata change, so a
// shard is closed (EndSeq fixed) only when no append to it is in flight.
// Reads take no stream lock.
//
// Lock order: Stream.mu → streamRegistry.mu → catalog (DB.catalogMu) →
// DB.logs; shardState locks are leaves.

// streamKey names a stream in the registry.
type streamKey struct {
	ns   Namespace
	name string
}

// Timing of the background retention pass.
const (
	// streamRetentionInterval is how often the per-DB timer applies
	// retention to the streams in use, and how often Put/Read apply it to
	// the shard they touch.
	streamRetentionInterval = time.Minute
)

// streamRegistry is the per-DB registry of stream handles (kindRegistry).
type streamRegistry struct {
	db *DB
	mu sync.Mutex
	// streams holds every handle loaded since Open or Reset.
	streams map[streamKey]*Stream
	// timer runs the retention pass every streamRetentionInterval while
	// any stream is loaded; nil when stopped.
	timer *time.Timer
	// limits enables per-shard throughput limits (SetStreamLimits).
	limits atomic.Bool
	// secretMu serializes Secret's create-on-first-use.
	secretMu sync.Mutex
}

func (db *DB) streamRegistry() *streamRegistry {
	return db.registry(kindStream, func() kindRegistry {
		return &streamRegistry{db: db, streams: make(map[streamKey]*Stream)}
	}).(*streamRegistry)
}

// closeAll detaches every handle (later calls on them fail) and stops the
// retention timer. Called by Close and Reset with nothing in flight.
func (r *streamRegistry) closeAll() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	for k, s := range r.streams {
		s.mu.Lock()
		s.detachLocked()
		s.mu.Unlock()
		delete(r.streams, k)
	}
	return nil
}

// startTimerLocked starts the retention timer if it is not running.
func (r *streamRegistry) startTimerLocked() {
	if r.timer == nil {
		r.timer = time.AfterFunc(streamRetentionInterval, r.retentionTick)
	}
}

// retentionTick applies retention to every loaded stream, then re-arms.
func (r *streamRegistry) retentionTick() {
	if err := r.db.enter(); err != nil {
		return // closed; closeAll stopped us
	}
	defer r.db.exit()
	r.mu.Lock()
	streams := slices.Collect(maps.Values(r.streams))
	r.mu.Unlock()
	for _, s := range streams {
		if err := s.applyRetention(); err != nil && !errors.Is(err, ErrStreamNotFound) {
			r.db.logger.Warn("stream retention pass failed", "stream", s.name, "namespace", s.ns.String(), "err", err)
		}
	}
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Reset(streamRetentionInterval)
	}
	r.mu.Unlock()
}

// SetStreamLimits turns AWS's per-shard throughput limits on or off for
// every stream of the DB: 1 MiB/s and 1,000 records/s in, 2 MiB/s and 5
// reads/s out per shard. Over the limit, Put fails the record and Read the
// call with ErrThroughputExceeded. Default: off.
func (db *DB) SetStreamLimits(enabled bool) { db.streamRegistry().limits.Store(enabled) }

// Stream is a handle on one stream, shared by every caller of DB.Stream; it
// is safe for concurrent use. After DeleteStream, Close or Reset its
// methods return ErrStreamNotFound (or ErrClosed).
type Stream struct {
	db       *DB
	reg      *streamRegistry
	ns       Namespace
	name     string
	entityID uint64

	// snap is the current metadata, replaced whole under mu.
	snap atomic.Pointer[streamSnapshot]

	mu sync.RWMutex
	// gone is set (under mu) when the stream is deleted or the registry
	// closed; the handle is then dead.
	gone atomic.Bool

	shards struct {
		sync.Mutex
		m map[int]*shardState
	}
}

// streamSnapshot is an immutable view of a stream's metadata plus the
// routing table derived from it.
type streamSnapshot struct {
	meta *streamMeta
	// open lists the open shards by ascending HashStart, for routing.
	open []ShardInfo
}

func newSnapshot(m *streamMeta) *streamSnapshot {
	return &streamSnapshot{meta: m, open: m.openShards()}
}

// route returns the position in snap.open of the shard holding hash key k.
func (snap *streamSnapshot) route(k Uint128) int {
	// The open shards tile the keyspace (validated), so the last shard whose
	// start is <= k holds it.
	i, _ := slices.BinarySearchFunc(snap.open, k, func(s ShardInfo, k Uint128) int {
		if s.HashStart.Cmp(k) <= 0 {
			return -1
		}
		return 1
	})
	return i - 1
}

// shardState is the runtime state of one shard: its log (opened lazily),
// retention bookkeeping and throughput buckets.
type shardState struct {
	index int
	log   atomic.Pointer[segment.Log]
	// closed is closed when the shard is closed or the stream goes away,
	// to wake Wait.
	closed     chan struct{}
	closedOnce sync.Once
	// validFrom caches a sequence number below which every record is past
	// retention (0 = unknown); it only grows while retention is unchanged.
	validFrom atomic.Uint64
	// trimDueUnixNano is when Put/Read next apply retention to the log.
	trimDueUnixNano atomic.Int64
	limits          shardLimiter
}

func (st *shardState) markClosed() { st.closedOnce.Do(func() { close(st.closed) }) }

// shardState returns the state of shard index, creating it on first use.
func (s *Stream) shardState(index int, open bool) *shardState {
	s.shards.Lock()
	defer s.shards.Unlock()
	st, ok := s.shards.m[index]
	if !ok {
		st = &shardState{index: index, closed: make(chan struct{})}
		if !open || s.gone.Load() {
			st.markClosed()
		}
		s.shards.m[index] = st
	}
	return st
}

// shardLog returns the shard's log, opening it on first use.
func (s *Stream) shardLog(st *shardState) (*segment.Log, error) {
	if l := st.log.Load(); l != nil {
		return l, nil
	}
	l, err := s.db.openLog(s.entityID, uint32(st.index))
	if err != nil {
		return nil, fmt.Errorf("engine: stream %q shard %d: %w", s.name, st.index, err)
	}
	st.log.Store(l)
	return l, nil
}

// detachLocked kills the handle and wakes every waiter.
func (s *Stream) detachLocked() {
	s.gone.Store(true)
	s.shards.Lock()
	for _, st := range s.shards.m {
		st.markClosed()
	}
	s.shards.Unlock()
}

// liveSnapshot returns the current snapshot or ErrStreamNotFound if the
// handle is dead.
func (s *Stream) liveSnapshot() (*streamSnapshot, error) {
	if s.gone.Load() {
		return nil, fmt.Errorf("%w: %q", ErrStreamNotFound, s.name)
	}
	return s.snap.Load(), nil
}

// commitLocked persists next as the stream's metadata and installs it.
// Called with s.mu held exclusively.
func (s *Stream) commitLocked(next *streamMeta) error {
	if err := next.validate(); err != nil {
		return fmt.Errorf("BUG: engine: refusing to persist invalid stream metadata: %w", err)
	}
	err := s.db.catalogUpdate(kindStream, s.ns, s.name, s.entityID, encodeStreamMeta(nil, next))
	if errors.Is(err, errCatalogNotFound) {
		return fmt.Errorf("%w: %q", ErrStreamNotFound, s.name)
	}
	if err != nil {
		return err
	}
	s.snap.Store(newSnapshot(next))
	return nil
}

// update runs change on a copy of the metadata and persists the result.
func (s *Stream) update(change func(m *streamMeta, now time.Time) error) error {
	if err := s.db.enter(); err != nil {
		return err
	}
	defer s.db.exit()
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.liveSnapshot()
	if err != nil {
		return err
	}
	next := snap.meta.clone()
	if err := change(next, s.db.Clock().Now()); err != nil {
		return err
	}
	return s.commitLocked(next)
}

// validateStreamName applies AWS's rule: 1–128 characters of
// [a-zA-Z0-9_.-].
func validateStreamName(field, name string) error {
	if len(name) == 0 || len(name) > streamNameMaxBytes {
		return invalidf(field, "length %d outside [1, %d]", len(name), streamNameMaxBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return invalidf(field, "%q contains characters outside [a-zA-Z0-9_.-]", name)
		}
	}
	return nil
}

// newStreamMeta validates cfg and returns the metadata of a new stream.
func newStreamMeta(ns Namespace, name string, cfg StreamConfig, tags map[string]string, now time.Time) (*streamMeta, error) {
	if err := ns.Validate(); err != nil {
		return nil, err
	}
	if err := validateStreamName("StreamName", name); err != nil {
		return nil, err
	}
	m := &streamMeta{
		Name: name, Namespace: ns, Created: now, Mode: cfg.Mode, Retention: cfg.Retention,
		MaxRecordSizeKiB: cfg.MaxRecordSizeKiB, EncryptionType: "NONE",
	}
	if m.Mode == "" {
		m.Mode = StreamModeProvisioned
	}
	if m.Retention == 0 {
		m.Retention = streamRetentionDefault
	}
	if m.MaxRecordSizeKiB == 0 {
		m.MaxRecordSizeKiB = streamRecordKiBDefault
	}
	shards := cfg.ShardCount
	switch m.Mode {
	case StreamModeOnDemand:
		if shards == 0 {
			shards = onDemandShardCount
		}
	case StreamModeProvisioned:
	default:
		return nil, invalidf("StreamMode", "%q is neither PROVISIONED nor ON_DEMAND", m.Mode)
	}
	if shards < 1 || shards > streamOpenShardsMax {
		return nil, invalidf("ShardCount", "%d outside [1, %d]", shards, streamOpenShardsMax)
	}
	if err := checkRetention(m.Retention); err != nil {
		return nil, err
	}
	if err := checkMaxRecordSize(m.MaxRecordSizeKiB); err != nil {
		return nil, err
	}
	if err := m.setTags(tags); err != nil {
		return nil, err
	}
	m.initialShards(shards, now)
	return m, nil
}

func checkRetention(d time.Duration) error {
	if d < streamRetentionMin || d > streamRetentionMax || d%time.Hour != 0 {
		return invalidf("RetentionPeriodHours", "%v is not a whole number of hours in [24h, 8760h]", d)
	}
	return nil
}

func checkMaxRecordSize(kib int) error {
	if kib < streamRecordKiBMin || kib > streamRecordKiBMax {
		return invalidf("MaxRecordSizeInKiB", "%d outside [%d, %d]", kib, streamRecordKiBMin, streamRecordKiBMax)
	}
	return nil
}

// setTags merges tags into m, enforcing the per-stream count limit.
func (m *streamMeta) setTags(tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	merged := maps.Clone(m.Tags)
	if merged == nil {
		merged = make(map[string]string, len(tags))
	}
	for k, v := range tags {
		if len(k) == 0 || len(k) > 128 || len(v) > 256 {
			return invalidf("Tags", "tag key must be 1-128 and value 0-256 characters (key %q)", k)
		}
		merged[k] = v
	}
	if len(merged) > streamTagsMax {
		return invalidf("Tags", "a stream cannot have more than %d tags", streamTagsMax)
	}
	m.Tags = merged
	return nil
}

// CreateStream creates a stream with cfg's shards (evenly dividing the hash
// keyspace) and tags. It fails with ErrStreamExists if the name is taken,
// *ValidationError for a bad name or config. The result's Status is
// CREATING; the stream is usable at once and reads ACTIVE afterwards.
func (db *DB) CreateStream(ns Namespace, name string, cfg StreamConfig, tags map[string]string) (*StreamInfo, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	now := db.Clock().Now()
	m, err := newStreamMeta(ns, name, cfg, tags, now)
	if err != nil {
		return nil, err
	}
	reg := db.streamRegistry()
	reg.mu.Lock()
	defer reg.mu.Unlock()
	rec, err := db.catalogCreate(kindStream, ns, name, encodeStreamMeta(nil, m), nil)
	if errors.Is(err, errCatalogExists) {
		return nil, fmt.Errorf("%w: %q in %s", ErrStreamExists, name, ns)
	}
	if err != nil {
		return nil, err
	}
	s := reg.installLocked(ns, name, rec.EntityID, m)
	info := s.infoAt(s.snap.Load(), now)
	info.Status = StreamCreating
	return &info, nil
}

// installLocked creates the handle of a loaded or created stream.
func (r *streamRegistry) installLocked(ns Namespace, name string, entityID uint64, m *streamMeta) *Stream {
	s := &Stream{db: r.db, reg: r, ns: ns, name: name, entityID: entityID}
	s.shards.m = make(map[int]*shardState)
	s.snap.Store(newSnapshot(m))
	r.streams[streamKey{ns, name}] = s
	r.startTimerLocked()
	return s
}

// Stream returns the handle of stream name in ns, or ErrStreamNotFound.
// Handles are cached: this is a map lookup after the first call.
func (db *DB) Stream(ns Namespace, name string) (*Stream, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	return db.streamRegistry().get(ns, name)
}

// get returns the cached handle or loads it from the catalog.
func (r *streamRegistry) get(ns Namespace, name string) (*Stream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.streams[streamKey{ns, name}]; ok {
		return s, nil
	}
	rec, ok, err := r.db.catalogGet(kindStream, ns, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q in %s", ErrStreamNotFound, name, ns)
	}
	m, err := decodeStreamMeta(rec.Value)
	if err != nil {
		return nil, fmt.Errorf("engine: load stream %q in %s: %w", name, ns, err)
	}
	return r.installLocked(ns, name, rec.EntityID, m), nil
}

// DeleteStream deletes the stream, its shards and all their data. With
// registered consumers it fails with ErrStreamHasConsumers unless
// enforceConsumerDeletion is set.
func (db *DB) DeleteStream(ns Namespace, name string, enforceConsumerDeletion bool) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.exit()
	reg := db.streamRegistry()
	s, err := reg.get(ns, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.liveSnapshot()
	if err != nil {
		return err
	}
	if len(snap.meta.Consumers) > 0 && !enforceConsumerDeletion {
		return fmt.Errorf("%w: stream %q has %d consumers", ErrStreamHasConsumers, name, len(snap.meta.Consumers))
	}
	s.detachLocked()
	reg.mu.Lock()
	defer reg.mu.Unlock()
	delete(reg.streams, streamKey{ns, name})
	if _, err := db.catalogDelete(kindStream, ns, name, nil); err != nil && !errors.Is(err, errCatalogNotFound) {
		return err
	}
	return nil
}

// ListStreams returns up to limit (0 = all) stream names in ns sorting after
// after, in name order.
func (db *DB) ListStreams(ns Namespace, after string, limit int) ([]string, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	recs, err := db.catalogList(kindStream, ns, "", after, limit)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(recs))
	for i, r := range recs {
		names[i] = r.Name
	}
	return names, nil
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.name }

// Namespace returns the stream's namespace.
func (s *Stream) Namespace() Namespace { return s.ns }

// EntityID returns the stream's stable catalog id.
func (s *Stream) EntityID() uint64 { return s.entityID }

// Info returns a snapshot of the stream's metadata. Closed shards whose
// data has all passed retention are left out, as AWS drops them.
func (s *Stream) Info() StreamInfo {
	info := s.infoAt(s.snap.Load(), s.db.Clock().Now())
	if s.gone.Load() {
		info.Status = StreamDeleting
	}
	return info
}

func (s *Stream) infoAt(snap *streamSnapshot, now time.Time) StreamInfo {
	m := snap.meta
	info := StreamInfo{
		Name: m.Name, Namespace: m.Namespace, Created: m.Created, Status: StreamActive,
		Mode: m.Mode, Retention: m.Retention, MaxRecordSizeKiB: m.MaxRecordSizeKiB,
		Shards:         make([]ShardInfo, 0, len(m.Shards)),
		EncryptionType: m.EncryptionType, KeyID: m.KeyID,
		EnhancedMetrics: slices.Clone(m.EnhancedMetrics), Tags: maps.Clone(m.Tags),
		EntityID: s.entityID, OpenShards: len(snap.open),
	}
	if info.Tags == nil {
		info.Tags = map[string]string{}
	}
	for _, sh := range m.Shards {
		if !shardExpired(sh, m.Retention, now) {
			info.Shards = append(info.Shards, sh)
		}
	}
	return info
}

// shardExpired reports whether a closed shard's data has all passed
// retention: every record arrived before it closed.
func shardExpired(sh ShardInfo, retention time.Duration, now time.Time) bool {
	return !sh.Open() && !sh.Closed.After(now.Add(-retention))
}

// SetRetention sets the retention period (24h..8760h in whole hours). The
// server checks the direction (Increase/DecreaseStreamRetentionPeriod). A
// decrease hides older records at once.
func (s *Stream) SetRetention(d time.Duration) error {
	if err := checkRetention(d); err != nil {
		return err
	}
	err := s.update(func(m *streamMeta, _ time.Time) error {
		m.Retention = d
		return nil
	})
	if err == nil {
		s.forgetValidFrom()
	}
	return err
}

// forgetValidFrom drops the cached retention lower bounds after retention
// changed.
func (s *Stream) forgetValidFrom() {
	s.shards.Lock()
	defer s.shards.Unlock()
	for _, st := range s.shards.m {
		st.validFrom.Store(0)
	}
}

// SetMode switches the capacity mode. Shards are kept as they are.
func (s *Stream) SetMode(mode StreamMode) error {
	if mode != StreamModeProvisioned && mode != StreamModeOnDemand {
		return invalidf("StreamMode", "%q is neither PROVISIONED nor ON_DEMAND", mode)
	}
	return s.update(func(m *streamMeta, _ time.Time) error {
		m.Mode = mode
		return nil
	})
}

// SetMaxRecordSize sets the largest record (data + partition key), in KiB.
func (s *Stream) SetMaxRecordSize(kib int) error {
	if err := checkMaxRecordSize(kib); err != nil {
		return err
	}
	return s.update(func(m *streamMeta, _ time.Time) error {
		m.MaxRecordSizeKiB = kib
		return nil
	})
}

// SetEncryption stores the encryption setting: typ "NONE" (keyID must be
// empty, and is cleared) or "KMS" with a key id. Data is not encrypted by
// it; the setting is reported back as AWS does.
func (s *Stream) SetEncryption(typ, keyID string) error {
	switch {
	case typ == "NONE":
		keyID = ""
	case typ == "KMS":
		if keyID == "" || len(keyID) > streamStringMaxBytes {
			return invalidf("KeyId", "must be 1-%d characters for KMS", streamStringMaxBytes)
		}
	default:
		return invalidf("EncryptionType", "%q is neither NONE nor KMS", typ)
	}
	return s.update(func(m *streamMeta, _ time.Time) error {
		m.EncryptionType, m.KeyID = typ, keyID
		return nil
	})
}

// SetEnhancedMetrics replaces the enabled shard-level metrics (the server
// expands ALL and computes the union or difference).
func (s *Stream) SetEnhancedMetrics(metrics []string) error {
	metrics = slices.Compact(slices.Sorted(slices.Values(metrics)))
	if len(metrics) > streamEnhancedMetricsMax {
		return invalidf("ShardLevelMetrics", "at most %d metrics", streamEnhancedMetricsMax)
	}
	for _, name := range metrics {
		if name == "" || len(name) > 64 {
			return invalidf("ShardLevelMetrics", "metric name %q", name)
		}
	}
	if len(metrics) == 0 {
		metrics = nil
	}
	return s.update(func(m *streamMeta, _ time.Time) error {
		m.EnhancedMetrics = metrics
		return nil
	})
}

// Tag adds or replaces tags; a stream holds at most 50.
func (s *Stream) Tag(tags map[string]string) error {
	return s.update(func(m *streamMeta, _ time.Time) error { return m.setTags(tags) })
}

// Untag removes the tags with the given keys (absent keys are ignored).
func (s *Stream) Untag(keys []string) error {
	return s.update(func(m *streamMeta, _ time.Time) error {
		for _, k := range keys {
			delete(m.Tags, k)
		}
		if len(m.Tags) == 0 {
			m.Tags = nil
		}
		return nil
	})
}
