package segment

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
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

// maxFreeRequests bounds a Log's free list of requests (Log.mu.freeReqs).
const maxFreeRequests = 256

// getRequest takes a request from the log's free list or makes one.
// Requests (and their done channels) are recycled per Log, never through a
// global sync.Pool: a channel made inside a testing/synctest bubble must
// not be used outside it, and a Log belongs to the bubble it is used in.
func (l *Log) getRequest() *appendRequest {
	l.free.Lock()
	defer l.free.Unlock()
	if n := len(l.free.reqs); n > 0 {
		r := l.free.reqs[n-1]
		l.free.reqs[n-1] = nil
		l.free.reqs = l.free.reqs[:n-1]
		return r
	}
	return &appendRequest{done: make(chan struct{}, 1)}
}

// putRequest returns a completed request to the log's free list.
func (l *Log) putRequest(r *appendRequest) {
	*r = appendRequest{done: r.done}
	l.free.Lock()
	defer l.free.Unlock()
	if len(l.free.reqs) < maxFreeRequests {
		l.free.reqs = append(l.free.reqs, r)
	}
}

// Preallocation (SyncAlways only, FORMAT.md "Preallocation"): before a
// write would pass the end of the file, the writer extends the file with
// zeros ahead of the data, so that most fdatasyncs overwrite blocks that
// already exist and need no file-size or block-allocation journal commit.
const (
	// preallocMinBytes: no preallocation until a segment's data reaches
	// this size (or SegmentSizeBytes/8 if smaller), so that the many small,
	// idle logs of a node carry no zero tails.
	preallocMinBytes = 64 << 10
	// preallocMaxBytes caps one extension. An extension is at most the
	// segment's data size, so the zero tail never exceeds the data.
	preallocMaxBytes = 4 << 20
	// preallocAlign rounds extensions to whole pages.
	preallocAlign = 4096
)

// zeroChunk is the source of preallocation writes (never written to).
var zeroChunk [1 << 20]byte

// published is what publishing a written batch makes visible to readers.
type published struct {
	sizeBytes     int64
	nextSeq       uint64
	lastTimestamp int64
	indexLen      int // sparse index points of w.pendingIndex covered
}

// writer is the state of the writer goroutine. At most one writer
// goroutine exists per Log; it is started on demand and exits when idle.
// Between goroutines (and after Close) the state is handed over under
// Log.mu, which orders the accesses.
//
// Under SyncAlways the writer pipelines: while one fdatasync runs (in a
// helper goroutine), it keeps gathering and writing the next batches, and
// acknowledges a batch only when a sync that started after its write
// completes.
type writer struct {
	file            vfs.File // active segment opened for writing; nil when idle
	seg             *segment // active segment
	sizeBytes       int64    // bytes written to the active segment (end of the last frame)
	syncedBytes     int64    // prefix made durable by the last completed sync
	fileBytes       int64    // file size as written: sizeBytes plus any zero tail
	nextSeq         uint64
	lastTimestamp   int64
	lastIndexOffset int64 // offset of the last sparse index point
	unsyncedSince   time.Time
	buf             []byte
	pendingIndex    []indexEntry // index points of written, unpublished frames

	// Mapped writes (wmap.go): the active segment's shared mapping, how far
	// its pages have been dropped from the process, whether mapped writes
	// are off for this segment, and the bytes written through mappings.
	wmap        []byte
	wmapDropped int64
	wmapOff     bool
	mappedBytes int64
	mapped      *atomic.Bool // Log.mapped: wmap is in use

	// Requests written but waiting for a sync before acknowledgement, in
	// order, and what publishing all of them exposes (SyncAlways).
	awaiting      []*appendRequest
	awaitingState published
	// A sync in flight covers the first inflightReqs of awaiting, the
	// bytes below inflightEnd, and publishes inflightState.
	inflight      bool
	inflightReqs  int
	inflightEnd   int64
	inflightState published
	inflightStart time.Time
	syncerRunning bool // the helper goroutine (runSyncer) exists

	spare             []*appendRequest // recycled queue slice
	lastBatchRequests int              // requests acknowledged together last time
	idleTimer         *time.Timer
}

