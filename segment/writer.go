package segment

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// appendRequest is one Append (or Sync) call waiting for the writer.
type appendRequest struct {
	entries   []Entry // borrowed from the caller, who blocks until done
	sizeBytes int64   // encoded frame bytes
	forceSync bool    // make everything written so far durable (Sync)
	firstSeq  uint64
	err       error
	done      chan struct{} // capacity 1; one send per submission
}

var requestPool = sync.Pool{New: func() any {
	return &appendRequest{done: make(chan struct{}, 1)}
}}

// writer is the state of the writer goroutine. At most one writer
// goroutine exists per Log; it is started on demand and exits when idle.
// Between goroutines (and after Close) the state is handed over under
// Log.mu, which orders the accesses.
type writer struct {
	file              vfs.File // active segment opened for writing; nil when idle
	seg               *segment // active segment
	sizeBytes         int64    // bytes written to the active segment
	nextSeq           uint64
	lastTimestamp     int64
	lastIndexOffset   int64 // offset of the last sparse index point
	unsynced          bool  // bytes written but not yet synced
	unsyncedSince     time.Time
	buf               []byte
	pendingIndex      []indexEntry
	spare             []*appendRequest // recycled queue slice
	lastBatchRequests int              // requests in the previous batch
	idleTimer         *time.Timer
}

// Append appends entries atomically-in-order and returns the Seq of the
// first one (the rest follow densely). Concurrent calls are group-committed:
// one write and one fdatasync for many callers. It returns when the batch
// is durable per the SyncPolicy. Entries' slices are not retained.
func (l *Log) Append(entries []Entry) (firstSeq uint64, err error) {
	if len(entries) == 0 {
		return l.NextSeq(), nil
	}
	return l.submit(entries, false)
}

// checkEntries validates the sizes of entries and returns their encoded size.
func (l *Log) checkEntries(entries []Entry) (int64, error) {
	var total int64
	for i := range entries {
		e := &entries[i]
		if len(e.Key) > maxKeySizeBytes {
			return 0, fmt.Errorf("%w: key of entry %d is %d bytes (max %d)", ErrTooLarge, i, len(e.Key), maxKeySizeBytes)
		}
		size := int64(frameHeaderSize) + int64(len(e.Key)) + int64(len(e.Payload))
		if size > int64(l.maxFrameBytes) {
			return 0, fmt.Errorf("%w: entry %d frame is %d bytes (max %d)", ErrTooLarge, i, size, l.maxFrameBytes)
		}
		total += int64(alignFrame(int(size)))
	}
	if total > maxAppendBytes {
		return 0, fmt.Errorf("%w: one Append of %d bytes (max %d)", ErrTooLarge, total, maxAppendBytes)
	}
	return total, nil
}

// submit queues a request for the writer and waits for its outcome.
func (l *Log) submit(entries []Entry, forceSync bool) (uint64, error) {
	size, err := l.checkEntries(entries)
	if err != nil {
		return 0, err
	}
	r := requestPool.Get().(*appendRequest)
	r.entries, r.sizeBytes, r.forceSync = entries, size, forceSync
	l.mu.Lock()
	if err := l.refuseLocked(); err != nil {
		l.mu.Unlock()
		r.entries = nil
		requestPool.Put(r)
		return 0, err
	}
	l.mu.queue = append(l.mu.queue, r)
	if !l.mu.writerRunning {
		l.mu.writerRunning = true
		l.writerWG.Add(1)
		go l.runWriter()
	} else if len(l.mu.queue) == 1 {
		l.nudgeWriter()
	}
	l.mu.Unlock()
	<-r.done
	firstSeq, err := r.firstSeq, r.err
	*r = appendRequest{done: r.done}
	requestPool.Put(r)
	return firstSeq, err
}

// refuseLocked returns why the log accepts no writes, or nil.
func (l *Log) refuseLocked() error {
	if l.mu.closed {
		return ErrClosed
	}
	return l.mu.writeErr
}

