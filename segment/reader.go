package segment

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// readAheadBytes is how much a ReadAt-based reader fetches at once.
const readAheadBytes = 64 << 10

// segmentView is one segment held (refcounted) by a reader, with a
// snapshot of its committed extent.
type segmentView struct {
	seg       *segment
	endSeq    uint64 // Seq after the last committed record of seg
	endOffset int64  // committed bytes of seg
}

// source returns frames of one segment: slices of the mmap, or of a
// read-ahead buffer filled with ReadAt.
type source struct {
	mapped []byte
	file   vfs.File
	buf    []byte
	bufOff int64
	bufLen int
	limit  int64
}

// reset points the source at a segment's bytes.
func (s *source) reset(mapped []byte, file vfs.File, limit int64) {
	s.mapped, s.file, s.limit = mapped, file, limit
	s.bufOff, s.bufLen = 0, 0
}

// frame returns bytes starting at off that hold the whole frame there if
// it ends before the limit; decodeFrame reports anything shorter.
func (s *source) frame(off int64) ([]byte, error) {
	if s.mapped != nil {
		return s.mapped[off:s.limit], nil
	}
	b, err := s.window(off, frameHeaderSize)
	if err != nil {
		return nil, err
	}
	if size := peekFrameSize(b); size > len(b) {
		return s.window(off, size)
	}
	return b, nil
}

// window returns buffered bytes from off, at least n of them unless the
// limit comes first.
func (s *source) window(off int64, n int) ([]byte, error) {
	if off >= s.bufOff && off+int64(n) <= s.bufOff+int64(s.bufLen) {
		return s.buf[off-s.bufOff : s.bufLen], nil
	}
	want := int(min(int64(max(n, readAheadBytes)), s.limit-off))
	if want > cap(s.buf) {
		s.buf = make([]byte, want)
	}
	got, err := s.file.ReadAt(s.buf[:want], off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("segment: reading at %d: %w", off, err)
	}
	s.bufOff, s.bufLen = off, got
	return s.buf[:got], nil
}

// reader is the per-Read scratch state, pooled so that reading allocates
// nothing per record.
type reader struct {
	rec Record
	src source
}

var readerPool = sync.Pool{New: func() any { return &reader{} }}

// frameIter walks the frames of one held segment, verifying each.
type frameIter struct {
	l   *Log
	v   *segmentView
	src *source
	off int64
	seq uint64
	rec *Record
}

// next decodes the frame for it.seq into it.rec. It returns false at the
// end of the committed records of the segment.
func (it *frameIter) next() (bool, error) {
	if it.seq >= it.v.endSeq {
		return false, nil
	}
	b, err := it.src.frame(it.off)
	if err != nil {
		return false, err
	}
	n, status := decodeFrame(b, it.rec)
	if status == frameOK && it.rec.Seq == it.seq {
		it.off += int64(n)
		it.seq++
		return true, nil
	}
	reason := status.String()
	if status == frameOK {
		reason = fmt.Sprintf("frame has seq %d, want %d", it.rec.Seq, it.seq)
	}
	return false, it.l.corruption(&CorruptionError{Path: it.v.seg.path, Offset: it.off,
		End: it.v.endOffset, Reason: reason})
}

// readLimits tracks Read's record and byte budgets.
type readLimits struct {
	maxRecords, maxBytes int
	records, bytes       int
}

// admit says whether a record of size bytes may still be delivered.
func (r *readLimits) admit(size int) bool {
	if r.maxRecords > 0 && r.records >= r.maxRecords {
		return false
	}
	return r.maxBytes <= 0 || r.records == 0 || r.bytes+size <= r.maxBytes
}

// Read calls fn for committed records with Seq >= from (from FirstSeq() if
// from is below it). It stops after maxRecords records (0 = no limit), when
// the key+payload bytes delivered would exceed maxBytes (0 = no limit; at
// least one record is delivered if one exists), at the end of committed
// data, or when fn returns an error (returned as is; ErrStop stops without
// error). It returns the Seq following the last record delivered (== from
// if none). A corrupt range yields an error wrapping ErrCorruption.
func (l *Log) Read(from uint64, maxRecords, maxBytes int, fn func(*Record) error) (next uint64, err error) {
	r := readerPool.Get().(*reader)
	defer func() {
		r.rec = Record{}
		r.src.reset(nil, nil, 0)
		readerPool.Put(r)
	}()
	limits := readLimits{maxRecords: maxRecords, maxBytes: maxBytes}
	next, seq := from, from
	for {
		v, start, err := l.acquire(seq)
		if err != nil || v.seg == nil {
			return next, err
		}
		seq, next, err = l.readSegment(&v, r, start, &limits, next, fn)
		l.releaseView(&v)
		if err != nil || seq < v.endSeq || !limits.admit(0) {
			return next, err
		}
	}
}