// resetWriter initializes the writer state for the active segment seg,
// whose data ends at sizeBytes and whose file is fileBytes long.
func (l *Log) resetWriter(seg *segment, sizeBytes, fileBytes int64, nextSeq uint64, lastTimestamp, lastIndexOffset int64) {
	l.w = writer{seg: seg, sizeBytes: sizeBytes, syncedBytes: sizeBytes, fileBytes: fileBytes,
		nextSeq: nextSeq, lastTimestamp: lastTimestamp, lastIndexOffset: lastIndexOffset,
		mapped: &l.mapped}
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
	// Solo appends: see soloMu.
	solo := !forceSync && size <= soloMaxBytes && l.mapped.Load()
	if solo {
		l.soloMu.Lock()
	}
	l.mu.Lock()
	for solo && l.writerBusyLocked() {
		l.mu.writerSettled.Wait()
	}
	if err := l.refuseLocked(); err != nil {
		l.mu.Unlock()
		if solo {
			l.soloMu.Unlock()
		}
		return 0, err
	}
	r := l.getRequest()
	r.entries, r.sizeBytes, r.forceSync = entries, size, forceSync
	l.mu.queue = append(l.mu.queue, r)
	switch {
	case !l.mu.writerRunning:
		l.mu.writerRunning = true
		l.writerWG.Add(1)
		go l.runWriter()
		l.mu.Unlock()
	case l.mu.inlineActive:
		// The inline leader takes the queue before it stops (writeInline).
		l.mu.Unlock()
	case l.mu.writerParked && !forceSync && l.opts.Sync.Mode != SyncAlways:
		l.mu.inlineActive = true
		if solo {
			l.mu.soloWrites++
		}
		l.mu.Unlock()
		l.writeInline()
	case l.mu.writerParked && !forceSync:
		l.mu.inlineActive = true
		l.mu.Unlock()
		l.writeSyncInline()
	default:
		if len(l.mu.queue) == 1 {
			l.nudgeWriter()
		}
		if solo && !l.mu.syncRunning {
			l.mu.Unlock()
			<-r.done // holding soloMu: see there
			l.soloMu.Unlock()
			return l.finishRequest(r)
		}
		l.mu.Unlock()
	}
	if solo {
		l.soloMu.Unlock()
	}
	<-r.done
	return l.finishRequest(r)
}

// writerBusyLocked reports whether the writer goroutine is on its way to
// parking, exiting or starting a sync, with nothing queued: a solo
// appender waits for that (writerSettled) rather than queue a lone request
// for it, which would keep it from parking.
func (l *Log) writerBusyLocked() bool {
	return l.mu.writerRunning && !l.mu.writerParked && !l.mu.inlineActive &&
		!l.mu.syncRunning && !l.mu.closed && len(l.mu.queue) == 0
}

// soloMaxBytes is the largest append that goes solo (see Log.soloMu):
// larger ones take long enough to copy that an appender waiting for
// soloMu would park anyway, and gathering them costs nothing extra.
const soloMaxBytes = 16 << 10

// finishRequest returns the outcome of the completed r and recycles r.
func (l *Log) finishRequest(r *appendRequest) (uint64, error) {
	firstSeq, err := r.firstSeq, r.err
	l.putRequest(r)
	return firstSeq, err
}

// inlineRoundsMax bounds how many batches an inline leader writes for
// others before it leaves the rest to the writer goroutine.
const inlineRoundsMax = 4