// nudgeWriter wakes the writer goroutine if it waits for work.
func (l *Log) nudgeWriter() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// runWriter is the writer goroutine: it takes every queued request as one
// batch, writes and syncs it, acknowledges it, and repeats until idle.
func (l *Log) runWriter() {
	defer l.writerWG.Done()
	for {
		reqs, ok := l.nextBatch()
		if !ok {
			return
		}
		l.commit(reqs)
		l.w.lastBatchRequests = len(reqs)
		clear(reqs)
		l.w.spare = reqs[:0]
	}
}

// nextBatch waits for queued requests. It returns false when the writer
// should exit: the log is closed and drained, or it stayed idle for
// IdleTimeout (then the active file handle is released first).
func (l *Log) nextBatch() ([]*appendRequest, bool) {
	for {
		l.mu.Lock()
		l.coalesceLocked()
		if len(l.mu.queue) > 0 {
			reqs := l.mu.queue
			l.mu.queue = l.w.spare
			l.w.spare = nil
			l.mu.Unlock()
			return reqs, true
		}
		if l.mu.closed {
			l.mu.writerRunning = false
			l.mu.Unlock()
			return nil, false
		}
		l.mu.Unlock()
		if l.waitForWork() {
			continue
		}
		if l.exitIfIdle() {
			return nil, false
		}
	}
}

// coalesceYieldsMax bounds how often the writer yields to let appenders it
// just acknowledged queue their next request (see coalesceLocked).
const coalesceYieldsMax = 4

// coalesceLocked grows the next batch: appenders woken by the previous
// acknowledgement are runnable but may not have queued yet, and taking the
// queue without them would make batches alternate between large and small
// (halving group-commit throughput). Yielding the processor a few times is
// cheap next to a write or an fdatasync, and a lone appender that does not
// come back costs only those few yields.
func (l *Log) coalesceLocked() {
	for i := 0; i < coalesceYieldsMax && len(l.mu.queue) < l.w.lastBatchRequests; i++ {
		l.mu.Unlock()
		runtime.Gosched()
		l.mu.Lock()
	}
}

// exitIfIdle releases the active file handle and marks the writer stopped
// unless work arrived meanwhile.
func (l *Log) exitIfIdle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.mu.queue) > 0 || l.mu.closed {
		return false
	}
	if err := l.w.release(l.mu.writeErr != nil); err != nil {
		l.poisonLocked(err)
	}
	l.mu.writerRunning = false
	return true
}

// waitForWork blocks until a nudge (true), a due interval sync (true) or
// the idle timeout (false).
func (l *Log) waitForWork() bool {
	w := &l.w
	if w.idleTimer == nil {
		w.idleTimer = time.NewTimer(l.opts.IdleTimeout)
	} else {
		w.idleTimer.Reset(l.opts.IdleTimeout)
	}
	var syncC <-chan time.Time
	if w.unsynced && l.opts.Sync.Mode == SyncInterval {
		syncTimer := time.NewTimer(time.Until(w.unsyncedSince.Add(l.opts.Sync.Interval)))
		defer syncTimer.Stop()
		syncC = syncTimer.C
	}
	select {
	case <-l.wake:
		return true
	case <-syncC:
		l.backgroundSync()
		return true
	case <-w.idleTimer.C:
		return false
	}
}

// backgroundSync syncs unsynced data under SyncInterval.
func (l *Log) backgroundSync() {
	if !l.w.unsynced || l.w.file == nil {
		return
	}
	err := l.w.file.SyncData()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.stats.Syncs++
	if err != nil {
		l.poisonLocked(fmt.Errorf("syncing %s: %w", l.w.seg.path, err))
		return
	}
	l.w.unsynced = false
}

// poisonLocked makes the log refuse writes until reopened.
func (l *Log) poisonLocked(err error) {
	if l.mu.writeErr != nil {
		return
	}
	l.mu.writeErr = fmt.Errorf("%w: %w", ErrWriteFailed, err)
	l.logger.Error("segment: write failed; log refuses writes until reopened",
		"dir", l.dir, "err", err)
}

// poison is poisonLocked for callers without the lock.
func (l *Log) poison(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.poisonLocked(err)
	return l.mu.writeErr
}

