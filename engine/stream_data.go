package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/sluice-dev/sluice/segment"
)

// Record log entries: Timestamp = arrival (unix ns, from the DB clock),
// Key = partition key, Payload = data, Flags as below.
const (
	// recordFlagExplicitHashKey marks a record routed by an explicit hash
	// key rather than by its partition key's MD5.
	recordFlagExplicitHashKey uint16 = 1 << 0
)

// partitionKeyMaxBytes bounds a partition key: AWS allows 256 Unicode
// characters, at most 4 bytes each in UTF-8.
const partitionKeyMaxBytes = 256 * 4

// PutRecord is one record to append to a stream.
type PutRecord struct {
	// PartitionKey is hashed (MD5) to choose the shard, unless
	// ExplicitHashKey is set; it is stored with the record. 1..256 chars.
	PartitionKey string
	// ExplicitHashKey, if set, chooses the shard instead of the key's hash.
	ExplicitHashKey *Uint128
	// Data is the record's payload; len(Data)+len(PartitionKey) must not
	// exceed the stream's MaxRecordSizeKiB.
	Data []byte
}

// PutResult is the outcome of one PutRecord.
type PutResult struct {
	Shard   int
	Seq     uint64
	Arrival time.Time
	// Err is set if this record was not stored (ErrThroughputExceeded, or
	// a log failure); the other records of the call are unaffected.
	Err error
}

// StreamRecord is a record read back. PartitionKey and Data are borrowed:
// they are valid only until the callback returns (copy to keep).
type StreamRecord struct {
	Seq             uint64
	Arrival         time.Time
	PartitionKey    string
	ExplicitHashKey bool
	Data            []byte
}

// putGroup collects the records of one Put call bound for one shard.
type putGroup struct {
	shard   ShardInfo
	state   *shardState
	indexes []int // positions in the call's records
	entries []segment.Entry
}

// Put appends recs, routed by hash key to the open shards: one Append per
// shard (in parallel when there are several), each acknowledged only once
// durable. Results are per record, in order. A record over the size limit,
// an empty or oversized partition key fails the whole call with
// *ValidationError before anything is written.
func (s *Stream) Put(ctx context.Context, recs []PutRecord) ([]PutResult, error) {
	if err := s.db.enter(); err != nil {
		return nil, err
	}
	defer s.db.exit()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, invalidf("Records", "at least one record is required")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap, err := s.liveSnapshot()
	if err != nil {
		return nil, err
	}
	now := s.db.Clock().Now()
	if err := s.checkData(snap.meta, now); err != nil {
		return nil, err
	}
	if err := checkPutRecords(recs, snap.meta.MaxRecordSizeKiB*1024); err != nil {
		return nil, err
	}
	results := make([]PutResult, len(recs))
	groups := s.groupByShard(snap, recs, results, now)
	if len(groups) == 1 {
		s.appendGroup(&groups[0], results, now)
	} else {
		var wg sync.WaitGroup
		for i := 1; i < len(groups); i++ {
			wg.Go(func() { s.appendGroup(&groups[i], results, now) })
		}
		s.appendGroup(&groups[0], results, now)
		wg.Wait()
	}
	return results, nil
}

// checkPutRecords validates every record against the stream's limits.
func checkPutRecords(recs []PutRecord, maxRecordBytes int) error {
	for i := range recs {
		r := &recs[i]
		if len(r.PartitionKey) == 0 || len(r.PartitionKey) > partitionKeyMaxBytes {
			return invalidf("PartitionKey", "record %d: length %d outside [1, 256] characters", i, len(r.PartitionKey))
		}
		if size := len(r.Data) + len(r.PartitionKey); size > maxRecordBytes {
			return invalidf("Data", "record %d: data and partition key are %d bytes, more than the stream's %d", i, size, maxRecordBytes)
		}
	}
	return nil
}