// writeInline is submit's fast path under SyncNever and SyncInterval: while
// the writer goroutine is parked with nothing pending, the appender that
// finds it so (the caller, which has set inlineActive) takes over the
// writer state and writes the queue itself, saving the hand-off to the
// writer goroutine and back. Appenders arriving meanwhile queue without
// waking the writer, and the leader writes them as the next batch (group
// commit as before, coalesceLocked included), for at most inlineRoundsMax
// batches. Syncs stay with
// the writer goroutine: the leader wakes it when something needs one.
func (l *Log) writeInline() {
	w := &l.w
	l.mu.Lock()
	for round := 0; len(l.mu.queue) > 0 && round < inlineRoundsMax; round++ {
		l.inlineRoundLocked()
	}
	// Wake the writer for what is left: queued requests, Sync calls
	// waiting for a sync, or an interval sync it is not timing yet.
	l.endInlineLocked(len(l.mu.queue) > 0 || len(w.awaiting) > 0 ||
		(l.opts.Sync.Mode == SyncInterval && w.unsynced() && !l.mu.parkedSyncArmed))
	l.mu.Unlock()
}

// inlineRoundLocked is one batch of an inline leader: it takes the queue
// (grown by coalesceLocked) and writes it. l.mu is held on entry and on
// return, and released while writing.
func (l *Log) inlineRoundLocked() {
	w := &l.w
	l.coalesceLocked()
	reqs := l.mu.queue
	l.mu.queue = w.spare
	w.spare = nil
	l.mu.inlineWrites++
	l.mu.Unlock()
	l.commit(reqs)
	clear(reqs)
	w.spare = reqs[:0]
	l.mu.Lock()
}

// endInlineLocked hands the writer state back from an inline leader,
// waking the writer goroutine first if wake.
func (l *Log) endInlineLocked(wake bool) {
	l.mu.inlineActive = false
	if wake {
		l.nudgeWriter()
	}
	l.mu.inlineDone.Broadcast()
}

// writeSyncInline is submit's fast path under SyncAlways: while the writer
// goroutine is parked (nothing written, nothing awaiting a sync), the
// appender that finds it so writes the queue and fdatasyncs it itself, in
// its own goroutine, and acknowledges everyone in the batch. A lone
// request then costs no goroutine hand-off at all (appender → writer →
// syncer → writer → appender before), which on a lightly loaded node is
// most of the CPU of an acknowledged append besides the fdatasync. The
// leader does one round only, since each costs a sync its own caller
// would wait through: what queued during its sync goes to the writer
// goroutine, which pipelines as before.
func (l *Log) writeSyncInline() {
	w := &l.w
	l.mu.Lock()
	l.inlineRoundLocked()
	l.mu.Unlock()
	// No sync is running here: the writer was parked with none, and
	// commit finishes any it starts (a roll drains).
	if len(w.awaiting) > 0 {
		l.syncInline()
	}
	l.mu.Lock()
	l.endInlineLocked(len(l.mu.queue) > 0 || len(w.awaiting) > 0)
	l.mu.Unlock()
}

