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
	// transitionDelayNanos is how long CREATING, UPDATING and DELETING
	// last (SetStreamTransitionDelay); 0 = transitions are immediate.
	transitionDelayNanos atomic.Int64
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
	now := r.db.Clock().Now()
	for _, s := range streams {
		if s.snap.Load().meta.deletedAt(now) {
			if err := r.reap(s); err != nil {
				r.db.logger.Warn("removing deleted stream failed", "stream", s.name, "namespace", s.ns.String(), "err", err)
			}
			continue
		}
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

// SetStreamTransitionDelay makes stream lifecycle transitions take d, as
// AWS's asynchronous operations do: a new stream is CREATING for d (Put
// and reads fail with a *StreamStateError matching ErrStreamNotFound,
// control-plane changes with one matching ErrResourceInUse); a reshard,
// SetMode or SetEncryption leaves it UPDATING for d (data keeps flowing,
// further changes fail with ErrResourceInUse); DeleteStream leaves it
// DELETING for d, after which it is gone. The state is computed from the
// DB clock and a persisted end time: no timer per stream, and a restart
// keeps the end time. A negative d counts as 0. Default: 0, every
// transition immediate (a stream is never seen CREATING, UPDATING or
// DELETING after the call that started it).
func (db *DB) SetStreamTransitionDelay(d time.Duration) {
	db.streamRegistry().transitionDelayNanos.Store(int64(max(d, 0)))
}

func (r *streamRegistry) transitionDelay() time.Duration {
	return time.Duration(r.transitionDelayNanos.Load())
}

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
// handle is dead or its delayed deletion is due.
func (s *Stream) liveSnapshot() (*streamSnapshot, error) {
	if s.gone.Load() {
		return nil, fmt.Errorf("%w: %q", ErrStreamNotFound, s.name)
	}
	snap := s.snap.Load()
	if snap.meta.Status == StreamDeleting && snap.meta.deletedAt(s.db.Clock().Now()) {
		return nil, fmt.Errorf("%w: %q", ErrStreamNotFound, s.name)
	}
	return snap, nil
}

// changeKind says in which states a metadata change is allowed and whether
// it starts an UPDATING transition.
type changeKind int

const (
	// changeLive (consumers) is refused while CREATING or DELETING.
	changeLive changeKind = iota
	// changeActive (settings, tags) needs an ACTIVE stream.
	changeActive
	// changeUpdating (reshard, mode, encryption) needs an ACTIVE stream
	// and leaves it UPDATING for the transition delay.
	changeUpdating
)

// checkChange returns a *StreamStateError if m's state at now forbids a
// change of kind.
func (s *Stream) checkChange(m *streamMeta, kind changeKind, now time.Time) error {
	status := m.statusAt(now)
	switch {
	case status == StreamActive:
		return nil
	case kind == changeLive && status == StreamUpdating:
		return nil
	}
	return &StreamStateError{Stream: s.name, Status: status}
}

// beginChange prepares next, a copy of the metadata about to change:
// it clears an ended transition and starts UPDATING for a changeUpdating.
func (s *Stream) beginChange(next *streamMeta, kind changeKind, now time.Time) {
	next.settle(now)
	if d := s.reg.transitionDelay(); kind == changeUpdating && d > 0 {
		next.Status, next.StatusUntil = StreamUpdating, now.Add(d)
	}
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

// update runs change on a copy of the metadata and persists the result;
// refused while the stream is CREATING or DELETING (changeLive).
func (s *Stream) update(change func(m *streamMeta, now time.Time) error) error {
	return s.updateAs(changeLive, change)
}

// updateAs is update for a change of kind.
func (s *Stream) updateAs(kind changeKind, change func(m *streamMeta, now time.Time) error) error {
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
	now := s.db.Clock().Now()
	if err := s.checkChange(snap.meta, kind, now); err != nil {
		return err
	}
	next := snap.meta.clone()
	s.beginChange(next, kind, now)
	if err := change(next, now); err != nil {
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

// OnDemandShardCount is how many shards CreateStream gives an ON_DEMAND
// stream whose StreamConfig.ShardCount is 0 (4 MiB/s of write capacity, as
// AWS starts one).
const OnDemandShardCount = 4

// CreateStream creates a stream with cfg's shards (evenly dividing the hash
// keyspace) and tags. It fails with ErrStreamExists if the name is taken
// (also by a stream still DELETING), *ValidationError for a bad name or
// config. The result's Status is CREATING. With no transition delay the
// stream is usable at once and reads ACTIVE afterwards; with one it stays
// CREATING for the delay (SetStreamTransitionDelay).
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
	if d := reg.transitionDelay(); d > 0 {
		m.Status, m.StatusUntil = StreamCreating, now.Add(d)
	}
	info, err := reg.create(m)
	if errors.Is(err, ErrStreamExists) {
		// A stream whose delayed deletion is due still holds the name
		// until a lookup removes it: look it up once, then retry.
		if _, getErr := reg.get(ns, name); errors.Is(getErr, ErrStreamNotFound) {
			info, err = reg.create(m)
		}
	}
	if err != nil {
		return nil, err
	}
	info.Status = StreamCreating
	return info, nil
}

// create persists a new stream's metadata and installs its handle.
func (r *streamRegistry) create(m *streamMeta) (*StreamInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := r.db.catalogCreate(kindStream, m.Namespace, m.Name, encodeStreamMeta(nil, m), nil)
	if errors.Is(err, errCatalogExists) {
		return nil, fmt.Errorf("%w: %q in %s", ErrStreamExists, m.Name, m.Namespace)
	}
	if err != nil {
		return nil, err
	}
	s := r.installLocked(m.Namespace, m.Name, rec.EntityID, m)
	info := s.infoAt(s.snap.Load(), m.Created)
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

// get returns the cached handle or loads it from the catalog. A stream
// whose delayed deletion is due is removed here (ErrStreamNotFound).
func (r *streamRegistry) get(ns Namespace, name string) (*Stream, error) {
	s, err := r.load(ns, name)
	if err != nil {
		return nil, err
	}
	if m := s.snap.Load().meta; m.Status == StreamDeleting && m.deletedAt(r.db.Clock().Now()) {
		if err := r.reap(s); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %q in %s", ErrStreamNotFound, name, ns)
	}
	return s, nil
}

// reap completes a delayed deletion: it kills the handle, forgets it and
// deletes the stream's catalog entry and data. Reaping twice is harmless.
func (r *streamRegistry) reap(s *Stream) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone.Load() {
		return nil
	}
	s.detachLocked()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams[streamKey{s.ns, s.name}] == s {
		delete(r.streams, streamKey{s.ns, s.name})
	}
	if _, err := r.db.catalogDelete(kindStream, s.ns, s.name, nil); err != nil && !errors.Is(err, errCatalogNotFound) {
		return fmt.Errorf("engine: removing deleted stream %q in %s: %w", s.name, s.ns, err)
	}
	return nil
}

// load returns the cached handle or loads it from the catalog.
func (r *streamRegistry) load(ns Namespace, name string) (*Stream, error) {
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
// enforceConsumerDeletion is set. A CREATING or DELETING stream gives a
// *StreamStateError (ErrResourceInUse). With a transition delay the stream
// stays DELETING (still readable and writable, as AWS allows) for the
// delay and is removed by the first lookup, ListStreams or retention pass
// after it.
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
	now := db.Clock().Now()
	if status := snap.meta.statusAt(now); status == StreamCreating || status == StreamDeleting {
		return &StreamStateError{Stream: name, Status: status}
	}
	if len(snap.meta.Consumers) > 0 && !enforceConsumerDeletion {
		return fmt.Errorf("%w: stream %q has %d consumers", ErrStreamHasConsumers, name, len(snap.meta.Consumers))
	}
	if d := reg.transitionDelay(); d > 0 {
		next := snap.meta.clone()
		next.Consumers = nil
		next.Status, next.StatusUntil = StreamDeleting, now.Add(d)
		return s.commitLocked(next)
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
// after, in name order. Streams still DELETING are listed; those whose
// delayed deletion is due are removed instead.
func (db *DB) ListStreams(ns Namespace, after string, limit int) ([]string, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	reg := db.streamRegistry()
	var names []string
	for {
		want := 0
		if limit > 0 {
			want = limit - len(names)
		}
		recs, err := db.catalogList(kindStream, ns, "", after, want)
		if err != nil {
			return nil, err
		}
		now := db.Clock().Now()
		for _, r := range recs {
			if status, until, ok := peekStreamStatus(r.Value); ok && status == StreamDeleting && !now.Before(until) {
				if _, err := reg.get(ns, r.Name); err != nil && !errors.Is(err, ErrStreamNotFound) {
					return nil, err
				}
				continue
			}
			names = append(names, r.Name)
		}
		if want == 0 || len(recs) < want || len(names) >= limit {
			return names, nil
		}
		after = recs[len(recs)-1].Name
	}
}

// loadDeletingStreams runs from DB.start: it loads every stream left
// DELETING by a transition delay, so that one whose deletion came due
// while the process was down is removed now (lookup reaps it) and the
// others are in the registry, whose retention pass reaps them when due.
// Without it their data would stay on disk until something looked the
// name up or listed streams. Streams not DELETING are not loaded.
func (db *DB) loadDeletingStreams() error {
	var deleting []catalogRecord
	err := db.catalogScan(kindStream, func(r catalogRecord) error {
		if status, _, ok := peekStreamStatus(r.Value); ok && status == StreamDeleting {
			deleting = append(deleting, r)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: scanning streams: %w", err)
	}
	reg := db.streamRegistry()
	for _, r := range deleting {
		if _, err := reg.get(r.NS, r.Name); err != nil && !errors.Is(err, ErrStreamNotFound) {
			return err
		}
	}
	return nil
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.name }

// Namespace returns the stream's namespace.
func (s *Stream) Namespace() Namespace { return s.ns }

// EntityID returns the stream's stable catalog id.
func (s *Stream) EntityID() uint64 { return s.entityID }

// Info returns a snapshot of the stream's metadata. Closed shards whose
// data has all passed retention are left out, as AWS drops them.
// Status is the state at the clock's now (see SetStreamTransitionDelay).
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
		Name: m.Name, Namespace: m.Namespace, Created: m.Created, Status: m.statusAt(now),
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
	err := s.updateAs(changeActive, func(m *streamMeta, _ time.Time) error {
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
	return s.updateAs(changeUpdating, func(m *streamMeta, _ time.Time) error {
		m.Mode = mode
		return nil
	})
}

// SetMaxRecordSize sets the largest record (data + partition key), in KiB.
func (s *Stream) SetMaxRecordSize(kib int) error {
	if err := checkMaxRecordSize(kib); err != nil {
		return err
	}
	return s.updateAs(changeActive, func(m *streamMeta, _ time.Time) error {
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
	return s.updateAs(changeUpdating, func(m *streamMeta, _ time.Time) error {
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
	return s.updateAs(changeActive, func(m *streamMeta, _ time.Time) error {
		m.EnhancedMetrics = metrics
		return nil
	})
}

// Tag adds or replaces tags; a stream holds at most 50.
func (s *Stream) Tag(tags map[string]string) error {
	return s.updateAs(changeActive, func(m *streamMeta, _ time.Time) error { return m.setTags(tags) })
}

// Untag removes the tags with the given keys (absent keys are ignored).
func (s *Stream) Untag(keys []string) error {
	return s.updateAs(changeActive, func(m *streamMeta, _ time.Time) error {
		for _, k := range keys {
			delete(m.Tags, k)
		}
		if len(m.Tags) == 0 {
			m.Tags = nil
		}
		return nil
	})
}