// groupByShard routes every record and, with limits on, charges its shard's
// write buckets; records over the limit get ErrThroughputExceeded.
func (s *Stream) groupByShard(snap *streamSnapshot, recs []PutRecord, results []PutResult, now time.Time) []putGroup {
	limits := s.reg.limits.Load()
	routes := make([]int, len(recs))
	counts := make([]int, len(snap.open))
	for i := range recs {
		var k Uint128
		if recs[i].ExplicitHashKey != nil {
			k = *recs[i].ExplicitHashKey
		} else {
			k = HashPartitionKey(recs[i].PartitionKey)
		}
		routes[i] = snap.route(k)
		counts[routes[i]]++
	}
	slot := make([]int, len(snap.open)) // position in groups + 1; 0 = none yet
	groups := make([]putGroup, 0, min(len(snap.open), len(recs)))
	for i := range recs {
		r := routes[i]
		if slot[r] == 0 {
			sh := snap.open[r]
			groups = append(groups, putGroup{
				shard: sh, state: s.shardState(sh.Index, true),
				indexes: make([]int, 0, counts[r]), entries: make([]segment.Entry, 0, counts[r]),
			})
			slot[r] = len(groups)
		}
		g := &groups[slot[r]-1]
		results[i].Shard = g.shard.Index
		if limits && !g.state.limits.allowWrite(now, len(recs[i].Data)+len(recs[i].PartitionKey)) {
			results[i].Err = fmt.Errorf("%w: shard %d of stream %q", ErrThroughputExceeded, g.shard.Index, s.name)
			continue
		}
		e := segment.Entry{Timestamp: now.UnixNano(), Key: unsafe.Slice(unsafe.StringData(recs[i].PartitionKey), len(recs[i].PartitionKey)), Payload: recs[i].Data}
		if recs[i].ExplicitHashKey != nil {
			e.Flags = recordFlagExplicitHashKey
		}
		g.indexes = append(g.indexes, i)
		g.entries = append(g.entries, e)
	}
	return groups
}

// appendGroup appends one shard's records and fills their results.
func (s *Stream) appendGroup(g *putGroup, results []PutResult, now time.Time) {
	if len(g.entries) == 0 {
		return
	}
	var first uint64
	log, err := s.shardLog(g.state)
	if err == nil {
		s.maybeTrim(g.state, log, now)
		first, err = log.Append(g.entries)
	}
	for k, i := range g.indexes {
		if err != nil {
			results[i].Err = fmt.Errorf("engine: stream %q shard %d: %w", s.name, g.shard.Index, err)
			continue
		}
		results[i].Seq = first + uint64(k)
		results[i].Arrival = now
	}
}

// checkData refuses data-plane calls on a CREATING stream: AWS has no
// stream to write or read yet and answers ResourceNotFoundException. During
// UPDATING and DELETING reads and writes go on, as AWS documents.
func (s *Stream) checkData(m *streamMeta, now time.Time) error {
	if m.Status == StreamCreating && m.statusAt(now) == StreamCreating {
		return &StreamStateError{Stream: s.name, Status: StreamCreating, DataPlane: true}
	}
	return nil
}

// readShard resolves a shard for reading: its metadata and, unless the
// shard is an empty closed one (never written), its log.
func (s *Stream) readShard(shard int, now time.Time) (*streamMeta, ShardInfo, *shardState, *segment.Log, error) {
	snap, err := s.liveSnapshot()
	if err != nil {
		return nil, ShardInfo{}, nil, nil, err
	}
	m := snap.meta
	if err := s.checkData(m, now); err != nil {
		return nil, ShardInfo{}, nil, nil, err
	}
	sh := m.shard(shard)
	if sh == nil || shardExpired(*sh, m.Retention, now) {
		return nil, ShardInfo{}, nil, nil, fmt.Errorf("%w: shard %d in stream %q", ErrShardNotFound, shard, s.name)
	}
	st := s.shardState(shard, sh.Open())
	if !sh.Open() && sh.EndSeq == sh.StartSeq {
		return m, *sh, st, nil, nil
	}
	log, err := s.shardLog(st)
	if err != nil {
		return nil, ShardInfo{}, nil, nil, err
	}
	s.maybeTrim(st, log, now)
	return m, *sh, st, log, nil
}