// readSegment delivers records of one held segment from seq on. It returns
// the Seq where reading stopped and the updated next.
func (l *Log) readSegment(v *segmentView, r *reader, seq uint64, limits *readLimits,
	next uint64, fn func(*Record) error) (uint64, uint64, error) {
	it, err := l.iterFrom(v, r, seq)
	if err != nil {
		return seq, next, err
	}
	start := it.off
	if r.src.mapped != nil {
		if n := limits.expectedWalk(v.endOffset-start, l.opts.IndexIntervalBytes); n >= populateMinBytes {
			lo := start &^ int64(pageSize-1)
			populate(r.src.mapped[lo:min(start+n, int64(len(r.src.mapped)))])
		}
	}
	seq, next, err = l.deliver(&it, r, seq, limits, next, fn)
	l.dropPages(v.seg, &r.src, it.off-start, it.seq >= v.endSeq)
	return seq, next, err
}

// deliver walks it (decoding into r.rec) from seq on, calling fn, within
// limits. fn gets &r.rec, not it.rec: it must not escape.
func (l *Log) deliver(it *frameIter, r *reader, seq uint64, limits *readLimits,
	next uint64, fn func(*Record) error) (uint64, uint64, error) {
	rec := &r.rec
	for {
		ok, err := it.next()
		if err != nil || !ok {
			return it.seq, next, err
		}
		if rec.Seq < seq {
			continue
		}
		if !limits.admit(len(rec.Key) + len(rec.Payload)) {
			return rec.Seq, next, nil
		}
		limits.records++
		limits.bytes += len(rec.Key) + len(rec.Payload)
		if err := fn(rec); err != nil {
			if errors.Is(err, ErrStop) {
				err = nil
				limits.maxRecords, limits.records = 1, 1
			}
			return rec.Seq + 1, rec.Seq + 1, err
		}
		next = rec.Seq + 1
	}
}

// populateMinBytes is the least a Read must be expected to walk through
// a mapping for it to populate that range up front (see populate): one
// madvise instead of a minor fault per few pages, worth it for large
// reads (GetRecords) but not for a queue's few records.
const populateMinBytes = 256 << 10

// pageSize is the size of a memory page (mappings start on one).
var pageSize = os.Getpagesize()

// expectedWalk estimates how many bytes of a segment (rest of them left
// from the read position) a Read within these limits will walk: the
// remaining byte budget plus an index interval of frames skipped before
// the first record and of frame headers, or everything without limits,
// or 0 (unknown) when only the record count is limited.
func (r *readLimits) expectedWalk(rest int64, indexIntervalBytes int) int64 {
	switch {
	case r.maxBytes > 0:
		return min(rest, int64(max(r.maxBytes-r.bytes, 0))+int64(indexIntervalBytes))
	case r.maxRecords > 0:
		return 0
	default:
		return rest
	}
}

// dropResidentBytes is how far readers walk through a mapped segment
// before its resident pages are dropped. Pages of a mapping that a reader
// touched count in the process's RSS (RssFile) until they are unmapped
// or dropped, so without this, reading a large backlog through the mmaps
// grows RSS towards the data size within IdleTimeout. Dropping costs
// one madvise and, for readers that come back, minor faults from the
// page cache; 1 MiB keeps that to one call per ~256 pages walked.
const dropResidentBytes = 1 << 20

// dropPages accounts walked bytes of a held segment's mapping
// and drops the mapping's resident pages once readers have walked
// dropResidentBytes of it since the last drop, or this reader reached the
// end of the segment (sequential readers leave nothing behind). Borrowed
// slices of the mapping stay valid (see dropResident); the caller must
// still hold the segment, so that the mapping is not unmapped meanwhile.
func (l *Log) dropPages(seg *segment, src *source, walked int64, atEnd bool) {
	if src.mapped == nil {
		return
	}
	if seg.walked.Add(walked) < dropResidentBytes && !atEnd {
		return
	}
	seg.walked.Store(0)
	l.pageDrops.Add(1)
	if err := dropResident(src.mapped); err != nil {
		// Only the resident set stays larger; reads are unaffected.
		l.logger.Warn("segment: dropping resident pages", "path", seg.path, "err", err)
	}
}

