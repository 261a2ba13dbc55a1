package segment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// maxAppendBytes bounds the encoded size of one Append call, so a segment
// (and every offset in the sparse index) stays below 4 GiB.
const maxAppendBytes = 1 << 30

// Entry is one record to append. Timestamp is unix nanoseconds chosen by the
// caller; the log stores max(Timestamp, previous record's Timestamp) so that
// timestamps never decrease within a log (SeekTimestamp depends on it).
type Entry struct {
	Timestamp int64
	Flags     uint16
	Key       []byte // small key/attribute block, at most 65535 bytes
	Payload   []byte
}

// Record is a record read back. Key and Payload are borrowed: valid only
// until the callback that received the Record returns. Copy to keep.
type Record struct {
	Seq       uint64
	Timestamp int64
	Flags     uint16
	Key       []byte
	Payload   []byte
}

// Stats are counters and gauges of one Log.
type Stats struct {
	Segments          int    // segment files, the active one included
	SizeBytes         int64  // committed bytes in all segments
	FirstSeq          uint64 // first retained record
	NextSeq           uint64 // seq of the next append
	Appends           uint64 // acknowledged Append calls since Open
	Records           uint64 // acknowledged records since Open
	Batches           uint64 // group-commit batches written (one write each)
	Syncs             uint64 // fdatasync calls on segment files
	BytesWritten      int64  // frame bytes written since Open
	Rolls             uint64 // segments sealed since Open
	DeletedRecords    uint64 // records removed by retention since Open
	PreallocatedBytes int64  // zero bytes written ahead of the data (SyncAlways) since Open
	MappedSegments    int    // sealed segments currently mmapped
	PageDrops         uint64 // times readers dropped a mapping's resident pages (see dropResidentBytes) since Open
	WriterRunning     bool   // a writer goroutine exists (false when idle)
}

// indexEntry is one sparse index point: the frame at offset has sequence
// number segment.firstSeq+seqDelta and the given timestamp.
type indexEntry struct {
	offset    uint32
	seqDelta  uint32
	timestamp int64
}

// segment is one segment file. Fields below the comment are guarded by
// Log.mu; loadMu serializes opening, mapping and scanning the file.
type segment struct {
	firstSeq      uint64
	baseTimestamp int64
	version       uint8 // format version of the file
	path          string
	loadMu        sync.Mutex
	// walked counts the bytes readers have walked through the mapping
	// since its resident pages were last dropped (see Log.dropPages).
	walked atomic.Int64

	// Guarded by Log.mu.
	sizeBytes int64        // committed bytes (the file size once sealed)
	sealed    bool         // no more appends; immutable
	indexed   bool         // index covers the segment (false until a sealed segment found at Open is scanned)
	index     []indexEntry // sparse, in offset order
	refs      int          // readers and deleters holding the segment
	deleted   bool
	mapping   []byte   // read-only mmap of a sealed segment
	readFile  vfs.File // read handle when not mapped
	lastUsed  time.Time
}