// syncInline is startSync and finishSync in the calling goroutine: it
// fdatasyncs the active segment and acknowledges every request waiting
// for that (writeSyncInline; no sync may be running).
func (l *Log) syncInline() {
	w := &l.w
	l.mu.Lock()
	started := l.beginSyncLocked()
	l.mu.Unlock()
	if !started {
		return
	}
	var err error
	if w.inflightEnd != w.syncedBytes && w.file != nil {
		err = w.file.SyncData()
	}
	l.finishSync(err)
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

// runWriter is the writer goroutine. It takes every queued request as one
// batch and writes it; under SyncAlways (and for Sync calls) it starts an
// fdatasync in the background and goes on writing later batches while it
// runs, acknowledging each batch when a sync covering it completes. It
// exits when the log is closed and drained, or after IdleTimeout idle.
func (l *Log) runWriter() {
	defer l.writerWG.Done()
	w := &l.w
	for {
		reqs, closed := l.takeQueue()
		if len(reqs) > 0 {
			l.commit(reqs)
			l.maybeStartSync()
			clear(reqs)
			w.spare = reqs[:0]
			continue
		}
		if w.inflight {
			select {
			case err := <-l.syncDone:
				l.finishSync(err)
			case <-l.wake:
			}
			continue
		}
		if len(w.awaiting) > 0 {
			l.startSync()
			continue
		}
		if closed {
			if l.exitIfDrained() {
				return
			}
			continue
		}
		if l.waitForWork() {
			continue
		}
		if l.exitIfIdle() {
			return
		}
	}
}

// pipelineMinBytes is how much must be queued for the writer to write it
// while a SyncAlways fdatasync runs. Smaller batches wait for the sync and
// join the next batch: writing them early saves microseconds but costs a
// write call each, and the next sync would not start earlier anyway.
const pipelineMinBytes = 64 << 10

// takeQueue takes the queued requests and reports whether the log is
// closed. With no sync running it first grows the batch (coalesceLocked);
// with a SyncAlways sync running it takes them only if they are worth
// writing meanwhile: at least pipelineMinBytes that fit in the
// preallocated zero tail (a write that grows the file would slow the
// running sync down).
func (l *Log) takeQueue() ([]*appendRequest, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := &l.w
	switch {
	case !w.inflight:
		l.coalesceLocked()
	case l.opts.Sync.Mode == SyncAlways:
		var queued int64
		for _, r := range l.mu.queue {
			queued += r.sizeBytes
		}
		if queued < pipelineMinBytes || w.sizeBytes+queued > w.fileBytes {
			return nil, l.mu.closed
		}
	}
	if len(l.mu.queue) == 0 {
		return nil, l.mu.closed
	}
	reqs := l.mu.queue
	l.mu.queue = l.w.spare
	l.w.spare = nil
	return reqs, l.mu.closed
}

// exitIfDrained marks the writer stopped if the closed log has no queued
// requests left.
func (l *Log) exitIfDrained() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.mu.queue) > 0 {
		return false
	}
	l.stopSyncer()
	l.mu.writerRunning = false
	l.mu.writerSettled.Broadcast()
	return true
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
	for i := 0; i < coalesceYieldsMax && len(l.mu.queue)+len(l.w.awaiting) < l.w.lastBatchRequests; i++ {
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
	l.stopSyncer()
	l.mu.writerRunning = false
	l.mu.writerSettled.Broadcast()
	return true
}

// waitForWork blocks until a nudge (true), a due interval sync (true) or
// the idle timeout (false; true if inline writes happened meanwhile). While
// it blocks, the writer is parked: appenders may write inline
// (writeInline); it takes the writer state back when they are done.
func (l *Log) waitForWork() bool {
	w := &l.w
	if w.idleTimer == nil {
		w.idleTimer = time.NewTimer(l.opts.IdleTimeout)
	} else {
		w.idleTimer.Reset(l.opts.IdleTimeout)
	}
	var syncC <-chan time.Time
	l.mu.Lock()
	// A poisoned log starts no sync (beginSyncLocked): arming the timer
	// would wake the writer at once, again and again.
	if w.unsynced() && w.file != nil && l.opts.Sync.Mode == SyncInterval && l.mu.writeErr == nil {
		syncTimer := time.NewTimer(time.Until(w.unsyncedSince.Add(l.opts.Sync.Interval)))
		defer syncTimer.Stop()
		syncC = syncTimer.C
	}
	l.mu.parks++
	l.mu.writerParked = true
	l.mu.parkedSyncArmed = syncC != nil
	l.mu.writerSettled.Broadcast()
	inlineWrites := l.mu.inlineWrites
	l.mu.Unlock()
	var syncDue, idle bool
	select {
	case <-l.wake:
	case <-syncC:
		syncDue = true
	case <-w.idleTimer.C:
		idle = true
	}
	l.mu.Lock()
	l.mu.writerParked = false
	for l.mu.inlineActive {
		l.mu.inlineDone.Wait()
	}
	busy := l.mu.inlineWrites != inlineWrites
	l.mu.Unlock()
	if syncDue {
		l.startSync()
	}
	return !idle || busy
}

// unsynced says whether written bytes await a sync.
func (w *writer) unsynced() bool { return w.sizeBytes > w.syncedBytes }

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