// Read calls fn for the shard's records from seq from on, at most
// maxRecords records and maxBytes bytes of data + partition key (0 = no
// limit; at least one record if any), and returns the sequence number to
// read next. Records past retention are never returned: from is raised to
// the first retained record. fn's record is borrowed (see StreamRecord);
// an error from fn stops the read and is returned. ErrShardNotFound for an
// unknown or expired shard.
func (s *Stream) Read(shard int, from uint64, maxRecords, maxBytes int, fn func(*StreamRecord) error) (uint64, error) {
	if err := s.db.enter(); err != nil {
		return 0, err
	}
	defer s.db.exit()
	now := s.db.Clock().Now()
	m, sh, st, log, err := s.readShard(shard, now)
	if err != nil {
		return 0, err
	}
	if log == nil { // empty closed shard
		return max(from, sh.StartSeq), nil
	}
	if s.reg.limits.Load() && !st.limits.allowRead(now) {
		return 0, fmt.Errorf("%w: reads of shard %d of stream %q", ErrThroughputExceeded, shard, s.name)
	}
	cutoff := now.Add(-m.Retention).UnixNano()
	from = max(from, st.validFrom.Load())
	r := streamReader{fn: fn, cutoff: cutoff}
	next, err := log.Read(from, maxRecords, maxBytes, r.deliver)
	if err == nil && r.skipped && r.delivered == 0 {
		// Everything read was past retention: skip to the first retained
		// record and read once more.
		var start uint64
		if start, err = s.skipExpired(st, log, cutoff); err == nil && start > next {
			next, err = log.Read(start, maxRecords, maxBytes, r.deliver)
		}
	}
	if s.reg.limits.Load() {
		st.limits.chargeRead(now, r.bytes)
	}
	if err != nil {
		return 0, s.dataError(shard, err)
	}
	return next, nil
}

// streamReader adapts segment records to StreamRecords without allocating:
// one reader per Read call, the record struct reused for every record.
type streamReader struct {
	fn        func(*StreamRecord) error
	cutoff    int64
	rec       StreamRecord
	skipped   bool
	delivered int
	bytes     int
}

func (r *streamReader) deliver(rec *segment.Record) error {
	if rec.Timestamp < r.cutoff {
		r.skipped = true
		return nil
	}
	r.rec = StreamRecord{
		Seq:             rec.Seq,
		Arrival:         time.Unix(0, rec.Timestamp),
		PartitionKey:    unsafe.String(unsafe.SliceData(rec.Key), len(rec.Key)),
		ExplicitHashKey: rec.Flags&recordFlagExplicitHashKey != 0,
		Data:            rec.Payload,
	}
	r.delivered++
	r.bytes += len(rec.Key) + len(rec.Payload)
	return r.fn(&r.rec)
}

// skipExpired finds the first record at or after cutoff, caching it.
func (s *Stream) skipExpired(st *shardState, log *segment.Log, cutoff int64) (uint64, error) {
	seq, err := log.SeekTimestamp(cutoff)
	if err != nil {
		return 0, err
	}
	for {
		old := st.validFrom.Load()
		if seq <= old || st.validFrom.CompareAndSwap(old, seq) {
			return max(seq, old), nil
		}
	}
}

// dataError maps a log error on a dead stream to ErrStreamNotFound.
func (s *Stream) dataError(shard int, err error) error {
	if s.gone.Load() && (errors.Is(err, segment.ErrClosed) || errors.Is(err, ErrClosed)) {
		return fmt.Errorf("%w: %q", ErrStreamNotFound, s.name)
	}
	return fmt.Errorf("engine: stream %q shard %d: %w", s.name, shard, err)
}

// Bounds returns the shard's retained range [first, next): first is the
// first record not past retention, next the sequence number the next
// record will get (or EndSeq for a closed shard).
func (s *Stream) Bounds(shard int) (first, next uint64, err error) {
	if err := s.db.enter(); err != nil {
		return 0, 0, err
	}
	defer s.db.exit()
	now := s.db.Clock().Now()
	m, sh, st, log, err := s.readShard(shard, now)
	if err != nil {
		return 0, 0, err
	}
	if log == nil {
		return sh.StartSeq, sh.StartSeq, nil
	}
	first, err = s.skipExpired(st, log, now.Add(-m.Retention).UnixNano())
	if err != nil {
		return 0, 0, s.dataError(shard, err)
	}
	first = max(first, log.FirstSeq(), sh.StartSeq)
	return first, log.NextSeq(), nil
}