// iterFrom prepares an iterator positioned at or shortly before seq, using
// the sparse index.
func (l *Log) iterFrom(v *segmentView, r *reader, seq uint64) (frameIter, error) {
	if err := l.openSource(v, &r.src); err != nil {
		return frameIter{}, err
	}
	it := frameIter{l: l, v: v, src: &r.src, off: segmentHeaderSize, seq: v.seg.firstSeq, rec: &r.rec}
	if seq <= v.seg.firstSeq {
		return it, nil
	}
	index, err := l.segmentIndex(v, &r.src)
	if err != nil {
		return frameIter{}, err
	}
	delta := seq - v.seg.firstSeq
	i := sort.Search(len(index), func(i int) bool { return uint64(index[i].seqDelta) > delta }) - 1
	if i >= 0 {
		it.off, it.seq = int64(index[i].offset), v.seg.firstSeq+uint64(index[i].seqDelta)
	}
	return it, nil
}

// SeekTimestamp returns the smallest Seq whose Timestamp >= ts, or
// NextSeq() if none. The cost is an index lookup plus a scan of at most
// about IndexIntervalBytes.
func (l *Log) SeekTimestamp(ts int64) (uint64, error) {
	v, nextSeq, err := l.acquireForTimestamp(ts)
	if err != nil || v.seg == nil {
		return nextSeq, err
	}
	defer l.releaseView(&v)
	r := readerPool.Get().(*reader)
	defer func() {
		r.rec = Record{}
		r.src.reset(nil, nil, 0)
		readerPool.Put(r)
	}()
	it, err := l.iterFromTimestamp(&v, r, ts)
	if err != nil {
		return 0, err
	}
	for {
		ok, err := it.next()
		if err != nil {
			return 0, err
		}
		if !ok {
			return it.seq, nil
		}
		if r.rec.Timestamp >= ts {
			return r.rec.Seq, nil
		}
	}
}

// iterFromTimestamp positions an iterator after the last index point with
// a timestamp below ts.
func (l *Log) iterFromTimestamp(v *segmentView, r *reader, ts int64) (frameIter, error) {
	if err := l.openSource(v, &r.src); err != nil {
		return frameIter{}, err
	}
	it := frameIter{l: l, v: v, src: &r.src, off: segmentHeaderSize, seq: v.seg.firstSeq, rec: &r.rec}
	index, err := l.segmentIndex(v, &r.src)
	if err != nil {
		return frameIter{}, err
	}
	i := sort.Search(len(index), func(i int) bool { return index[i].timestamp >= ts }) - 1
	if i >= 0 {
		it.off, it.seq = int64(index[i].offset), v.seg.firstSeq+uint64(index[i].seqDelta)
	}
	return it, nil
}

// acquireForTimestamp holds the first segment whose last record has a
// timestamp >= ts. With none, it returns NextSeq().
func (l *Log) acquireForTimestamp(ts int64) (segmentView, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return segmentView{}, 0, ErrClosed
	}
	segs := l.mu.segments
	i := sort.Search(len(segs), func(i int) bool { return l.segmentLastTimestampLocked(i) >= ts })
	if i == len(segs) || l.segmentEndLocked(i) == segs[i].firstSeq {
		return segmentView{}, l.mu.nextSeq, nil
	}
	return l.holdLocked(i), 0, nil
}

// acquire holds the segment containing seq (raised to FirstSeq). It returns
// a zero view when seq is at or past NextSeq.
func (l *Log) acquire(seq uint64) (segmentView, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return segmentView{}, seq, ErrClosed
	}
	seq = max(seq, l.mu.segments[0].firstSeq)
	if seq >= l.mu.nextSeq {
		return segmentView{}, seq, nil
	}
	return l.holdLocked(l.segmentIndexLocked(seq)), seq, nil
}

// holdLocked takes a reference on the i-th segment.
func (l *Log) holdLocked(i int) segmentView {
	seg := l.mu.segments[i]
	seg.refs++
	return segmentView{seg: seg, endSeq: l.segmentEndLocked(i), endOffset: seg.sizeBytes}
}

// releaseView drops a reference taken by holdLocked.
func (l *Log) releaseView(v *segmentView) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v.seg.refs--
	v.seg.lastUsed = time.Now()
	if v.seg.refs == 0 {
		l.mu.released.Broadcast()
	}
}

// openSource maps the segment (sealed, real descriptor) or opens a shared
// read handle, and points src at it.
func (l *Log) openSource(v *segmentView, src *source) error {
	seg := v.seg
	l.mu.Lock()
	mapped, file := seg.mapping, seg.readFile
	l.mu.Unlock()
	if mapped == nil && file == nil {
		var err error
		if mapped, file, err = l.loadSegment(seg); err != nil {
			return err
		}
	}
	src.reset(mapped, file, v.endOffset)
	return nil
}