// countAckedLocked adds acknowledged requests to the stats.
func (l *Log) countAckedLocked(reqs []*appendRequest) {
	s := &l.mu.stats
	for _, r := range reqs {
		if r.entries != nil {
			s.Appends++
			s.Records += uint64(len(r.entries))
		}
	}
}

// failAwaiting fails every request written but not yet covered by a
// running sync: after a failure no sync is started again.
func (l *Log) failAwaiting(err error) {
	w := &l.w
	rest := w.awaiting[w.inflightReqs:]
	ack(rest, err)
	clear(rest)
	w.awaiting = w.awaiting[:w.inflightReqs]
}

// commit writes one batch of requests, rolling segments between requests
// as needed. Requests that need no sync are acknowledged; the others wait
// in w.awaiting for a sync.
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
	start := 0
	for i, r := range reqs {
		if l.w.needsRoll(r.sizeBytes, l.opts.SegmentSizeBytes) {
			if err := l.writeBatch(reqs[start:i]); err != nil {
				ack(reqs[i:], err)
				return
			}
			start = i
			if err := l.roll(); err != nil {
				ack(reqs[i:], l.poison(err))
				return
			}
		}
		l.w.encode(r, int64(l.opts.IndexIntervalBytes))
	}
	// writeBatch acknowledges or queues reqs[start:] itself, errors included.
	_ = l.writeBatch(reqs[start:])
}

// writeBatch writes the encoded batch with one write (after extending the
// preallocated zero tail if needed). Under SyncAlways the requests then
// wait for a sync; otherwise the batch is published and acknowledged now,
// except Sync calls, which wait for a sync. Any failure poisons the log
// and fails reqs and everything waiting for a sync not yet started.
func (l *Log) writeBatch(reqs []*appendRequest) error {
	w := &l.w
	n := len(w.buf)
	if n > 0 && w.inflight && l.opts.Sync.Mode == SyncAlways && w.sizeBytes+int64(n) > w.fileBytes {
		// A write that grows the file changes metadata that the running
		// fdatasync must commit too, which slows it down several times:
		// let the sync finish first.
		l.finishSync(<-l.syncDone)
		l.mu.Lock()
		err := l.mu.writeErr
		l.mu.Unlock()
		if err != nil {
			ack(reqs, err)
			w.buf, w.pendingIndex = w.buf[:0], w.pendingIndex[:0]
			return err
		}
	}
	if n > 0 {
		if err := l.preallocate(w.sizeBytes + int64(n)); err != nil {
			return l.failBatch(reqs, err)
		}
		if err := l.writeFrames(w.buf); err != nil {
			return l.failBatch(reqs, err)
		}
		if !w.unsynced() {
			w.unsyncedSince = time.Now()
		}
		w.sizeBytes += int64(n)
		w.fileBytes = max(w.fileBytes, w.sizeBytes)
	}
	w.buf = w.buf[:0]
	state := published{sizeBytes: w.sizeBytes, nextSeq: w.nextSeq, lastTimestamp: w.lastTimestamp,
		indexLen: len(w.pendingIndex)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > 0 {
		l.mu.stats.Batches++
		l.mu.stats.BytesWritten += int64(n)
	}
	if l.opts.Sync.Mode == SyncAlways {
		w.awaiting = append(w.awaiting, reqs...)
		w.awaitingState = state
		return nil
	}
	l.publishLocked(state)
	acked := 0
	for _, r := range reqs {
		if r.forceSync {
			w.awaiting = append(w.awaiting, r)
			continue
		}
		reqs[acked] = r
		acked++
	}
	l.countAckedLocked(reqs[:acked])
	ack(reqs[:acked], nil)
	if acked > 0 {
		w.lastBatchRequests = acked
	}
	if l.opts.Sync.Mode == SyncInterval && w.unsynced() && !w.inflight && !l.mu.inlineActive &&
		time.Since(w.unsyncedSince) >= l.opts.Sync.Interval {
		// (An inline leader leaves syncs to the parked writer, whose
		// interval timer is armed or which the leader wakes.)
		l.startSyncLocked()
	}
	return nil
}

// failBatch poisons the log with err and fails reqs and every request
// waiting for a sync not yet started.
func (l *Log) failBatch(reqs []*appendRequest, err error) error {
	err = l.poison(err)
	ack(reqs, err)
	l.failAwaiting(err)
	l.w.buf, l.w.pendingIndex = l.w.buf[:0], l.w.pendingIndex[:0]
	return err
}

// maybeStartSync starts a sync if requests wait for one and none runs.
func (l *Log) maybeStartSync() {
	if !l.w.inflight && len(l.w.awaiting) > 0 {
		l.startSync()
	}
}

// startSync starts an fdatasync of the active segment in a helper
// goroutine; finishSync handles its outcome (received on l.syncDone). The
// sync covers every byte written so far and every request in w.awaiting.
func (l *Log) startSync() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.startSyncLocked()
}