// Log is an append-only log of records stored as a directory of segment
// files. All methods are safe for concurrent use.
type Log struct {
	dir           string
	opts          Options
	fs            vfs.FS
	logger        *slog.Logger
	maxFrameBytes int

	wake     chan struct{} // nudges the writer goroutine; capacity 1
	syncReq  chan vfs.File // files for the writer's sync goroutine; nil stops it
	syncDone chan error    // outcome of the running background sync; capacity 1
	writerWG sync.WaitGroup
	w        writer // owned by the writer goroutine while it runs

	pageDrops atomic.Uint64 // Stats.PageDrops

	// Solo appends (SyncNever and SyncInterval, while the active segment
	// takes mapped writes: mapped). An append there is a copy of about a
	// microsecond, less than parking an appender and waking it again, so
	// group commit costs more than it saves: with many concurrent
	// appenders every one of them would park behind the inline leader and
	// be woken per batch. Instead appenders go through soloMu one at a
	// time, each writing its own batch inline while the writer goroutine
	// is parked (sync.Mutex lets the running goroutine take it again
	// without a hand-off, so on a few cores most appends cost no park at
	// all). An appender that finds the writer goroutine busy queues for it
	// as before: while a sync runs (interval syncs, Sync calls) it lets go
	// of soloMu before waiting, so that those batches gather every waiting
	// appender; otherwise it keeps soloMu until acknowledged, so that the
	// writer empties its queue and parks, and appends go solo again. Sync
	// calls never take soloMu.
	mapped atomic.Bool
	soloMu sync.Mutex

	retentionMu sync.Mutex // serializes retention calls

	free struct { // completed requests for reuse (getRequest)
		sync.Mutex
		reqs []*appendRequest
	}

	mu struct {
		sync.Mutex
		released      sync.Cond // broadcast when a held segment's refs drop to zero
		closed        bool
		writeErr      error // sticky, wraps ErrWriteFailed
		segments      []*segment
		nextSeq       uint64
		lastTimestamp int64
		queue         []*appendRequest
		writerRunning bool
		// Inline writes (SyncNever, SyncInterval; see submit): while the
		// writer goroutine is parked in waitForWork with nothing pending,
		// an appender may take over the writer state and write itself.
		writerParked    bool          // the writer goroutine waits for work; l.w is free
		parkedSyncArmed bool          // it waits with an interval-sync timer armed
		inlineActive    bool          // an appender owns l.w (inline leader)
		inlineWrites    uint64        // inline batches written since Open
		soloWrites      uint64        // of which by solo appenders (soloMu)
		syncRunning     bool          // an fdatasync of the writer's runs (w.inflight)
		writerSettled   sync.Cond     // signalled when writerBusyLocked may turn false
		parks           uint64        // times the writer parked in waitForWork (tests)
		inlineDone      sync.Cond     // signalled when inlineActive clears
		commitCh        chan struct{} // closed on the next commit; nil if nobody waits
		sweepArmed      bool
		sweepTimer      *time.Timer
		stats           Stats
	}
}

// Open opens or creates the log in dir (created if missing), recovering
// the tail of the active segment. Sequence numbers start at 1.
func Open(dir string, opts *Options) (*Log, error) {
	o := opts.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	l := &Log{
		dir:           dir,
		opts:          o,
		fs:            o.FS,
		logger:        o.Logger,
		maxFrameBytes: int(min(o.SegmentSizeBytes-segmentHeaderSize, maxFrameSizeBytes)),
		wake:          make(chan struct{}, 1),
		syncReq:       make(chan vfs.File, 1),
		syncDone:      make(chan error, 1),
	}
	l.mu.released.L = &l.mu.Mutex
	l.mu.inlineDone.L = &l.mu.Mutex
	l.mu.writerSettled.L = &l.mu.Mutex
	if err := l.load(); err != nil {
		l.releaseAllResources()
		return nil, err
	}
	return l, nil
}

// FirstSeq returns the first retained record's Seq (== NextSeq() when empty).
func (l *Log) FirstSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.segments[0].firstSeq
}

// NextSeq returns the Seq the next appended record will get; every record
// below it is readable.
func (l *Log) NextSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.nextSeq
}

// LastTimestamp returns the timestamp of the last committed record, 0 if none.
func (l *Log) LastTimestamp() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.lastTimestamp
}

// Stats returns a snapshot of the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.mu.stats
	s.Segments = len(l.mu.segments)
	s.FirstSeq = l.mu.segments[0].firstSeq
	s.NextSeq = l.mu.nextSeq
	s.WriterRunning = l.mu.writerRunning
	s.PageDrops = l.pageDrops.Load()
	for _, seg := range l.mu.segments {
		s.SizeBytes += seg.sizeBytes
		if seg.mapping != nil {
			s.MappedSegments++
		}
	}
	return s
}