// loadSegment opens a segment for reading once: sealed segments on a real
// descriptor are mmapped (and the descriptor closed), others keep a
// read-only handle shared by all readers.
func (l *Log) loadSegment(seg *segment) ([]byte, vfs.File, error) {
	seg.loadMu.Lock()
	defer seg.loadMu.Unlock()
	l.mu.Lock()
	mapped, file, sealed, size := seg.mapping, seg.readFile, seg.sealed, seg.sizeBytes
	l.mu.Unlock()
	if mapped != nil || file != nil {
		return mapped, file, nil
	}
	f, err := l.fs.Open(seg.path)
	if err != nil {
		return nil, nil, fmt.Errorf("segment: opening %s: %w", seg.path, err)
	}
	if sealed {
		if mapped, err = mmapFile(f, size); err != nil {
			return nil, nil, errors.Join(fmt.Errorf("segment: mapping %s: %w", seg.path, err), f.Close())
		}
	}
	if mapped != nil {
		if err := f.Close(); err != nil {
			return nil, nil, errors.Join(fmt.Errorf("segment: closing %s: %w", seg.path, err), munmap(mapped))
		}
		f = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seg.mapping, seg.readFile = mapped, f
	l.armSweepLocked()
	return mapped, f, nil
}

// segmentIndex returns the sparse index of a held segment, building it by
// a verifying scan for a sealed segment found at Open.
func (l *Log) segmentIndex(v *segmentView, src *source) ([]indexEntry, error) {
	seg := v.seg
	l.mu.Lock()
	index, indexed := seg.index, seg.indexed
	l.mu.Unlock()
	if indexed {
		return index, nil
	}
	seg.loadMu.Lock()
	defer seg.loadMu.Unlock()
	l.mu.Lock()
	index, indexed = seg.index, seg.indexed
	l.mu.Unlock()
	if indexed {
		return index, nil
	}
	return l.buildIndex(v, src)
}

// buildIndex scans a whole sealed segment, verifying every frame. A bad
// frame is reported once and recorded; the index then covers the valid
// prefix only, and readers reaching the bad frame get the error.
func (l *Log) buildIndex(v *segmentView, src *source) ([]indexEntry, error) {
	seg := v.seg
	im := fileImage(src.file, v.endOffset)
	if src.mapped != nil {
		im = bytesImage(src.mapped[:min(int64(len(src.mapped)), v.endOffset)])
	}
	h := segmentHeader{firstSeq: seg.firstSeq, baseTimestamp: seg.baseTimestamp}
	res, err := scanFrames(im, h, int64(l.opts.IndexIntervalBytes))
	if err == nil && res.badStatus != frameOK {
		var zero bool
		if zero, _, err = im.zeroFrom(res.validEnd); err == nil && zero {
			res.badStatus, res.badReason = frameOK, "" // preallocated zero tail
		}
	}
	l.dropPages(seg, src, v.endOffset, true) // the scans touched every page
	if err != nil {
		return nil, err
	}
	if res.badStatus == frameOK && res.nextSeq != v.endSeq {
		res.badReason = fmt.Sprintf("segment ends at seq %d, next segment starts at %d", res.nextSeq, v.endSeq)
	}
	if res.badReason != "" {
		_ = l.corruption(&CorruptionError{Path: seg.path, Offset: res.validEnd, End: v.endOffset, Reason: res.badReason})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seg.index, seg.indexed = res.index, true
	return res.index, nil
}

// armSweepLocked schedules the release of idle read resources.
func (l *Log) armSweepLocked() {
	if l.mu.sweepArmed || l.mu.closed {
		return
	}
	l.mu.sweepArmed = true
	if l.mu.sweepTimer == nil {
		l.mu.sweepTimer = time.AfterFunc(l.opts.IdleTimeout, l.sweep)
		return
	}
	l.mu.sweepTimer.Reset(l.opts.IdleTimeout)
}

// sweep unmaps and closes read resources unused for IdleTimeout.
func (l *Log) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.sweepArmed = false
	if l.mu.closed {
		return
	}
	remaining := false
	for _, seg := range l.mu.segments {
		if seg.mapping == nil && seg.readFile == nil {
			continue
		}
		if seg.refs > 0 || time.Since(seg.lastUsed) < l.opts.IdleTimeout {
			remaining = true
			continue
		}
		if err := seg.releaseLocked(); err != nil {
			l.logger.Warn("segment: releasing idle segment", "err", err)
		}
	}
	if remaining {
		l.armSweepLocked()
	}
}