func (l *Log) startSyncLocked() {
	w := &l.w
	if !l.beginSyncLocked() {
		return
	}
	if w.inflightEnd == w.syncedBytes || w.file == nil {
		l.syncDone <- nil // nothing new to sync
		return
	}
	if !w.syncerRunning {
		w.syncerRunning = true
		l.writerWG.Add(1)
		go l.runSyncer()
	}
	l.syncReq <- w.file
}

// beginSyncLocked marks a sync of everything written so far as running,
// covering every request in w.awaiting, and reports true; on a poisoned log
// it fails those requests instead (a failed fsync is never retried) and
// reports false.
func (l *Log) beginSyncLocked() bool {
	w := &l.w
	if l.mu.writeErr != nil {
		l.failAwaiting(l.mu.writeErr)
		return false
	}
	w.inflight = true
	l.mu.syncRunning = true
	l.mu.writerSettled.Broadcast()
	w.inflightReqs = len(w.awaiting)
	w.inflightEnd = w.sizeBytes
	w.inflightState = w.awaitingState
	w.inflightStart = time.Now()
	return true
}

// runSyncer is the writer's helper goroutine: it syncs the files it is
// sent, reporting each outcome on l.syncDone, until it receives nil.
func (l *Log) runSyncer() {
	defer l.writerWG.Done()
	for f := range l.syncReq {
		if f == nil {
			return
		}
		l.syncDone <- f.SyncData()
	}
}

// stopSyncer ends the helper goroutine before the writer stops (so that
// a writer started next finds no syncer state to share). No sync may be
// running. A later writer may start a new syncer before the old one has
// received nil; syncers are interchangeable, and each nil stops one.
func (l *Log) stopSyncer() {
	if l.w.syncerRunning {
		l.w.syncerRunning = false
		l.syncReq <- nil
	}
}

// finishSync completes the running sync with its outcome: on success the
// covered batches are published (SyncAlways) and acknowledged; on failure
// the log is poisoned and they fail, as does everything written after.
func (l *Log) finishSync(err error) {
	w := &l.w
	reqs := w.awaiting[:w.inflightReqs]
	w.inflight = false
	l.mu.Lock()
	l.mu.syncRunning = false
	if err != nil {
		l.poisonLocked(fmt.Errorf("syncing %s: %w", w.seg.path, err))
		err = l.mu.writeErr
	} else {
		if w.inflightEnd > w.syncedBytes {
			l.mu.stats.Syncs++
			w.syncedBytes = w.inflightEnd
		}
		if w.unsynced() {
			w.unsyncedSince = w.inflightStart
		}
		if l.opts.Sync.Mode == SyncAlways && len(reqs) > 0 {
			l.publishLocked(w.inflightState)
		}
		l.countAckedLocked(reqs)
	}
	l.mu.Unlock()
	ack(reqs, err)
	if len(reqs) > 0 {
		w.lastBatchRequests = len(reqs)
	}
	clear(reqs)
	w.awaiting = append(w.awaiting[:0], w.awaiting[len(reqs):]...)
	w.inflightReqs = 0
	if err != nil {
		l.failAwaiting(err)
	}
}