// ack completes requests with err.
func ack(reqs []*appendRequest, err error) {
	for _, r := range reqs {
		r.err = err
		r.done <- struct{}{}
	}
}

// commit writes one batch of requests, rolling segments between requests
// as needed, and acknowledges every request.
func (l *Log) commit(reqs []*appendRequest) {
	l.mu.Lock()
	err := l.mu.writeErr
	l.mu.Unlock()
	if err == nil {
		err = l.w.open(l)
	}
	if err != nil {
		ack(reqs, l.poison(err))
		return
	}
	start, forceSync := 0, false
	for i, r := range reqs {
		if l.w.needsRoll(r.sizeBytes, l.opts.SegmentSizeBytes) {
			if err := l.flush(reqs[start:i], forceSync); err != nil {
				ack(reqs[i:], err)
				return
			}
			start, forceSync = i, false
			if err := l.roll(); err != nil {
				ack(reqs[i:], l.poison(err))
				return
			}
		}
		l.w.encode(r, int64(l.opts.IndexIntervalBytes))
		forceSync = forceSync || r.forceSync
	}
	// flush acknowledges reqs[start:] itself, errors included.
	_ = l.flush(reqs[start:], forceSync)
}

// flush writes the encoded batch with one write, syncs it per policy,
// publishes it to readers and acknowledges reqs. Any failure poisons the
// log and fails reqs.
func (l *Log) flush(reqs []*appendRequest, forceSync bool) error {
	w := &l.w
	n := len(w.buf)
	if n > 0 {
		if _, err := w.file.WriteAt(w.buf, w.sizeBytes); err != nil {
			err = l.poison(fmt.Errorf("writing %s at %d: %w", w.seg.path, w.sizeBytes, err))
			ack(reqs, err)
			return err
		}
		w.sizeBytes += int64(n)
		w.markUnsynced()
	}
	synced := false
	if w.unsynced && (forceSync || l.syncDue()) {
		if err := w.file.SyncData(); err != nil {
			err = l.poison(fmt.Errorf("syncing %s: %w", w.seg.path, err))
			ack(reqs, err)
			return err
		}
		w.unsynced, synced = false, true
	}
	l.publish(reqs, n, synced)
	w.buf, w.pendingIndex = w.buf[:0], w.pendingIndex[:0]
	ack(reqs, nil)
	return nil
}

// markUnsynced records that written bytes await a sync.
func (w *writer) markUnsynced() {
	if !w.unsynced {
		w.unsynced = true
		w.unsyncedSince = time.Now()
	}
}

// syncDue says whether the policy requires a sync before acknowledging.
func (l *Log) syncDue() bool {
	switch l.opts.Sync.Mode {
	case SyncAlways:
		return true
	case SyncInterval:
		return time.Since(l.w.unsyncedSince) >= l.opts.Sync.Interval
	}
	return false
}

// publish makes the flushed batch visible to readers and waiters.
func (l *Log) publish(reqs []*appendRequest, bytesWritten int, synced bool) {
	w := &l.w
	l.mu.Lock()
	defer l.mu.Unlock()
	w.seg.sizeBytes = w.sizeBytes
	w.seg.index = append(w.seg.index, w.pendingIndex...)
	s := &l.mu.stats
	for _, r := range reqs {
		if r.entries != nil {
			s.Appends++
			s.Records += uint64(len(r.entries))
		}
	}
	if bytesWritten > 0 {
		s.Batches++
		s.BytesWritten += int64(bytesWritten)
	}
	if synced {
		s.Syncs++
	}
	if l.mu.nextSeq != w.nextSeq {
		l.mu.nextSeq = w.nextSeq
		l.mu.lastTimestamp = w.lastTimestamp
		l.notifyCommitLocked()
	}
}