// Wait blocks until NextSeq() > seq, ctx is done (returns ctx.Err()), or
// the log is closed (ErrClosed).
func (l *Log) Wait(ctx context.Context, seq uint64) error {
	for {
		l.mu.Lock()
		if l.mu.nextSeq > seq {
			l.mu.Unlock()
			return nil
		}
		if l.mu.closed {
			l.mu.Unlock()
			return ErrClosed
		}
		if l.mu.commitCh == nil {
			l.mu.commitCh = make(chan struct{})
		}
		ch := l.mu.commitCh
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyCommitLocked wakes every Wait call.
func (l *Log) notifyCommitLocked() {
	if l.mu.commitCh != nil {
		close(l.mu.commitCh)
		l.mu.commitCh = nil
	}
}

// Sync makes every acknowledged record durable, whatever the SyncPolicy.
func (l *Log) Sync() error {
	_, err := l.submit(nil, true)
	return err
}

// Close waits for queued appends, syncs, and releases every file handle,
// mmap and goroutine. Reads in progress finish first. If a write or sync
// failed since Open (the log is poisoned), Close still releases everything
// and returns that error (wrapping ErrWriteFailed): under SyncInterval and
// SyncNever it may be the only report that acknowledged records were not
// made durable.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.mu.closed = true
	l.mu.writerSettled.Broadcast()
	l.notifyCommitLocked()
	if l.mu.writerRunning {
		l.nudgeWriter()
	}
	l.mu.Unlock()
	l.writerWG.Wait()
	l.mu.Lock()
	writeErr := l.mu.writeErr
	l.mu.Unlock()
	err := errors.Join(writeErr, l.w.release(writeErr != nil))
	l.mu.Lock()
	for l.heldSegmentsLocked() {
		l.mu.released.Wait()
	}
	if l.mu.sweepTimer != nil {
		l.mu.sweepTimer.Stop()
	}
	l.mu.Unlock()
	return errors.Join(err, l.releaseAllResources())
}

// heldSegmentsLocked reports whether a reader still holds a segment.
func (l *Log) heldSegmentsLocked() bool {
	for _, seg := range l.mu.segments {
		if seg.refs > 0 {
			return true
		}
	}
	return false
}

// releaseAllResources unmaps and closes every segment's read resources.
func (l *Log) releaseAllResources() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, seg := range l.mu.segments {
		errs = append(errs, seg.releaseLocked())
	}
	return errors.Join(errs...)
}

// releaseLocked drops the segment's mmap and read handle.
func (s *segment) releaseLocked() error {
	var errs []error
	if s.mapping != nil {
		errs = append(errs, munmap(s.mapping))
		s.mapping = nil
	}
	if s.readFile != nil {
		errs = append(errs, s.readFile.Close())
		s.readFile = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("segment: releasing %s: %w", s.path, err)
	}
	return nil
}

// segmentIndexLocked returns the index of the segment holding seq, which
// must be within [FirstSeq, NextSeq).
func (l *Log) segmentIndexLocked(seq uint64) int {
	segs := l.mu.segments
	return sort.Search(len(segs), func(i int) bool { return segs[i].firstSeq > seq }) - 1
}

// segmentEndLocked returns the Seq after the last committed record of the
// i-th segment.
func (l *Log) segmentEndLocked(i int) uint64 {
	if i+1 < len(l.mu.segments) {
		return l.mu.segments[i+1].firstSeq
	}
	return l.mu.nextSeq
}

// segmentLastTimestampLocked returns the timestamp of the last record of
// the i-th segment (its base timestamp if it has none).
func (l *Log) segmentLastTimestampLocked(i int) int64 {
	if i+1 < len(l.mu.segments) {
		return l.mu.segments[i+1].baseTimestamp
	}
	return l.mu.lastTimestamp
}

// syncDir fsyncs a directory so that creates, renames and removes in it
// are durable.
func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("segment: opening directory %s: %w", dir, err)
	}
	err = d.Sync()
	if closeErr := d.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("segment: syncing directory %s: %w", dir, err)
	}
	return nil
}