// drain waits for the running sync, then syncs and acknowledges everything
// written. It returns the log's write error, if any.
func (l *Log) drain() error {
	w := &l.w
	if w.inflight {
		l.finishSync(<-l.syncDone)
	}
	if w.unsynced() || len(w.awaiting) > 0 {
		l.mu.Lock()
		w.awaitingState = published{sizeBytes: w.sizeBytes, nextSeq: w.nextSeq,
			lastTimestamp: w.lastTimestamp, indexLen: len(w.pendingIndex)}
		l.startSyncLocked()
		l.mu.Unlock()
		if w.inflight {
			l.finishSync(<-l.syncDone)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.writeErr
}

// publishLocked makes written (and, under SyncAlways, synced) records
// visible to readers and waiters, up to state.
func (l *Log) publishLocked(state published) {
	w := &l.w
	w.seg.sizeBytes = state.sizeBytes
	w.seg.index = append(w.seg.index, w.pendingIndex[:state.indexLen]...)
	w.pendingIndex = append(w.pendingIndex[:0], w.pendingIndex[state.indexLen:]...)
	w.awaitingState.indexLen = max(0, w.awaitingState.indexLen-state.indexLen)
	if l.mu.nextSeq != state.nextSeq {
		l.mu.nextSeq = state.nextSeq
		l.mu.lastTimestamp = state.lastTimestamp
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

// preallocate extends the active segment with zeros before a write that
// would end at end past the end of the file (SyncAlways, format version 2
// and later). The extension doubles the data size, capped at
// preallocMaxBytes per step and at SegmentSizeBytes.
func (l *Log) preallocate(end int64) error {
	w := &l.w
	if l.opts.Sync.Mode != SyncAlways || w.seg.version < 2 || end <= w.fileBytes ||
		end < min(preallocMinBytes, l.opts.SegmentSizeBytes/8) {
		return nil
	}
	target := end + min(end, preallocMaxBytes)
	target = (target + preallocAlign - 1) &^ (preallocAlign - 1)
	target = min(target, l.opts.SegmentSizeBytes)
	for off := max(w.fileBytes, end); off < target; {
		n := min(int64(len(zeroChunk)), target-off)
		if _, err := w.file.WriteAt(zeroChunk[:n], off); err != nil {
			return fmt.Errorf("preallocating %s at %d: %w", w.seg.path, off, err)
		}
		off += n
		w.fileBytes = off
		l.mu.Lock()
		l.mu.stats.PreallocatedBytes += n
		l.mu.Unlock()
	}
	return nil
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
// (poisoned) it only closes: a failed fsync is never retried. No sync may
// be running. Callers hold Log.mu or own the writer state exclusively.
func (w *writer) release(poisoned bool) error {
	if w.file == nil {
		return nil
	}
	err := w.unmap()
	if w.unsynced() && !poisoned && err == nil {
		err = w.file.SyncData()
		if err != nil {
			err = fmt.Errorf("syncing %s: %w", w.seg.path, err)
		} else {
			w.syncedBytes = w.sizeBytes
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

// roll seals the active segment (syncing it and acknowledging what waited
// for that sync) and starts a new one.
func (l *Log) roll() error {
	if err := l.drain(); err != nil {
		return err
	}
	w := &l.w
	if err := errors.Join(w.unmap(), w.file.Close()); err != nil {
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
	w.sizeBytes, w.syncedBytes, w.fileBytes = segmentHeaderSize, segmentHeaderSize, segmentHeaderSize
	w.lastIndexOffset = segmentHeaderSize
	l.mu.Lock()
	defer l.mu.Unlock()
	old.sealed = true
	l.mu.segments = append(l.mu.segments, seg)
	l.mu.stats.Rolls++
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
		version:       formatVersion,
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