// encode appends r's frames to the batch buffer, assigning sequence
// numbers and clamped timestamps, and collects sparse index points.
func (w *writer) encode(r *appendRequest, indexIntervalBytes int64) {
	r.firstSeq = w.nextSeq
	for i := range r.entries {
		e := &r.entries[i]
		ts := max(e.Timestamp, w.lastTimestamp)
		offset := w.sizeBytes + int64(len(w.buf))
		if offset-w.lastIndexOffset >= indexIntervalBytes {
			w.pendingIndex = append(w.pendingIndex, indexEntry{
				offset:    uint32(offset),
				seqDelta:  uint32(w.nextSeq - w.seg.firstSeq),
				timestamp: ts,
			})
			w.lastIndexOffset = offset
		}
		w.buf = appendFrame(w.buf, w.nextSeq, ts, e)
		w.nextSeq++
		w.lastTimestamp = ts
	}
}

// needsRoll says whether a request of sizeBytes must go to a new segment.
func (w *writer) needsRoll(sizeBytes, segmentSizeBytes int64) bool {
	used := w.sizeBytes + int64(len(w.buf))
	return used > segmentHeaderSize && used+sizeBytes > segmentSizeBytes
}

// open opens the active segment for writing if the writer was idle.
func (w *writer) open(l *Log) error {
	if w.file != nil {
		return nil
	}
	f, err := l.fs.OpenReadWrite(w.seg.path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("opening %s for writing: %w", w.seg.path, err)
	}
	w.file = f
	return nil
}

// release syncs and closes the active file handle. After a write failure
// (poisoned) it only closes: a failed fsync is never retried. Callers hold
// Log.mu or own the writer state exclusively.
func (w *writer) release(poisoned bool) error {
	if w.file == nil {
		return nil
	}
	var err error
	if w.unsynced && !poisoned {
		err = w.file.SyncData()
		w.unsynced = false
		if err != nil {
			err = fmt.Errorf("syncing %s: %w", w.seg.path, err)
		}
	}
	if closeErr := w.file.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("closing %s: %w", w.seg.path, closeErr)
	}
	w.file = nil
	if w.idleTimer != nil {
		w.idleTimer.Stop()
	}
	return err
}

// roll seals the active segment (syncing it) and starts a new one.
func (l *Log) roll() error {
	w := &l.w
	if w.unsynced {
		if err := w.file.SyncData(); err != nil {
			return fmt.Errorf("syncing %s before roll: %w", w.seg.path, err)
		}
		w.unsynced = false
	}
	if err := w.file.Close(); err != nil {
		w.file = nil
		return fmt.Errorf("closing %s: %w", w.seg.path, err)
	}
	w.file = nil
	seg, f, err := createSegment(l.fs, l.dir, segmentHeader{firstSeq: w.nextSeq, baseTimestamp: w.lastTimestamp})
	if err != nil {
		return err
	}
	old := w.seg
	w.file, w.seg = f, seg
	w.sizeBytes, w.lastIndexOffset = segmentHeaderSize, segmentHeaderSize
	l.mu.Lock()
	defer l.mu.Unlock()
	old.sealed = true
	l.mu.segments = append(l.mu.segments, seg)
	l.mu.stats.Rolls++
	l.mu.stats.Syncs++
	return nil
}

// createSegment creates a segment file durably: header written and synced
// under a temporary name, renamed into place, directory synced. A crash
// leaves either no segment or a complete header.
func createSegment(fs vfs.FS, dir string, h segmentHeader) (*segment, vfs.File, error) {
	path := fs.PathJoin(dir, segmentName(h.firstSeq))
	tmpPath := path + tmpSuffix
	f, err := fs.Create(tmpPath, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, nil, fmt.Errorf("creating %s: %w", tmpPath, err)
	}
	err = writeAndSync(f, appendSegmentHeader(nil, h))
	if err == nil {
		err = fs.Rename(tmpPath, path)
	}
	if err == nil {
		err = syncDir(fs, dir)
	}
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("creating segment %s: %w", path, err), f.Close())
	}
	seg := &segment{
		firstSeq:      h.firstSeq,
		baseTimestamp: h.baseTimestamp,
		path:          path,
		sizeBytes:     segmentHeaderSize,
		indexed:       true,
	}
	return seg, f, nil
}

// writeAndSync writes b at offset 0 and syncs the file.
func writeAndSync(f vfs.File, b []byte) error {
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync()
}