// SeekTimestamp returns the sequence number of the shard's first record
// that arrived at or after t (or the next sequence number if none); t
// before the retention window means the first retained record.
func (s *Stream) SeekTimestamp(shard int, t time.Time) (uint64, error) {
	if err := s.db.enter(); err != nil {
		return 0, err
	}
	defer s.db.exit()
	now := s.db.Clock().Now()
	m, sh, _, log, err := s.readShard(shard, now)
	if err != nil {
		return 0, err
	}
	if log == nil {
		return sh.StartSeq, nil
	}
	ts := max(t.UnixNano(), now.Add(-m.Retention).UnixNano())
	seq, err := log.SeekTimestamp(ts)
	if err != nil {
		return 0, s.dataError(shard, err)
	}
	return max(seq, log.FirstSeq()), nil
}

// Wait blocks until the record with sequence number seq is readable, the
// shard is closed (no such record will ever come), ctx is done
// (ctx.Err()), or the DB closes (ErrClosed). It returns nil in the first
// two cases; the caller re-reads Bounds or Info to tell which.
func (s *Stream) Wait(ctx context.Context, shard int, seq uint64) error {
	if err := s.db.enter(); err != nil {
		return err
	}
	defer s.db.exit()
	done := s.db.done()
	_, sh, st, log, err := s.readShard(shard, s.db.Clock().Now())
	if err != nil {
		return err
	}
	if log == nil || !sh.Open() || log.NextSeq() > seq {
		return nil
	}
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-st.closed:
		case <-done:
		case <-waitCtx.Done():
		}
		cancel()
	}()
	err = log.Wait(waitCtx, seq)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	select {
	case <-done:
		return ErrClosed
	default:
	}
	select {
	case <-st.closed:
		if s.gone.Load() {
			return fmt.Errorf("%w: %q", ErrStreamNotFound, s.name)
		}
		return nil
	default:
	}
	return s.dataError(shard, err)
}

// maybeTrim deletes the log's segments past retention if due (at most once
// per streamRetentionInterval per shard). Failures are logged: retention is
// also enforced by filtering reads.
func (s *Stream) maybeTrim(st *shardState, log *segment.Log, now time.Time) {
	due := st.trimDueUnixNano.Load()
	if now.UnixNano() < due || !st.trimDueUnixNano.CompareAndSwap(due, now.Add(streamRetentionInterval).UnixNano()) {
		return
	}
	retention := s.snap.Load().meta.Retention
	if _, err := log.DeleteOlderThan(now.Add(-retention).UnixNano()); err != nil && !errors.Is(err, segment.ErrClosed) {
		s.db.logger.Warn("stream retention: deleting old segments failed", "stream", s.name, "shard", st.index, "err", err)
	}
}

// applyRetention is the periodic retention pass of one stream: it trims
// every opened shard log and drops closed shards whose data has all
// expired (metadata and log files).
func (s *Stream) applyRetention() error {
	now := s.db.Clock().Now()
	s.shards.Lock()
	states := make([]*shardState, 0, len(s.shards.m))
	for _, st := range s.shards.m {
		states = append(states, st)
	}
	s.shards.Unlock()
	for _, st := range states {
		if log := st.log.Load(); log != nil {
			s.maybeTrim(st, log, now)
		}
	}
	return s.pruneExpiredShards(now)
}

// pruneExpiredShards removes closed shards whose data has all passed
// retention from the metadata, then deletes their logs.
func (s *Stream) pruneExpiredShards(now time.Time) error {
	snap, err := s.liveSnapshot()
	if err != nil {
		return err
	}
	if !anyExpired(snap.meta, now) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err = s.liveSnapshot()
	if err != nil {
		return err
	}
	next := snap.meta.clone()
	var expired []int
	kept := next.Shards[:0]
	for _, sh := range next.Shards {
		if shardExpired(sh, next.Retention, now) {
			expired = append(expired, sh.Index)
		} else {
			kept = append(kept, sh)
		}
	}
	if len(expired) == 0 {
		return nil
	}
	next.Shards = kept
	if err := s.commitLocked(next); err != nil {
		return err
	}
	var errs []error
	for _, idx := range expired {
		s.shards.Lock()
		st := s.shards.m[idx]
		delete(s.shards.m, idx)
		s.shards.Unlock()
		if st != nil {
			st.markClosed()
		}
		errs = append(errs, s.db.removePartitionLog(s.entityID, uint32(idx)))
	}
	return errors.Join(errs...)
}

func anyExpired(m *streamMeta, now time.Time) bool {
	for _, sh := range m.Shards {
		if shardExpired(sh, m.Retention, now) {
			return true
		}
	}
	return false
}
